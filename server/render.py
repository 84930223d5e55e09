"""Rendering a page in headless Chromium for ``/clean`` when the served HTML holds no article.

The browser never touches the network itself: its resolver maps every name to "not found", and
every request it makes is intercepted and answered with the server's own guarded fetch (the
same SSRF checks, size cap and timeout as any server-side fetch). A page can therefore make the
browser ask for anything, and still reach only what the guard allows. A main-frame navigation is
such a request too: the page cannot leave for an address the guard refuses.

What interception cannot see is switched off: WebRTC (STUN/TURN over UDP from the browser's own
sockets, to any address literal) by launch flags and by an init script that removes
``RTCPeerConnection`` before any page script runs; service workers by the context options.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from crawler.config import Settings
from crawler.fetch import FetchError, FetchResult, fetch
from crawler.fetch.guard import CHROMIUM_NO_WEBRTC_ARGS, NO_WEBRTC_JS
from crawler.fetch.settle import SETTLE_JS, SETTLE_MS

log = logging.getLogger("declutter.render")

LIMIT_MS = 8_000
MAX_SUBREQUESTS = 40
# The DOM is all we need: images, media and fonts would only cost fetches.
SKIPPED_TYPES = frozenset({"image", "media", "font", "websocket", "eventsource", "manifest"})
_HOP_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})


class RenderError(Exception):
    """The page could not be rendered (no browser, or the browser failed); the message says why."""


class Renderer:
    """One headless Chromium, launched on first use and shared by all renders."""

    def __init__(self, settings: Settings, guard: Any, resolver: Any = None) -> None:
        self.settings = settings
        self.guard = guard
        self.resolver = resolver
        self._playwright: Any = None
        self._browser: Any = None
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(2)

    async def _ensure(self) -> Any:
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                try:
                    from playwright.async_api import async_playwright

                    self._playwright = self._playwright or await async_playwright().start()
                    self._browser = await self._playwright.chromium.launch(
                        executable_path=self.settings.chromium_path,
                        headless=True,
                        args=[
                            "--host-resolver-rules=MAP * ~NOTFOUND",
                            "--dns-prefetch-disable",
                            "--disable-features=NetworkPrediction",
                            *CHROMIUM_NO_WEBRTC_ARGS,
                        ],
                    )
                except Exception as exc:
                    raise RenderError(
                        f"cannot start Chromium at {self.settings.chromium_path} ({exc}); "
                        "set DECLUTTER_CHROMIUM"
                    ) from exc
            return self._browser

    async def render(self, page: FetchResult) -> str:
        """The DOM of ``page`` after its scripts ran, every request answered by the guarded fetch."""
        browser = await self._ensure()
        async with self._slots:
            context = await browser.new_context(service_workers="block", accept_downloads=False)
            try:
                await context.add_init_script(NO_WEBRTC_JS)
                tab = await context.new_page()
                budget = {"left": MAX_SUBREQUESTS}
                await tab.route("**/*", lambda route: self._answer(route, page, budget))
                timeout = self.settings.fetch_timeout * 1000
                await tab.goto(page.final_url, wait_until="load", timeout=timeout)
                await tab.evaluate(SETTLE_JS, [SETTLE_MS, LIMIT_MS])
                return await tab.content()
            except RenderError:
                raise
            except Exception as exc:
                raise RenderError(f"rendering {page.final_url} failed: {exc}") from exc
            finally:
                await context.close()

    async def _answer(self, route: Any, page: FetchResult, budget: dict[str, int]) -> None:
        request = route.request
        if request.url == page.final_url and request.resource_type == "document":
            await route.fulfill(status=page.status, headers=_headers(page), body=page.body)
            return
        if (
            request.resource_type in SKIPPED_TYPES
            or request.method != "GET"
            or not request.url.startswith(("http://", "https://"))
            or budget["left"] <= 0
        ):
            await route.abort()
            return
        budget["left"] -= 1
        try:
            result = await fetch(
                request.url,
                timeout=min(self.settings.fetch_timeout, 10.0),
                max_bytes=self.settings.max_page_bytes,
                guard=self.guard,
                resolver=self.resolver,
            )
        except FetchError as exc:
            log.info("render of %s: not loading %s (%s)", page.final_url, request.url, exc)
            await route.abort()
            return
        await route.fulfill(status=result.status, headers=_headers(result), body=result.body)

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        self._browser = self._playwright = None


def _headers(result: FetchResult) -> dict[str, str]:
    return {name: value for name, value in result.headers if name.lower() not in _HOP_HEADERS}
