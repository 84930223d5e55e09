"""The Capture record: one page as it was exchanged and, when rendered, as a browser showed it.

Every path that keeps a page (crawl, server fetch, the extension's save) builds one of these and
hands it to ``crawler.archive``; nothing else decides how a page is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


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

    @property
    def content_type(self) -> str:
        for name, value in self.response_headers:
            if name.lower() == "content-type":
                return value
        return ""

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def html_for_extraction(self) -> bytes | str:
        """The richest view of the page: the reader's DOM, else the rendered DOM, else the body."""
        return self.reader_html or self.rendered_html or self.body
