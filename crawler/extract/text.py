"""Plain text from the clean content: one block per paragraph, heading, list item or quote."""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.patterns import name_words
from crawler.extract.removals import Removals, marker_index

BLOCK_TAGS = frozenset(
    """
    address article aside blockquote body dd details dialog div dl dt fieldset figcaption figure
    footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li main nav ol p pre section summary
    table tbody thead tfoot tr caption ul center
    """.split()
)
_CAPTION_WORDS = frozenset({"caption", "captions", "credit", "credits", "photocredit", "imagecredit"})
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def _flush(parts: list[str], blocks: list[str]) -> None:
    if parts:
        text = _SPACES.sub(" ", "".join(parts))
        text = _NEWLINES.sub("\n", text).strip()
        if text:
            blocks.append(text)
        parts.clear()


def is_caption(elem: HtmlElement) -> bool:
    """Figures, their captions and photo credits: kept in the HTML, not in the text."""
    if elem.tag in ("figcaption", "figure"):
        return True
    names = elem.get("class")
    return bool(names) and any(word in _CAPTION_WORDS for word in name_words(names))


def to_blocks(content: HtmlElement, removals: Removals | None = None) -> list[str]:
    """Text blocks in document order; ``<br>`` becomes a line break inside its block.

    Captions are left out: the text is the story's prose, the HTML keeps the figures. With
    ``removals``, each removal marker met is given the index of the block it stood before.
    """
    blocks: list[str] = []
    parts: list[str] = []

    def walk(elem: HtmlElement) -> None:
        tag = elem.tag if isinstance(elem.tag, str) else ""
        block = tag in BLOCK_TAGS
        if block:
            _flush(parts, blocks)
        if tag == "br":
            parts.append("\n")
        elif tag in ("pre", "code") and elem.text:
            parts.append(elem.text)
        elif elem.text:
            parts.append(elem.text.replace("\n", " "))
        for child in elem:
            if removals is not None and (index := marker_index(child)) is not None:
                pending = any(part.strip() for part in parts)
                removals.place(index, len(blocks) + (1 if pending else 0))
            elif isinstance(child.tag, str) and is_caption(child):
                _flush(parts, blocks)
                if removals is not None:
                    for node in child.iter(etree.Comment):
                        if (index := marker_index(node)) is not None:
                            removals.place(index, len(blocks))
            else:
                walk(child)
            if child.tail:
                parts.append(child.tail.replace("\n", " "))
        if block:
            _flush(parts, blocks)
        elif tag in ("td", "th"):
            parts.append(" ")

    walk(content)
    _flush(parts, blocks)
    return blocks


def to_text(content: HtmlElement) -> str:
    return "\n\n".join(to_blocks(content))
