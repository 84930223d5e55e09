"""The pass after readability: paragraph-level clutter inside the chosen content.

Readability picks the right container but keeps what sits between paragraphs: ad labels, "Read
more:" link lines, embed placeholders, tip-line appeals, wire-service credits. Each is judged as a
whole block (its full text), never by cutting words out of a paragraph.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.patterns import (
    AD_LABEL,
    APPEAL,
    COMMENT_NOTICE,
    CONTACT_LINE,
    CONTENT_STRUCTURE,
    HEADING_OF_LINKS,
    LINK_LEAD,
    META_LINE,
    PHOTO_CREDIT,
    PROMO_ANYWHERE,
    RIGHTS_NOTICE,
    UI_LABEL,
    WIRE_CREDIT,
    is_date_line,
)
from crawler.extract.removals import Removals, is_marker
from crawler.extract.shapes import find_shapes

_BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "figcaption", "section", "dd", "dt", "pre")
_SPACE = re.compile(r"\s+")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CREDIT_TAIL = 80
_BARE_ADDRESS = re.compile(r"^(?:https?://|www\.)\S+$|^[\w.+-]+@[\w-]+\.[\w.-]+$", re.I)
_CELL_CHARS = 300
_TEXT_LENGTH = etree.XPath("string-length(normalize-space(.))")
_STRUCTURE_BLOCKS = frozenset({"pre", "dd", "dt"})
_BLOCK_CHILDREN = frozenset(
    {"p", "div", "section", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "figure", "blockquote", "table", "pre"}
)


def _text(elem: HtmlElement) -> str:
    return _SPACE.sub(" ", "".join(elem.itertext())).strip()


def _link_share(elem: HtmlElement, text: str) -> float:
    if not text:
        return 0.0
    linked = sum(len(_SPACE.sub(" ", "".join(a.itertext())).strip()) for a in elem.iter("a"))
    return linked / len(text)


def _opens_paragraph(text: str, end: int) -> bool:
    """"© Agency" opening a paragraph (an inline photo credit), not a copyright line: a long text
    goes on after the sign's few words, with no rights notice."""
    return text.lstrip()[:1] == "©" and len(text) - end >= _CREDIT_TAIL and not RIGHTS_NOTICE.search(text)


def _list_rule(elem: HtmlElement, text: str) -> str | None:
    """A tag or category strip ("Tags: a, b, c"), as one line or as a heading and its list."""
    if len(text) < 300:
        meta = META_LINE.match(text)
        if meta and (_link_share(elem, text) > 0.5 or (meta.group("colon") and _link_share(elem, text) > 0.2)):
            return "meta-line"
    return None


def _clutter_rule(elem: HtmlElement, text: str) -> str | None:
    """The name of the rule that finds ``elem`` to be clutter, or None."""
    if len(text) < 90 and AD_LABEL.match(text):
        return "ad-label"
    if len(text) < 90 and UI_LABEL.match(text):
        return "ui-label"
    if elem.tag != "li":
        share = _link_share(elem, text)
        if len(text) < 150 and share > 0.9 and not _BARE_ADDRESS.match(text):
            # A link whose text is its own address is a cited source, not a teaser.
            return "link-only"
        if len(text) < 600 and share > 0.7 and sum(1 for _ in elem.iter("a")) >= 3:
            return "link-cluster"
    if len(text) < 300 and LINK_LEAD.match(text) and (
        _link_share(elem, text) > 0.3 or len(text) < 120
    ):
        return "link-lead"
    if next((child for child in elem if child.tag in _BLOCK_CHILDREN), None) is not None:
        # The rules below read one line of text; a container's text runs several blocks together
        # (a credit line, then the story's first paragraph), so its blocks are judged one by one.
        return _list_rule(elem, text)
    if len(text) < 200 and APPEAL.match(text):
        return "appeal"
    if len(text) < 300 and (credit := WIRE_CREDIT.match(text)) and not _opens_paragraph(text, credit.end()):
        return "wire-credit"
    if len(text) < 300 and CONTACT_LINE.match(text):
        return "contact-line"
    if (
        len(text) < 120
        and elem.tag not in _HEADINGS
        and text[-1] not in ".!?\"”»"
        and PHOTO_CREDIT.search(text)
    ):
        return "photo-credit"
    if (rule := _list_rule(elem, text)) is not None:
        return rule
    if len(text) < 250 and PROMO_ANYWHERE.search(text) and next(elem.iter("a"), None) is not None:
        return "promo"
    if len(text) < 200 and COMMENT_NOTICE.search(text):
        return "comment-notice"
    if elem.tag in ("p", "div", "section") and is_date_line(text):
        return "date-line"
    # A "Related stories" heading whose list is already gone (or was never in the content).
    if len(text) < 60 and elem.tag in _HEADINGS and HEADING_OF_LINKS.match(text):
        return "heading-of-links"
    return None


def _in_data_cells(content: HtmlElement) -> set[HtmlElement]:
    """Blocks inside short table cells: a data table's entries (an app name, a linked source)
    are content, whatever their links. A layout table's cell holding a whole story is not short."""
    found: set[HtmlElement] = set()
    for cell in content.iter("td", "th"):
        if len(cell) and _TEXT_LENGTH(cell) < _CELL_CHARS:
            found.update(cell.iterdescendants())
    return found


def clean_content(content: HtmlElement, title: str | None, removals: Removals | None = None) -> None:
    """Remove clutter blocks in place, then the headline if readability kept it."""
    doomed: list[tuple[HtmlElement, str]] = []
    in_cells = _in_data_cells(content)
    holders = {up for found in content.iter(*CONTENT_STRUCTURE[:5]) for up in found.iterancestors()}
    for elem in content.iter(*_BLOCKS):
        if doomed and doomed[-1][0] in elem.iterancestors():
            continue
        if elem in in_cells:
            continue
        raw = elem.text_content()
        if len(raw) > 600:
            continue
        text = _SPACE.sub(" ", raw).strip()
        if not text:
            continue
        if elem.tag in _STRUCTURE_BLOCKS or elem in holders:
            continue  # code, tables, math, definitions: content whatever their links (patterns.py)
        rule = _clutter_rule(elem, text)
        if rule is not None:
            doomed.append((elem, rule))
    doomed.extend(
        (elem, rule) for elem, rule in find_shapes(content)
        if not any(elem is gone or gone in elem.iterancestors() for gone, _ in doomed)
    )
    if title:
        wanted = _SPACE.sub(" ", title).strip().lower()
        for heading in content.iter("h1", "h2"):
            if _text(heading).lower() == wanted:
                doomed.append((heading, "headline"))
    for elem, rule in doomed:
        if elem.getparent() is None:
            continue
        if removals is not None and rule != "headline":
            removals.cleanup(elem, rule)
        else:
            elem.drop_tree()
    _drop_empty(content)


_EMPTY_OK = frozenset({"img", "br", "hr", "picture", "source", "td", "th"})


def _drop_empty(content: HtmlElement) -> None:
    for elem in reversed(list(content.iterdescendants())):
        if not isinstance(elem.tag, str) or elem.tag in _EMPTY_OK:
            continue
        if (elem.text or "").strip() or elem.getparent() is None:
            continue
        if len(elem) == 0:
            elem.drop_tree()
        elif all(is_marker(child) and not (child.tail or "").strip() for child in elem):
            # Empty but for removal markers: the markers stay where the element stood.
            for child in list(elem):
                elem.addprevious(child)
            elem.drop_tree()
