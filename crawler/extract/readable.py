"""readability-lxml, fed our already parsed and pruned tree.

``Document`` re-parses its input, runs lxml's Cleaner and serialises every child of every div to
look for block tags. We hand it a tree instead, skip the Cleaner (the prune pass and the sanitiser
do that job) and answer the block-tag question from the tree. The scoring is readability's own.
"""

from __future__ import annotations

import copy
import logging

from lxml import etree
from lxml.etree import tounicode
from lxml.html import HtmlElement, fragment_fromstring
from readability import Document
from readability.readability import REGEXES

logging.getLogger("readability.readability").setLevel(logging.CRITICAL)

# readability's divToPElementsRe matches these as tag-name prefixes in the serialised children.
SIBLING_SHARE = 0.2
"""A sibling shaped like the chosen block gets this share of its score (readability's own sibling
threshold is the same share, so such a sibling is always joined)."""
SIBLING_MIN_SCORE = 10.0
SIBLING_MIN_CHARS = 25
SIBLING_MAX_LINKS = 0.3

_BLOCK_PREFIXES = ("blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul")
_TEXT_LENGTH = etree.XPath("string-length(normalize-space(.))")
_UNLIKELY_SPARED = etree.XPath(
    "boolean(ancestor-or-self::pre | ancestor-or-self::code | ancestor::table"
    " | descendant-or-self::main | descendant-or-self::article | descendant-or-self::math)"
)
_NAMED = etree.XPath(".//*[@class or @id]")
_INLINE = frozenset({"a", "b", "cite", "code", "em", "font", "i", "small", "span", "strong", "sub", "sup", "u"})


def _has_block(elem: HtmlElement, include_self: bool = False) -> bool:
    nodes = elem.iter() if include_self else elem.iterdescendants()
    for node in nodes:
        tag = node.tag
        if isinstance(tag, str) and tag.startswith(_BLOCK_PREFIXES):
            return True
    return False


class TreeDocument(Document):
    """A readability Document over a tree we parsed; ``result`` holds the chosen content tree."""

    def __init__(self, tree: HtmlElement, url: str | None = None) -> None:
        super().__init__(tree, url=None)
        self.result: HtmlElement | None = None

    def _parse(self, input: HtmlElement) -> HtmlElement:
        return copy.deepcopy(input)

    def transform_misused_divs_into_paragraphs(self) -> None:
        for elem in self.tags(self.html, "div"):
            if not any(_has_block(child, include_self=True) for child in elem):
                elem.tag = "p"
        for elem in self.tags(self.html, "div"):
            children = list(elem)
            paragraph = None
            if elem.text and elem.text.strip():
                p = fragment_fromstring("<p/>")
                p.text = elem.text
                elem.text = None
                elem.insert(0, p)
                paragraph = p
            for child in children:
                if child.tag == "br":
                    paragraph = None
                    continue
                if child.tag not in _INLINE or _has_block(child):
                    paragraph = None
                    continue
                if paragraph is None:
                    paragraph = fragment_fromstring("<p/>")
                    child.addprevious(paragraph)
                paragraph.append(child)
            for pos, child in reversed(list(enumerate(elem))):
                if child.tail and child.tail.strip():
                    p = fragment_fromstring("<p/>")
                    p.text = child.tail
                    child.tail = None
                    elem.insert(pos + 1, p)
                if child.tag == "br":
                    child.drop_tree()

    def remove_unlikely_candidates(self) -> None:
        """readability's rule, with Readability.js's two exceptions: never a link, never inside a
        table. A glossary ``<a class="popup">`` is a phrase of its sentence, and old pages lay out
        the whole story in table cells whose names say nothing about content."""
        unlikely, maybe = REGEXES["unlikelyCandidatesRe"], REGEXES["okMaybeItsACandidateRe"]
        for elem in _NAMED(self.html):
            names = f"{elem.get('class', '')} {elem.get('id', '')}"
            if len(names) < 2 or elem.tag in ("html", "body", "a") or not unlikely.search(names):
                continue
            if maybe.search(names) or _UNLIKELY_SPARED(elem):
                continue
            elem.drop_tree()

    def get_preserved_elements(self, node: HtmlElement) -> dict:
        """readability's own (tables of contents, quote leads), plus structure that says content:
        its conditional cleaning takes a data table of linked names or a block of linked code for
        a link farm. Data tables as Readability.js tells them apart from layout tables."""
        allowed = super().get_preserved_elements(node)
        for table in node.iter("table"):
            if _is_data_table(table):
                allowed[table] = True
                allowed.update(dict.fromkeys(table.iterdescendants("table", "ul", "div", "section"), True))
        for code in node.iter("pre", "math"):
            allowed.update(dict.fromkeys(code.iterancestors("div", "section"), True))
        return allowed

    def select_best_candidate(self, candidates: dict) -> dict | None:
        """readability's choice, then two steps of Readability.js's for documents made of repeated
        blocks (how-to steps, a long page's sections): an only child stands for its parent, and
        siblings shaped like the choice (same tag and class, some text, few links) get a fifth of
        its score, so that readability's sibling pass joins them to the article."""
        best = super().select_best_candidate(candidates)
        if best is None:
            return None
        elem = best["elem"]
        while (parent := elem.getparent()) is not None and parent.tag not in ("body", "html") and len(parent) == 1:
            elem = parent
        names = elem.get("class")
        if not names:
            return best
        bonus = max(SIBLING_MIN_SCORE, best["content_score"] * SIBLING_SHARE)
        for sibling in (*elem.itersiblings(preceding=True), *elem.itersiblings()):
            if sibling.tag != elem.tag or sibling.get("class") != names:
                continue
            if _TEXT_LENGTH(sibling) < SIBLING_MIN_CHARS or self.get_link_density(sibling) > SIBLING_MAX_LINKS:
                continue
            known = candidates.get(sibling)
            score = (known["content_score"] if known else 0.0) + bonus
            candidates[sibling] = {"content_score": score, "elem": sibling}
        if elem is not best["elem"]:
            candidates[elem] = {"content_score": best["content_score"], "elem": elem}
            return candidates[elem]
        return best

    def get_link_density(self, elem: HtmlElement) -> float:
        # readability's formula, with lengths measured inside libxml2 instead of by regexes.
        links = sum(_TEXT_LENGTH(a) for a in elem.iterdescendants("a"))
        return float(links) / max(_TEXT_LENGTH(elem), 1)

    def get_clean_html(self) -> str:
        self.result = self.html
        return tounicode(self.html, method="html")


