"""Every block our passes take out of a page, with the rule that took it and where it stood.

No reader view says what it removed; we do, so that a rule that misfires on real pages can be
found (by the bench's ``--explain``, by readers through the API) instead of silently costing
recall. Recording is cheap: only blocks a rule judged are listed (not scripts or navigation, which
are never article text), with their text cut short.

A block removed inside the chosen article is replaced by a marker comment until the text is laid
out, so its position can be given as the index of the text block it stood before; the markers are
taken out again before the HTML is sanitised.
"""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.article import Removed

TEXT_LIMIT = 160
"""Characters of a removed block's text that are kept (enough to recognise it)."""
MARKER = "declutter-removed:"


def _text(elem: HtmlElement) -> str:
    text = " ".join(elem.text_content().split())
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def is_marker(node: object) -> bool:
    """Whether a node is the marker of a removed block."""
    return isinstance(node, etree._Comment) and (node.text or "").startswith(MARKER)


def marker_index(node: object) -> int | None:
    """The removal a marker stands for, or None for any other node."""
    if not is_marker(node):
        return None
    return int(node.text[len(MARKER):])  # type: ignore[attr-defined]


class Removals:
    """The removals of one extraction, in the order the passes made them."""

    def __init__(self) -> None:
        self.items: list[Removed] = []
        self._marked: dict[int, Removed] = {}

    def prune(self, elem: HtmlElement, rule: str) -> None:
        """Note a block the pass before readability removes (it stood outside any article yet)."""
        text = _text(elem)
        if text:
            self.items.append(Removed(rule, text, "prune", elem.getroottree().getpath(elem)))

    def cleanup(self, elem: HtmlElement, rule: str) -> None:
        """Remove a block from the chosen article, leaving a marker where it stood."""
        text = _text(elem)
        parent = elem.getparent()
        if parent is None:
            return
        if not text:
            elem.drop_tree()
            return
        removed = Removed(rule, text, "cleanup", elem.getroottree().getpath(elem))
        self.items.append(removed)
        marker = etree.Comment(f"{MARKER}{len(self._marked)}")
        self._marked[len(self._marked)] = removed
        marker.tail = elem.tail
        parent.replace(elem, marker)

    def place(self, index: int, before_block: int) -> None:
        """The text layout met marker ``index`` when ``before_block`` blocks had been written."""
        removed = self._marked.get(index)
        if removed is not None:
            removed.before_block = before_block

    @staticmethod
    def unmark(content: HtmlElement) -> None:
        """Take the marker comments out (keeping the text that followed each)."""
        for comment in list(content.iter(etree.Comment)):
            parent = comment.getparent()
            if is_marker(comment) and parent is not None:
                _remove_keeping_tail(comment, parent)


def _remove_keeping_tail(node: etree._Element, parent: etree._Element) -> None:
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)
