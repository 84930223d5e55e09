"""The Capture record: one page as it was exchanged and, when rendered, as a browser showed it.

Every path that keeps a page (crawl, server fetch, the extension's save) builds one of these and
hands it to ``crawler.archive``; nothing else decides how a page is stored. Its WARC form (writing
and reading it back) is ``crawler.snapshot.warc``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

# A capture whose only page is the reader's DOM (the server's fetch failed): its source and type.
READER = "reader"
READER_CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass
class Capture:
    url: str
    status: int
    body: bytes
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    method: str = "GET"
    http_version: str = "HTTP/1.1"
    reason: str = ""
    captured_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    rendered_html: str | None = None
    screenshot: bytes | None = None
    reader_html: str | None = None
    crawl_id: str | None = None
    source: str = "server"
    fetch_error: str | None = None

    @classmethod
    def from_reader(
        cls, url: str, html: str, fetch_error: str, *, captured_at: datetime | None = None
    ) -> Capture:
        """The page as only the reader's browser had it, because the server's own fetch failed.

        No HTTP exchange happened, so there is no status (0), no request and no response headers:
        the DOM is the body, archived as a WARC ``resource`` record, never as a response.
        """
        return cls(
            url=url,
            status=0,
            body=html.encode("utf-8", "replace"),
            response_headers=[("Content-Type", READER_CONTENT_TYPE)],
            method="",
            http_version="",
            captured_at=captured_at or datetime.now(UTC),
            source=READER,
            fetch_error=fetch_error,
        )

    @property
    def from_reader_only(self) -> bool:
        return self.source == READER

    @property
    def content_type(self) -> str:
        for name, value in self.response_headers:
            if name.lower() == "content-type":
                return value
        return ""

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()
