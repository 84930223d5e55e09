"""What a page rendered by the crawler's Chromium may reach: the same as the crawl, and no more.

Chromium fetches nothing itself. ``lock_down_page`` (scrapy-playwright's page init callback,
set by the render policy) routes every request of the page, and of any popup it opens, through
``GuardedRoute``: the main document is answered with the response the crawl already fetched (the
bytes the WARC keeps), every other GET with the guarded fetcher (``crawler.fetch.fetch`` with the
crawl's ``AddressGuard``), which checks each redirect hop inside its DNS resolution. So a page that
navigates its main frame, loads a sub-resource, or is redirected (Chromium would follow a
redirect without asking the route again) reaches an internal address only if the crawl allows it,
and the address checked is the one connected to. Other methods are aborted: a render reads a
page, it never submits one. Refusals are recorded on the Scrapy request and counted by
``AddressGuardMiddleware`` as ``skipped.blocked_address``.

What routing cannot see is closed otherwise: WebSockets are answered by a route that never
connects; WebRTC (UDP from the browser's own sockets) is off through launch flags and an init
script that removes ``RTCPeerConnection`` before any page script runs; service workers are
blocked by the render's context options.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from scrapy import Request

from crawler.crawl.guard import RENDER_BLOCKED, installed_resolver
from crawler.crawl.settings import FirstPartyOnly
from crawler.crawl.spiders.base import headers_list
from crawler.fetch import FetchError, fetch
from crawler.fetch.guard import NO_WEBRTC_JS, BlockedAddress

log = logging.getLogger(__name__)

# request.meta keys the render policy sets for the route
DOMAINS = "declutter_render_domains"
MAX_BYTES = "declutter_render_max_bytes"
_HOP_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})
_locked_contexts: weakref.WeakSet[Any] = weakref.WeakSet()


class GuardedRoute:
    """A Playwright route handler answering each request of a rendered page by the crawl's rules.

    ``request`` is the Scrapy request being rendered; None for pages the crawl did not open
    (popups), which get the same guard but no plain response and nowhere to record refusals.
    """

    def __init__(self, request: Request | None, agent: str | None = None) -> None:
        self.request = request
        meta = request.meta if request is not None else {}
        self.first_party = FirstPartyOnly(list(meta.get(DOMAINS, ())))
        self.plain = meta.get("declutter_plain")
        self.timeout = float(meta.get("download_timeout") or 20.0)
        self.max_bytes = int(meta.get(MAX_BYTES) or 10 * 1024 * 1024)
        # the crawl's configured user agent on every request, a popup's too
        agent = agent or user_agent_of(request)
        self.headers = {"User-Agent": agent} if agent else {}

    async def __call__(self, route: Any, pw_request: Any) -> None:
        url = pw_request.url
        if url.startswith(("data:", "blob:", "about:")):
            await route.fallback()  # answered inside the browser; nothing leaves it
            return
        if self.first_party(pw_request) or pw_request.method not in ("GET", "HEAD"):
            await route.abort("blockedbyclient")
            return
        if self.is_main_document(pw_request):
            plain, self.plain = self.plain, None  # only once: a reload is fetched again
            await route.fulfill(
                status=plain.status,
                headers=_headers(headers_list(plain.headers, decoded_body=True)),
                body=plain.body,
            )
            return
        try:
            result = await fetch(
                url,
                timeout=self.timeout,
                max_bytes=self.max_bytes,
                guard=installed_resolver().guard,
                headers=self.headers,
            )
        except BlockedAddress as exc:
            self.refused(url, exc)
            await route.abort("blockedbyclient")
            return
        except FetchError as exc:
            log.info("render: not loading %s (%s)", url, exc)
            await route.abort("failed")
            return
        await route.fulfill(status=result.status, headers=_headers(result.headers), body=result.body)

    def is_main_document(self, pw_request: Any) -> bool:
        if self.plain is None or self.request is None or pw_request.url != self.request.url:
            return False
        try:
            main = pw_request.is_navigation_request() and pw_request.frame.parent_frame is None
        except Exception:  # a request with no live frame is never the page itself
            return False
        return main

    def refused(self, url: str, error: BlockedAddress) -> None:
        page = self.request.url if self.request is not None else "a popup"
        log.warning("refused %s (asked for by the render of %s): %s", url, page, error)
        if self.request is not None:
            self.request.meta.setdefault(RENDER_BLOCKED, []).append(url)


async def _refuse_socket(socket: Any) -> None:
    await socket.close(code=1008, reason="a rendered page may not open WebSockets")


async def lock_down_page(page: Any, request: Request) -> None:
    """PLAYWRIGHT page init callback: guard every request of ``page`` before it navigates.

    scrapy-playwright only logs an init callback that fails; the page is closed then, so the
    render fails (and the plain capture is kept) rather than running unguarded.
    """
    try:
        context = page.context
        if context not in _locked_contexts:
            # context-wide: popups and any page opened without this callback
            await context.add_init_script(NO_WEBRTC_JS)
            await context.route_web_socket("**", _refuse_socket)
            await context.route("**", GuardedRoute(None, agent=user_agent_of(request)))
            _locked_contexts.add(context)
        await page.add_init_script(NO_WEBRTC_JS)
        await page.route_web_socket("**", _refuse_socket)
        await page.route("**", GuardedRoute(request))
    except Exception:
        await page.close()
        raise


def user_agent_of(request: Request | None) -> str | None:
    agent = request.headers.get("User-Agent") if request is not None else None
    return agent.decode("latin-1") if agent else None


def _headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return {name: value for name, value in pairs if name.lower() not in _HOP_HEADERS}
