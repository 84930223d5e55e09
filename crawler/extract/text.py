"""Plain text from the clean content: one block per paragraph, heading, list item or quote."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

BLOCK_TAGS = frozenset(
    """
    address article aside blockquote body dd details dialog div dl dt fieldset figcaption figure
    footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li main nav ol p pre section summary
    table tbody thead tfoot tr td th caption ul center
    """.split()
)
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def _flush(parts: list[str], blocks: list[str]) -> None:
    if parts:
        text = _SPACES.sub(" ", "".join(parts))
        text = _NEWLINES.sub("\n", text).strip()
        if text:
            blocks.append(text)
        parts.clear()


def to_blocks(content: HtmlElement) -> list[str]:
    """Text blocks in document order; ``<br>`` becomes a line break inside its block."""
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
