"""The pass before readability: remove what is never article text, in one walk of the tree.

Readability scores blocks by text and commas, so a long donation appeal or a comment thread can
outscore a short story; removing page furniture first both fixes that and leaves readability a
smaller tree to score, which is most of the speed gain.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.patterns import (
    AD_LABEL,
    CONTENT_STRUCTURE,
    FURNITURE_ROLES,
    HEADING_OF_LINKS,
    METADATA_ITEMPROPS,
    NEVER_ARTICLE_TAGS,
    is_furniture_name,
)
from crawler.extract.removals import Removals
from crawler.extract.shapes import find_cards

LISTING_SHARE = 0.4
"""Cards holding more of the page's text than this make it a listing: they are left alone."""
_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.I)
_KEEP = frozenset({"html", "body", "main", "article"})
_LANDMARKS = ("footer", "aside")
_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_INLINE = frozenset({"a", "abbr", "b", "cite", "em", "i", "mark", "q", "small", "span", "strong", "sub", "sup", "u"})
_LABEL_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6", "div", "span", "p", "strong", "b", "header"})
_PROSE_OR_MEDIA = frozenset({"a", "img", "h1", "h2", "h3", "p", "figure", "picture", "video", "time"})
_EMBED_NAMES = re.compile(r"tweet|twitter|instagram|tiktok|bluesky|mastodon|threads-post", re.I)


_TEXT_LENGTH = etree.XPath("string-length(normalize-space(.))")


def _text_len(elem: HtmlElement) -> int:
    """Characters of text, whitespace collapsed (computed inside libxml2: this runs a lot)."""
    return int(_TEXT_LENGTH(elem))


def _link_chars(elem: HtmlElement) -> int:
    return sum(int(_TEXT_LENGTH(a)) for a in elem.iter("a"))


def _holds_article(elem: HtmlElement) -> bool:
    if next(elem.iterdescendants("article", "main", "h1"), None) is not None:
        return True
    return bool(elem.xpath("descendant-or-self::*[contains(@itemprop, 'articleBody')]"))


Doomed = list[tuple[HtmlElement, str]]
"""Blocks judged furniture, each with the name of the rule that judged it."""


def remove_furniture(root: HtmlElement, removals: Removals | None = None) -> None:
    """Remove furniture in place; never removes a block that holds most of the page's words."""
    body = root.find("body")
    if body is None:
        body = root
    _unwrap_noscript_images(body)
    for elem in list(body.iter(*NEVER_ARTICLE_TAGS)):
        if elem.tag in ("nav",) and _text_len(elem) > 2400:
            continue
        _drop(elem)
    total = max(_text_len(body), 1)
    limit = max(total * 0.3, 1200)

    doomed: Doomed = []
    stack = list(body)[::-1]
    while stack:
        elem = stack.pop()
        tag = elem.tag
        if not isinstance(tag, str):
            continue
        if tag in _KEEP or not _judge(elem, tag, limit, doomed):
            stack.extend(list(elem)[::-1])
    _add_cards(body, total, doomed)
    if removals is not None:
        gone = {id(elem) for elem, _ in doomed}
        for elem, rule in doomed:
            if not any(id(up) in gone for up in elem.iterancestors()):
                removals.prune(elem, rule)
    for elem, _ in reversed(doomed):
        if elem.getparent() is not None:
            _drop(elem)


def _add_cards(body: HtmlElement, total: int, doomed: Doomed) -> None:
    """Cards (a linked headline and a teaser) not already inside furniture (``shapes``)."""
    gone = {elem for elem, _ in doomed}
    cards: list[HtmlElement] = []
    for card in dict.fromkeys(find_cards(body)):
        if card in gone or any(up in gone for up in card.iterancestors()) or _holds_article(card):
            continue
        cards.append(card)
        gone.add(card)
    if sum(_text_len(card) for card in cards) > LISTING_SHARE * total:
        return  # a page made of cards is a listing, not a story with teasers set in it
    doomed.extend((card, "card") for card in cards)


def _unwrap_noscript_images(body: HtmlElement) -> None:
    """Lazy loaders often keep the real <img> in a <noscript> beside a placeholder: use it."""
    for noscript in list(body.iter("noscript")):
        images = noscript.findall(".//img")
        if len(images) != 1 or not images[0].get("src"):
            continue
        real = images[0]
        previous = noscript.getprevious()
        placeholder = None
        if previous is not None:
            if previous.tag == "img":
                placeholder = previous
            elif len(previous.findall(".//img")) == 1 and _text_len(previous) < 30:
                placeholder = previous.find(".//img")
        if placeholder is not None:
            placeholder.set("src", real.get("src"))
            if real.get("alt") and not placeholder.get("alt"):
                placeholder.set("alt", real.get("alt"))
        else:
            real.tail = noscript.tail
            noscript.addprevious(real)
        noscript.tail = None
        noscript.getparent().remove(noscript)


