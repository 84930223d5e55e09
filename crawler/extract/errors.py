"""What extraction raises: one family, so callers catch ``ExtractionError`` and show its message."""

from __future__ import annotations


class ExtractionError(ValueError):
    """The input cannot be turned into an article; the message says why and what to try."""


class NoArticleError(ExtractionError):
    """The page parsed, but holds no article text (a listing, a login wall, a page built by JS)."""