def _is_data_table(table: HtmlElement) -> bool:
    """Readability.js's test, in short: headers or a caption say data; a table inside it says
    layout; otherwise enough rows and columns do."""
    if (table.get("role") or "").lower() == "presentation" or next(table.iterdescendants("table"), None) is not None:
        return False
    if table.get("summary") or next(table.iter("caption", "th", "thead", "tfoot", "colgroup"), None) is not None:
        return True
    rows = table.findall(".//tr")
    columns = max((len(row.findall("td")) for row in rows), default=0)
    return len(rows) >= 10 or columns > 4 or len(rows) * columns > 10


def readable_content(tree: HtmlElement) -> HtmlElement | None:
    """The element readability picks as the article (a div wrapping the chosen blocks)."""
    doc = TreeDocument(tree)
    doc.summary(html_partial=True)
    return doc.result


def _text_length(elem: HtmlElement) -> int:
    return len(" ".join("".join(elem.itertext()).split()))


def _link_length(elem: HtmlElement) -> int:
    return sum(len(" ".join("".join(a.itertext()).split())) for a in elem.iter("a"))


_MARKED_ARTICLE = (
    ("//*[contains(@itemprop, 'articleBody')]", 1.5),
    ("//article", 1.5),
    ("//main | //*[@role='main']", 2.0),
)
"""Containers that say "the article", most specific first, and how much more text than
readability's choice each must hold to be trusted instead: an article body or ``<article>`` is
the story itself, so a third more is a lost section; ``<main>`` also holds appeals and staff
lists, so it must hold twice as much."""


def semantic_fallback(tree: HtmlElement, chosen_length: int) -> HtmlElement | None:
    """The page's own article container when readability kept far less than it holds.

    Readability scores only paragraph-like blocks, so a story told in lists and tables loses to
    a caption with a <p> in it. When the page marks its article (``<article>``, ``articleBody``,
    ``<main>``) and that container has much more text at a low link density, trust the markup.
    """
    best, best_length, trusted_at = None, 0, 2.0
    for xpath, factor in _MARKED_ARTICLE:
        for elem in tree.xpath(xpath):
            length = _text_length(elem)
            if length > best_length and _link_length(elem) < 0.3 * length:
                best, best_length, trusted_at = elem, length, factor
        if best is not None:
            break
    if best is None or best_length < trusted_at * chosen_length or best_length - chosen_length < 500:
        return None
    wrapper = fragment_fromstring("<div/>")
    wrapper.append(copy.deepcopy(best))
    return wrapper
