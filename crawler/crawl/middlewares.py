"""Downloader middlewares: when to render with Chromium, redirect loops, resumed runs."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Self
from urllib.parse import urljoin

import lxml.html
from playwright.async_api import Error as PlaywrightError
from scrapy import Request
from scrapy.core.downloader import Downloader, Slot
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy_playwright.page import PageMethod
from scrapy_playwright.provider import PlaywrightBrowserProvider
from twisted.internet.defer import Deferred

from crawler.crawl import sandbox
from crawler.crawl.spiders.base import AlreadyCaptured, RedirectLoop, count, is_html
from crawler.fetch.settle import SETTLE_JS, SETTLE_MS

log = logging.getLogger(__name__)

_SHELL_TEXT_CHARS = 200
# Words inside <p> beyond which extraction is certain to find an article: such pages skip the
# extraction check (it would double the CPU cost of every ordinary page).
_PLENTY_WORDS = 150


def served_text(body: bytes) -> tuple[bool, int, int]:
    """(ships scripts, characters of visible text, words inside <p>) of the served HTML."""
    try:
        doc = lxml.html.document_fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return False, 0, 0
    scripts = bool(doc.xpath("//script"))
    for node in doc.xpath("//script|//style|//noscript|//template"):
        node.drop_tree()
    body_el = doc.find("body")
    text = body_el.text_content() if body_el is not None else ""
    words = sum(len(p.text_content().split()) for p in doc.iter("p"))
    return scripts, len(" ".join(text.split())), words


def finds_no_article(body: bytes, url: str, content_type: str) -> bool:
    from crawler.extract import ExtractionError, NoArticleError, extract

    try:
        extract(body, url, content_type=content_type or None)
    except NoArticleError:
        return True
    except ExtractionError:
        return False
    return False


def render_reason(body: bytes) -> str | None:
    """What the served HTML alone says: "JavaScript shell" (scripts, almost no text: render),
    "plenty" (so much paragraph text that extraction will find an article: do not render), or
    None (extraction has to decide)."""
    scripts, chars, words = served_text(body)
    if scripts and chars < _SHELL_TEXT_CHARS:
        return "JavaScript shell"
    if words >= _PLENTY_WORDS:
        return "plenty"
    return None


class RenderPolicyMiddleware:
    """Render policy per crawl. ``never``: plain fetch only. ``always``: every captured page is
    also rendered. ``auto``: render only JavaScript shells and pages where extraction finds no
    article, so ordinary pages never start a browser.

    The plain response is kept (it is what the server sent, and what the WARC records); the
    browser adds the rendered DOM and a full-page screenshot.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.policy = settings.get("DECLUTTER_RENDER", "auto")
        self.settle_ms = settings.getint("DECLUTTER_RENDER_SETTLE_MS", SETTLE_MS)
        self.timeout_ms = settings.getint("DECLUTTER_RENDER_TIMEOUT_MS", 20_000)
        self.domains = settings.getlist("DECLUTTER_RENDER_DOMAINS")
        self.max_bytes = settings.getint("DOWNLOAD_MAXSIZE")
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        meta = request.meta
        if meta.get("declutter_rendered"):
            meta["declutter_screenshot"] = next(
                (pm.result for pm in meta.get("playwright_page_methods", ())
                 if pm.method == "screenshot"),
                None,
            )
            return response
        if (
            self.policy == "never"
            or not meta.get("declutter_capture")
            or meta.get("declutter_already")
            or response.status != 200
            or not is_html(response)
        ):
            return response
        if self.policy == "auto" and not await self.needs_render(response):
            return response
        count(self.stats, "render_requests")
        return self.render_request(request, response)

    async def needs_render(self, response: Response) -> bool:
        # the cheap look (a quarter millisecond) stays on the reactor thread; extraction does not
        reason = render_reason(response.body)
        if reason is None:
            ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
            if await asyncio.to_thread(finds_no_article, response.body, response.url, ctype):
                reason = "no article in the served HTML"
        if reason in (None, "plenty"):
            return False
        log.info("rendering %s: %s", response.url, reason)
        return True

    def render_request(self, request: Request, response: Response) -> Request:
        methods = [
            PageMethod(settle, self.settle_ms, min(self.timeout_ms, 15_000)),
            PageMethod("screenshot", full_page=True, type="png", timeout=self.timeout_ms),
        ]
        return request.replace(
            url=response.url,
            dont_filter=True,
            priority=request.priority + 1,
            meta={
                **request.meta,
                "playwright": True,
                "playwright_page_methods": methods,
                "declutter_rendered": True,
                "declutter_plain": response,
                # the page reaches only what the crawl may (sandbox.py)
                "playwright_page_init_callback": "crawler.crawl.sandbox.lock_down_page",
                "playwright_context_kwargs": {"service_workers": "block"},
                sandbox.DOMAINS: self.domains,
                sandbox.MAX_BYTES: self.max_bytes,
            },
        )


