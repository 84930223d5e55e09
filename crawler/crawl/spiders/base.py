"""What every Declutter spider shares: page requests, turning responses into captures, and
counting every page that could not be kept (a bad page is a number and a log line, never a crash).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from http import HTTPStatus
from typing import Any

import scrapy
from scrapy.exceptions import (
    CloseSpider,
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawler.crawl.definitions import CrawlContext
from crawler.crawl.items import PageCapture
from crawler.fetch.guard import BlockedAddress
from crawler.snapshot.capture import Capture

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
STAT = "declutter/"


class AlreadyCaptured(IgnoreRequest):
    """This run captured the URL before it was interrupted."""


class RedirectLoop(IgnoreRequest):
    """A redirect leads back to a URL already visited on the way."""


class BlockedRequest(IgnoreRequest, BlockedAddress):
    """The address guard refused the URL: it leads somewhere the crawl may not reach."""


# The first few addresses behind a count (``skipped/binary``), so a run can say which pages.
SAMPLES = "declutter_urls/"
SAMPLE_URLS = 20


def count(stats: Any, key: str, n: int = 1, *, url: str | None = None) -> None:
    stats.inc_value(STAT + key, n)
    if url is not None:
        kept = stats.get_value(SAMPLES + key) or []
        if len(kept) < SAMPLE_URLS:
            stats.set_value(SAMPLES + key, [*kept, url])


def tally(stats: Any, job: Any, url: str, *keys: str, sample: bool = False) -> None:
    """Count one page's outcome (stat keys such as ``pages``, ``errors/timeout``) once per run:
    the job journals it by URL, and what a process before a kill counted for the page is taken
    back (the resumed run started from those counts; ``crawler/crawl/ledger.py``). ``sample``
    keeps the URL among the first few of its kind (``skipped/binary``), not of ``pages``."""
    for key, n in job.note(url, keys).items():
        count(stats, key, -n)
    for key in keys:
        count(stats, key, url=url if sample and "/" in key else None)
    if "pages" in keys:
        count(stats, "fetched")  # by this process, for its rate (``pages`` is the run's)


# How binary formats begin: a PDF or image served as text/html is not a page with no article.
_BINARY_MAGIC = (b"%PDF-", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b",
                 b"RIFF", b"OggS", b"\x00\x00\x00")


def looks_binary(body: bytes) -> bool:
    """A body no HTML page has: a binary format's signature, or a NUL byte near the start (UTF-16
    pages carry a BOM and are decoded as text)."""
    head = body[:4096].lstrip()
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return head.startswith(_BINARY_MAGIC) or b"\x00" in head


def is_html(response: Response) -> bool:
    ctype = response.headers.get(b"Content-Type", b"").decode("latin-1").split(";")[0]
    ctype = ctype.strip().lower()
    if ctype:
        return ctype in HTML_TYPES
    return isinstance(response, TextResponse) and b"<html" in response.body[:2048].lower()


def headers_list(headers: Any, *, decoded_body: bool = False) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():
        key = name.decode("latin-1")
        if decoded_body and key.lower() in _DROP_HEADERS:
            continue
        for value in values:
            pairs.append((key, value.decode("latin-1")))
    return pairs


def plain_capture(
    response: Response, crawl_id: str, *, captured_at: datetime | None = None, url: str | None = None
) -> Capture:
    """The page as the server sent it (Scrapy has already undone any Content-Encoding)."""
    headers = headers_list(response.headers, decoded_body=True)
    headers.append(("Content-Length", str(len(response.body))))
    capture = Capture(
        url=url or response.url,
        status=response.status,
        body=response.body,
        response_headers=headers,
        request_headers=headers_list(response.request.headers) if response.request else [],
        method=response.request.method if response.request else "GET",
        http_version=response.protocol or "HTTP/1.1",
        reason=_reason(response.status),
        crawl_id=crawl_id,
    )
    if captured_at is not None:
        capture.captured_at = captured_at
    return capture


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def classify(failure: Failure) -> tuple[str, str]:
    """("errors"|"skipped", kind) for a failed request."""
    if failure.check(HttpError):
        return "errors", "http_error"
    if failure.check(DownloadTimeoutError, TwistedTimeoutError):
        return "errors", "timeout"
    if failure.check(DownloadCancelledError):
        return "errors", "too_large"
    if failure.check(RedirectLoop):
        return "errors", "redirect_loop"
    if failure.check(AlreadyCaptured):
        return "skipped", "resumed"
    if failure.check(BlockedRequest):
        return "skipped", "blocked_address"
    if failure.check(IgnoreRequest):
        message = str(failure.value)
        if "robots.txt" in message:
            return "skipped", "robots"
        if "redirect" in message:
            return "errors", "redirect_loop"
        return "skipped", "ignored"
    name = type(failure.value).__module__
    if name.startswith("playwright"):
        return "errors", "render"
    if "Timeout" in type(failure.value).__name__:
        return "errors", "timeout"
    return "errors", "network"


class ArchiveSpider(scrapy.Spider):
    """Base spider: subclasses find page URLs; this turns pages into ``PageCapture`` items."""

    name = "declutter"
    follows_links = False

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(name=context.crawl.spider, **kwargs)
        self.context = context
        self.crawl = context.crawl
        if context.crawl.allowed_domains or self.follows_links or context.crawl.wayback:
            self.allowed_domains = context.crawl.domains()

    async def start(self) -> AsyncIterator[Any]:
        for request in self.start_pages():
            yield request

    def start_pages(self) -> Iterable[scrapy.Request]:
        return [self.page_request(url) for url in self.crawl.all_seeds()]

    def page_request(self, url: str, *, capture: bool = True, **meta: Any) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_page,
            errback=self.on_error,
            meta={"declutter_capture": capture, **meta},
        )

    def parse_page(self, response: Response) -> Iterable[Any]:
        stats = self.crawler.stats
        job = self.context.job
        if response.meta.get("declutter_already"):
            # captured before an interruption: counted then, fetched again for its links only
            count(stats, "skipped/resumed")
            if self.follows_links and is_html(response):
                yield from self.follow(response)
            return
        if not is_html(response):
            ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
            mime = ctype.split(";")[0].strip().lower()
            textual = mime.startswith("text/") or mime.endswith(("xml", "json"))
            kind = "not_html" if textual else "binary"
            tally(stats, job, response.url, "pages", f"skipped/{kind}", sample=True)
            (log.warning if kind == "binary" else log.info)(
                "skipped %s: not HTML (%s)", response.url, ctype or "no Content-Type")
            return
        if looks_binary(response.body):
            # served as HTML, but it is not: counted as such, not stored as a page with no article
            tally(stats, job, response.url, "pages", "skipped/not_html", sample=True)
            log.warning("skipped %s: a binary body served as %s", response.url,
                        response.headers.get(b"Content-Type", b"").decode("latin-1"))
            return
        tally(stats, job, response.url, "pages")
        if response.meta.get("declutter_capture", True):
            yield from self._emit(self.capture_item(response))
        if self.follows_links:
            yield from self.follow(response)

    def _emit(self, item: PageCapture) -> Iterable[PageCapture]:
        # The job (the run in Redis, for a shared run) counts captures before an interruption
        # and other workers' captures too; the pipeline gives back a page it does not capture.
        if not self.context.job.take_page(self.crawl.max_pages):
            raise CloseSpider("max_pages")
        yield item

    def capture_item(self, response: Response) -> PageCapture:
        plain = response.meta.get("declutter_plain")
        source = plain if plain is not None else response
        capture = plain_capture(source, self.context.crawl_id, **self.capture_overrides(source))
        keys = tuple(dict.fromkeys([*response.meta.get("redirect_urls", [])[:1], source.url]))
        if plain is None:
            return PageCapture(capture, keys=keys)
        capture.rendered_html = response.text
        capture.screenshot = response.meta.get("declutter_screenshot")
        return PageCapture(capture, rendered=True, keys=keys)

    def capture_overrides(self, response: Response) -> dict[str, Any]:
        """Subclasses that replay archives set the original URL and capture time here."""
        return {}

    def follow(self, response: Response) -> Iterable[scrapy.Request]:
        return ()

    def on_error(self, failure: Failure) -> Iterable[Any]:
        request = failure.request  # type: ignore[attr-defined]
        plain = request.meta.get("declutter_plain")
        stats = self.crawler.stats
        if plain is not None:
            # Chromium failed on a page we already hold: keep the server's version.
            # not an error: the page is captured, as served (``render_failed``)
            tally(stats, self.context.job, plain.url, "pages", "render_failed")
            log.warning("render failed for %s, keeping the plain capture: %s", request.url, failure.value)
            capture = plain_capture(plain, self.context.crawl_id, **self.capture_overrides(plain))
            keys = tuple(dict.fromkeys([*request.meta.get("redirect_urls", [])[:1], plain.url]))
            yield from self._emit(PageCapture(capture, keys=keys))
            return
        group, kind = classify(failure)
        if kind == "resumed":
            count(stats, "skipped/resumed")  # counted when it was captured
        elif group == "errors":
            tally(stats, self.context.job, request.url, "pages", f"errors/{kind}")
        else:
            tally(stats, self.context.job, request.url, f"skipped/{kind}")
        if group == "errors":
            detail = failure.value
            if failure.check(HttpError):
                detail = f"HTTP {failure.value.response.status}"
            log.warning("bad page %s (%s): %s", request.url, kind, detail)
        else:
            log.info("skipped %s (%s)", request.url, kind)