def _judge(elem: HtmlElement, tag: str, limit: float, doomed: Doomed) -> bool:
    """Whether ``elem`` is furniture (then it joins ``doomed`` and its subtree is skipped)."""
    attrib = elem.attrib
    if "hidden" in attrib or ("style" in attrib and _HIDDEN_STYLE.search(attrib["style"])):
        # Readability drops these too; a hidden copy of the article (microdata) must not count.
        doomed.append((elem, "hidden"))
        return True
    if (
        attrib.get("aria-hidden") == "true"
        or (attrib.get("role") or "").lower() in FURNITURE_ROLES
        or tag in _LANDMARKS
        or (tag == "form" and _text_len(elem) < 700)
    ):
        if _holds_article(elem):
            return False
        doomed.append((elem, "landmark"))
        return True
    itemprop = attrib.get("itemprop")
    if itemprop and tag not in _PROSE_OR_MEDIA and _is_metadata(elem, itemprop):
        doomed.append((elem, "metadata"))
        return True
    names = f"{attrib.get('class', '')} {attrib.get('id', '')}"
    if tag == "blockquote" and _EMBED_NAMES.search(names):
        # An embedded post quoted by the story is story text: keep readability off it.
        attrib.pop("class", None)
        attrib.pop("id", None)
        return False
    if len(names) > 1 and (is_furniture_name(names) or "embed" in names.lower()):
        if _holds_embed(elem):
            # Readability would penalise the wrapper's name ("social-media-embed") too.
            attrib.pop("class", None)
            attrib.pop("id", None)
            return False
        if (
            is_furniture_name(names)
            and _text_len(elem) < limit
            and not _holds_article(elem)
            and not _says_content(elem, tag)
        ):
            doomed.append((elem, "furniture-name"))
            return True
        return False
    if tag in _LABEL_TAGS and _is_label(elem) and HEADING_OF_LINKS.match(elem.text_content()):
        _drop_heading_of_links(elem, doomed)
        return False
    if len(elem) == 0 and elem.text and len(elem.text) < 80 and AD_LABEL.match(elem.text):
        if _stands_alone(elem):
            doomed.append((elem, "ad-label"))
            return True
    return False


def _says_content(elem: HtmlElement, tag: str) -> bool:
    """Structure that outweighs a furniture class name: code, math, tables, captions (see
    ``CONTENT_STRUCTURE``), a section heading or the words inside one (an id is often made of the
    heading's own words: "Promotion controversy"), or a phrase inside running text (a glossary
    ``<a class="popup">``)."""
    if tag in CONTENT_STRUCTURE or tag in _HEADINGS:
        return True
    if tag in _INLINE:
        parent = elem.getparent()
        if not _stands_alone(elem) or (parent is not None and parent.tag in _HEADINGS):
            return True
    return next(elem.iter("pre", "math"), None) is not None


def _holds_embed(elem: HtmlElement) -> bool:
    """A wrapper ("social-embed") around a post the story quotes: the post is story text."""
    return any(
        _EMBED_NAMES.search(f"{q.get('class', '')} {q.get('id', '')}")
        for q in elem.iterdescendants("blockquote")
    )


def _stands_alone(elem: HtmlElement) -> bool:
    """True unless the element sits inside running text ("in 200 <abbr>AD</abbr>, ...")."""
    if (elem.tail or "").strip():
        return False
    previous = elem.getprevious()
    if previous is not None:
        return not (previous.tail or "").strip()
    parent = elem.getparent()
    return parent is None or not (parent.text or "").strip()


def _is_metadata(elem: HtmlElement, itemprop: str) -> bool:
    if not any(p in METADATA_ITEMPROPS for p in itemprop.lower().split()):
        return False
    text = elem.text_content()
    return len(text) < 300 and next(elem.iter("p", "h1", "h2"), None) is None


def _is_label(elem: HtmlElement) -> bool:
    """A short heading-like element: little text, no block children."""
    if len(elem) > 2 or (elem.tag not in _HEADINGS and not (elem.text or "").strip() and len(elem) != 1):
        return False
    text = elem.text_content()
    return 0 < len(text) < 60


def _drop_heading_of_links(heading: HtmlElement, doomed: Doomed) -> None:
    following = heading.getnext()
    if following is None and heading.tag in ("span", "strong", "b"):
        heading = heading.getparent()
        following = heading.getnext() if heading is not None else None
    if heading is None or heading.tag in _KEEP:
        return
    if following is not None and following.tag in ("ul", "ol", "div", "section"):
        chars = _text_len(following)
        if chars and _link_chars(following) / chars > 0.5:
            doomed.append((heading, "heading-of-links"))
            doomed.append((following, "heading-of-links"))
            return
    parent = heading.getparent()
    if parent is not None and parent.tag not in _KEEP and not _holds_article(parent):
        chars = _text_len(parent) - _text_len(heading)
        if chars > 0 and _link_chars(parent) / chars > 0.6 and chars < 2400:
            doomed.append((parent, "heading-of-links"))


def _drop(elem: HtmlElement) -> None:
    """Remove an element, keeping the text that follows it (its tail) in place."""
    parent = elem.getparent()
    if parent is None:
        return
    elem.drop_tree()
