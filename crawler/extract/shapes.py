"""Clutter told by its shape inside the chosen article, whatever its class names say.

Class names are a site's vocabulary and change with every redesign; shapes are how a reader tells
a teaser from the story. Three shapes, each recognised from structure and a few words:

- a **card**: a linked headline and a short teaser (often an image, a price or a score) set
  inside the story to send the reader elsewhere;
- a **tag strip**: a list whose every item is a short link (topics, tags, "reuse this content"),
  standing after the story's last paragraph;
- **player chrome**: a media player's menus left in the page as text: many tiny labels, repeated
  or made of settings vocabulary ("75%", "A A A", "Closed Caption Settings").

Structure that says content (``patterns.CONTENT_STRUCTURE``: code, tables, math, ordered and
definition lists) is never judged here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.patterns import CONTENT_STRUCTURE, PLAYER_WORDS

CARD_MAX_CHARS = 400
"""A card's whole text: a headline and a teaser of two or three lines."""
CARD_HEADLINE_CHARS = 140
STRIP_MIN_ITEMS = 3
STRIP_ITEM_WORDS = 4
"""A tag strip's items are a few words each; a list of linked sources or steps is longer."""
CHROME_MIN_LABELS = 8
CHROME_MIN_CHILDREN = 4
"""A menu is a container of items: fewer children than this is not looked at (this runs a lot)."""
CHROME_MEAN_CHARS = 14
CHROME_MAX_CHARS = 800

_TEXT_LENGTH = etree.XPath("string-length(normalize-space(.))")
_HEADLINES = ("h2", "h3", "h4", "h5", "h6")
_CHROME_TAGS = frozenset({"div", "ul", "section", "span", "fieldset", "menu"})
_CARD_TAGS = ("div", "section", "aside", "article", "figure", "li", "a")
_LABEL = re.compile(r"^(?:\d{1,3}\s*%|[A-Za-z]|\d+(?:\.\d+)?x)(?:\s*\(.*\))?$")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+")


def _length(elem: HtmlElement) -> int:
    return int(_TEXT_LENGTH(elem))


def _holds_structure(elem: HtmlElement) -> bool:
    return elem.tag in CONTENT_STRUCTURE or next(elem.iterdescendants(*CONTENT_STRUCTURE), None) is not None


def find_shapes(content: HtmlElement) -> Iterator[tuple[HtmlElement, str]]:
    """Blocks of ``content`` that are tag strips or player chrome, with the rule's name (cards go
    before readability: ``find_cards``).

    A block found is not looked into again (its children go with it)."""
    taken: set[HtmlElement] = set()
    order = {elem: index for index, elem in enumerate(content.iter())}
    last_prose = _last_prose(content)
    for elem in content.iterdescendants():
        tag = elem.tag
        if not isinstance(tag, str) or (taken and any(up in taken for up in elem.iterancestors())):
            continue
        rule = None
        if tag == "ul" and last_prose is not None and order[elem] > order[last_prose] and _is_tag_strip(elem):
            # After the story's last paragraph: a list of short links inside the story may be
            # its subject (the sites a report names); after it, it is the page's tag strip.
            rule = "tag-strip"
        elif tag in _CHROME_TAGS and len(elem) >= CHROME_MIN_CHILDREN and _is_player_chrome(elem):
            rule = "player-chrome"
        if rule is not None:
            taken.add(elem)
            yield elem, rule


def find_cards(root: HtmlElement) -> list[HtmlElement]:
    """Cards anywhere in the page: found from their linked headlines, which are few, so this costs
    little before readability, which must not see them (it drops a linked headline as a link
    farm and keeps the teaser as if it were a paragraph of the story)."""
    cards: list[HtmlElement] = []
    for headline in root.iter(*_HEADLINES):
        chars = _length(headline)
        if not 0 < chars <= CARD_HEADLINE_CHARS or not _is_linked(headline, chars):
            continue
        for depth, container in enumerate(headline.iterancestors()):
            if depth >= 3 or container.tag in ("body", "html", "main", "article"):
                break
            if container.tag not in _CARD_TAGS:
                continue
            length = _length(container)
            if length > CARD_MAX_CHARS or _holds_structure(container):
                break
            if length - chars >= 20:
                cards.append(container)
                break
    return cards


def _is_linked(headline: HtmlElement, chars: int) -> bool:
    """A headline that is a link: to another page, not a section anchor of this one."""
    if any(up.tag == "a" and not (up.get("href") or "#").startswith("#") for up in headline.iterancestors()):
        return True
    linked = sum(_length(a) for a in headline.iter("a") if not (a.get("href") or "#").startswith("#"))
    return linked >= 0.8 * chars


def _last_prose(content: HtmlElement) -> HtmlElement | None:
    last = None
    for p in content.iter("p"):
        if _length(p) >= 80:
            last = p
    return last


def _is_tag_strip(elem: HtmlElement) -> bool:
    """Every item a short link (a list of linked sources or further reading runs longer)."""
    items = elem.findall("li")
    if len(items) < STRIP_MIN_ITEMS:
        return False
    for item in items:
        text = _SPACE.sub(" ", item.text_content()).strip()
        if not text or len(text.split()) > STRIP_ITEM_WORDS:
            return False
        if sum(_length(a) for a in item.iter("a")) < 0.9 * len(text):
            return False
    return True


def _settings_words(label: str) -> bool:
    words = _WORD.findall(label.lower())
    return bool(words) and all(word in PLAYER_WORDS for word in words)


def _is_player_chrome(elem: HtmlElement) -> bool:
    """Many tiny labels, repeated or from a player's settings vocabulary, and no sentence."""
    if _length(elem) > CHROME_MAX_CHARS or _holds_structure(elem):
        return False
    labels = [_SPACE.sub(" ", t).strip() for t in elem.itertext()]
    labels = [t for t in labels if t]
    if len(labels) < CHROME_MIN_LABELS:
        return False
    if sum(len(t) for t in labels) / len(labels) > CHROME_MEAN_CHARS:
        return False
    if any(len(t.split()) >= 6 for t in labels):
        return False
    repeated = len(labels) - len(set(labels))
    settings = sum(1 for t in labels if _LABEL.match(t) or _settings_words(t))
    return repeated >= 0.3 * len(labels) or settings >= 0.5 * len(labels)
