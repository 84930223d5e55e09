"""Text comparison that ignores how an extractor or a browser wrapped the lines."""

from __future__ import annotations


def collapse(text: str) -> str:
    """``text`` with every run of whitespace made one space, so expectations can be one line."""
    return " ".join(text.split())
