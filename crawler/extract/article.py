"""The clean article: what extraction produces and every later stage stores or serves."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Removed:
    """A block our passes took out, and why (see ``crawler.extract.removals``)."""

    rule: str
    """The rule's name, as in ``crawler/extract/README.md``."""
    text: str
    """The block's text, cut to 160 characters."""
    stage: str
    """``prune`` (before readability chose the article) or ``cleanup`` (inside the article)."""
    path: str
    """Where it stood: its XPath in the page as parsed (prune) or in the article (cleanup)."""
    before_block: int | None = None
    """Cleanup only: the index of the article's text block it stood before."""


@dataclass
class Article:
    title: str | None = None
    byline: str | None = None
    published: str | None = None
    site_name: str | None = None
    lang: str | None = None
    lead_image: str | None = None
    url: str | None = None
    html: str = ""
    text: str = ""
    word_count: int = 0
    reading_minutes: int = 0
    extractor_version: str = ""
    removed: list[Removed] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["removed"] = [
            item if isinstance(item, Removed) else Removed(**item) for item in values.get("removed") or []
        ]
        return cls(**values)
