"""Scrapy settings for one crawl: polite by default, tightened or loosened per crawl definition.

Nothing here reads the environment; values come from ``crawler.config.Settings`` and the crawl's
entry in crawls.toml, so a crawl behaves the same under the CLI, the scheduler and the tests.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

from crawler.config import Settings
from crawler.crawl.definitions import CrawlDef
from crawler.crawl.guard import allowed_entries
from crawler.fetch.guard import CHROMIUM_NO_WEBRTC_ARGS
from crawler.fetch.settle import SETTLE_MS

GUARD = "crawler.crawl.guard"

PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
# Rendering loads only the crawl's own hosts: third-party scripts are mostly ads and trackers,
# and a crawler must not send traffic to hosts nobody chose to crawl.
BLOCKED_RESOURCE_TYPES = frozenset({"media", "font", "websocket", "eventsource", "manifest"})


def user_agent(settings: Settings) -> str:
    try:
        ours = version("declutter")
    except PackageNotFoundError:
        ours = "dev"
    return f"Declutter/{ours} (archival crawler; +{settings.contact_url})"


class FirstPartyOnly:
    """PLAYWRIGHT_ABORT_REQUEST predicate: the browser loads only the page's own host (and the
    crawl's allowed domains); everything else is aborted before it leaves the browser."""

    def __init__(self, domains: list[str]) -> None:
        self.domains = [d.lower().lstrip(".") for d in domains]

    def __call__(self, request: Any) -> bool:
        if request.resource_type in BLOCKED_RESOURCE_TYPES:
            return True
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return False
        host = (parts.hostname or "").lower()
        try:
            frame = request.frame
            if request.is_navigation_request() and frame.parent_frame is None:
                return False
            page_host = urlsplit(frame.page.url).hostname
        except Exception:  # no live frame (service worker, detached frame): not first-party
            page_host = None
        allowed = [*self.domains, *([page_host.lower()] if page_host else [])]
        return not any(host == d or host.endswith("." + d) for d in allowed)


def scrapy_settings(settings: Settings, crawl: CrawlDef, **overrides: Any) -> dict[str, Any]:
    """The Scrapy settings dict for ``crawl``; ``overrides`` win (tests, benchmarks)."""
    timeout = crawl.timeout if crawl.timeout is not None else settings.fetch_timeout
    values: dict[str, Any] = {
        "BOT_NAME": "declutter",
        "USER_AGENT": user_agent(settings),
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_PARSER": "scrapy.robotstxt.ProtegoRobotParser",
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "CONCURRENT_REQUESTS": max(8, crawl.concurrency * 4),
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency,
        "DOWNLOADER": "crawler.crawl.middlewares.PoliteDownloader",
        "DOWNLOAD_DELAY": crawl.delay,
        "DOWNLOAD_DELAY_JITTER": 0.5 if crawl.delay > 0 else 0,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": max(crawl.delay, 0.1) * 2,
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(crawl.concurrency),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "DOWNLOAD_TIMEOUT": timeout,
        "DOWNLOAD_MAXSIZE": settings.max_page_bytes,
        "DOWNLOAD_WARNSIZE": max(settings.max_page_bytes // 2, 1),
        "REDIRECT_MAX_TIMES": 10,
        "DEPTH_LIMIT": crawl.max_depth,
        "DEPTH_PRIORITY": 1,
        "CLOSESPIDER_PAGECOUNT": 0,
        "CLOSESPIDER_TIMEOUT": crawl.max_duration,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        # every address a download connects to is judged (guard.py): resolver and pre-check
        "TWISTED_DNS_RESOLVER": f"{GUARD}.GuardedNameResolver",
        "DECLUTTER_FETCH_ALLOW": allowed_entries(crawl, settings.allowed_fetch_hosts),
        "DECLUTTER_ALLOW_PRIVATE_FETCH": settings.allow_private_fetch,
        "DOWNLOADER_MIDDLEWARES": {
            f"{GUARD}.AddressGuardMiddleware": 50,
            "crawler.crawl.middlewares.ResumeMiddleware": 60,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.crawl.middlewares.RobotsTxtMiddleware": 100,
            "crawler.crawl.middlewares.RenderPolicyMiddleware": 80,
            "crawler.crawl.middlewares.RedirectLoopMiddleware": 610,
        },
        "SPIDER_MIDDLEWARES": {},
        "ITEM_PIPELINES": {"crawler.crawl.pipelines.CapturePipeline": 300},
        "EXTENSIONS": {"crawler.crawl.progress.CrawlProgress": 500},
        "DECLUTTER_RENDER": crawl.render,
        "DECLUTTER_MAX_PAGES": crawl.max_pages,
        "DECLUTTER_RENDER_SETTLE_MS": SETTLE_MS,
        "DECLUTTER_ARCHIVE_THREADS": 6,
        "DECLUTTER_RENDER_TIMEOUT_MS": int(timeout * 1000),
    }
    if crawl.render != "never":
        values["DOWNLOAD_HANDLERS"] = {"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER}
        values.update(playwright_settings(settings, list(crawl.allowed_domains), timeout))
    for key, value in {**crawl.scrapy, **overrides}.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            value = {**values[key], **value}
        values[key] = value
    launch = values.get("PLAYWRIGHT_LAUNCH_OPTIONS")
    if isinstance(launch, dict):
        # launch args given in [scrapy] replace ours wholesale; WebRTC stays off whatever they say
        args = list(launch.get("args") or [])
        launch["args"] = args + [a for a in CHROMIUM_NO_WEBRTC_ARGS if a not in args]
        # whatever Chromium sends outside the guarded route (a worker's request, say) names the
        # crawler as configured, never HeadlessChrome
        if not any(a.startswith("--user-agent=") for a in args):
            launch["args"].append(f"--user-agent={values['USER_AGENT']}")
    return values


def playwright_settings(settings: Settings, domains: list[str], timeout: float) -> dict[str, Any]:
    """scrapy-playwright on Debian's Chromium (never a downloaded browser), first-party only."""
    return {
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_BROWSER_PROVIDER": "crawler.crawl.middlewares.LazyPlaywrightProvider",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": settings.chromium_path,
            "headless": True,
            "timeout": 30_000,
            # every request of a render is answered by the guarded route (sandbox.py): the
            # browser itself needs to resolve nothing
            "args": ["--host-resolver-rules=MAP * ~NOTFOUND", *CHROMIUM_NO_WEBRTC_ARGS],
        },
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 2,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": int(timeout * 1000),
        "PLAYWRIGHT_ABORT_REQUEST": FirstPartyOnly(domains),
        "DECLUTTER_RENDER_DOMAINS": list(domains),
    }