async def settle(page: Any, settle_ms: int, limit_ms: int) -> Any:
    """Wait for the page to stop drawing itself (SETTLE_JS), again on the new document if the
    page navigates meanwhile: a script that sends its main frame elsewhere destroys the context
    the first wait ran in, and the render must then go on with the page it landed on."""
    for _ in range(3):
        try:
            return await page.evaluate(SETTLE_JS, [settle_ms, limit_ms])
        except PlaywrightError as exc:
            # Playwright raises its one Error type; only a navigation's is worth another wait.
            if "Execution context was destroyed" not in str(exc):
                raise
            await page.wait_for_load_state(timeout=limit_ms)
    return None


class LazyPlaywrightProvider(PlaywrightBrowserProvider):
    """PLAYWRIGHT_BROWSER_PROVIDER that starts Playwright's driver with the first browser.

    The default provider starts the driver (a Node.js process) when the engine starts; under
    ``auto`` most crawls never render, and that start-up competes with the crawl for CPU.
    """

    async def start(self) -> None:
        return None

    async def _started(self) -> None:
        if self.browser_type is None:
            await super().start()

    async def launch_browser(self) -> Any:
        await self._started()
        return await super().launch_browser()

    async def launch_persistent_context(self, context_kwargs: dict) -> Any:
        await self._started()
        return await super().launch_persistent_context(context_kwargs)


class RedirectLoopMiddleware:
    """Turn a redirect back to an already visited URL into a counted error.

    Scrapy's duplicate filter would otherwise drop the looping request silently. Sits just
    outside RedirectMiddleware (600) so it sees the 3xx first.
    """

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            target = urljoin(request.url, location.decode("latin-1"))
            visited = [*request.meta.get("redirect_urls", []), request.url]
            if target in visited:
                raise RedirectLoop(f"redirect loop: {' -> '.join([*visited, target])}")
        return response


class ResumeMiddleware:
    """In a resumed run, pages captured before the interruption are not captured again.

    Spiders that follow links still fetch such a page for its links (marked ``declutter_already``,
    so it is neither rendered nor archived); the others skip it outright.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> Any:
        spider = self.crawler.spider
        context = getattr(spider, "context", None)
        if context is None or not request.meta.get("declutter_capture"):
            return None
        if request.url in context.job.captured:
            if spider.follows_links:
                request.meta["declutter_already"] = True
                return None
            raise AlreadyCaptured(f"{request.url} was captured before this run was interrupted")
        return None


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every waiter given the parser.

    In Scrapy 2.19 under the asyncio reactor, requests that arrive while a host's robots.txt is
    still downloading all await one shared Deferred through ``asFuture``, whose callback returns
    None: the first waiter gets the parser and the rest get None, which means "allowed". A crawl
    that starts many URLs of one host at once would then ignore robots.txt for most of them.
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            waiter: Deferred = Deferred()

            def relay(result: Any) -> Any:
                waiter.callback(result)
                return result

            pending.addBoth(relay)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)


class _ClaimingQueue(deque):
    """A slot's queue whose pop counts the request as transferring at once."""

    def __init__(self, slot: Slot) -> None:
        super().__init__()
        self.slot = slot

    def popleft(self) -> Any:
        request, dfd = super().popleft()
        self.slot.transferring.add(request)
        return request, dfd


class PoliteDownloader(Downloader):
    """Scrapy's downloader with CONCURRENT_REQUESTS_PER_DOMAIN enforced without a delay too.

    Scrapy 2.19 pops a slot's queue in a loop that stops when ``free_transfer_slots()`` reaches
    0, but a popped request only joins ``slot.transferring`` when its download coroutine starts,
    after the loop: with DOWNLOAD_DELAY 0 a whole queue goes out at once (15 parallel requests to
    one host measured with a limit of 1). Claiming the transfer at pop time restores the limit.
    """

    def _get_slot(self, request: Request, spider: Any = None) -> tuple[str, Slot]:
        key, slot = super()._get_slot(request)
        if not isinstance(slot.queue, _ClaimingQueue):
            queue = _ClaimingQueue(slot)
            queue.extend(slot.queue)
            slot.queue = queue
        return key, slot
