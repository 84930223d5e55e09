"""The catalogue's rows as dataclasses: what a query returns and what the API and pages show.

``to_dict``/``from_dict`` are the JSON form (times as ISO 8601 with ``Z``), shared by the API,
the JSONL export and the caches, so a row reads back equal to what was written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any


def iso(value: datetime | None) -> str | None:
    """A time as the API writes it: ISO 8601 in UTC with ``Z``."""
    return value.isoformat().replace("+00:00", "Z") if value else None


class _Row:
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)  # type: ignore[call-overload]
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = iso(value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """The inverse of ``to_dict`` (times come back as aware UTC datetimes)."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        values = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key.endswith("_at") and isinstance(value, str):
                value = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
            values[key] = value
        return cls(**values)


@dataclass
class CaptureRow(_Row):
    id: str
    url: str
    url_key: str
    captured_at: datetime
    status: int
    payload_digest: str
    warc_key: str
    warc_sha256: str
    warc_size: int
    canonical_url: str | None = None
    mime: str = ""
    text_digest: str | None = None
    article_key: str | None = None
    article_sha256: str | None = None
    title: str | None = None
    byline: str | None = None
    published: str | None = None
    lang: str | None = None
    site_name: str | None = None
    word_count: int = 0
    rendered: bool = False
    crawl_id: str | None = None
    revisit: bool = False
    revisit_of: str | None = None
    resource_digests: dict[str, str] = field(default_factory=dict)
    source: str = "server"
    fetch_error: str | None = None


@dataclass
class CrawlRow(_Row):
    id: str
    name: str
    started_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChangeRow(_Row):
    url: str
    url_key: str
    from_id: str
    to_id: str
    words_added: int
    words_removed: int
    title_before: str | None
    title_after: str | None
    detected_at: datetime
    id: int | None = None

    @property
    def title_changed(self) -> bool:
        return (self.title_before or "") != (self.title_after or "")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "title_changed": self.title_changed}


@dataclass
class SearchHit(_Row):
    """A capture matching a query; ``snippet`` is HTML-escaped text with terms in ``<mark>``.

    ``capture_count`` captures of the URL share this text version (same ``text_digest``), the
    first of them at ``first_captured_at``; a collapsed search shows only the newest of them.
    """

    capture: CaptureRow
    snippet: str
    rank: float
    capture_count: int = 1
    first_captured_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.capture.to_dict(),
            "snippet": self.snippet,
            "rank": self.rank,
            "capture_count": self.capture_count,
            "first_captured_at": iso(self.first_captured_at or self.capture.captured_at),
        }


CAPTURE_COLUMNS = [f.name for f in fields(CaptureRow)]
CRAWL_COLUMNS = [f.name for f in fields(CrawlRow)]
CHANGE_COLUMNS = [f.name for f in fields(ChangeRow)]
BOOL_COLUMNS = {"rendered", "revisit"}
JSON_COLUMNS = {"resource_digests", "counts"}
