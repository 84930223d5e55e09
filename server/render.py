"""Rendering a page in headless Chromium for ``/clean`` when the served HTML holds no article.

The browser never touches the network itself: its resolver maps every name to "not found", and
every request it makes is intercepted and answered with the server's own guarded fetch (the
same SSRF checks, size cap and timeout as any server-side fetch). A page can therefore make the
browser ask for anything, and still reach only what the guard allows. A main-frame navigation is
such a request too: the page cannot leave for an address the guard refuses.

Renders are bounded, so slow pages cannot take rendering from everyone (issue 21, finding 4):
``DECLUTTER_RENDER_SLOTS`` renders run at once and one client (by address) holds at most half of
them; a render that waits ``DECLUTTER_RENDER_QUEUE_TIMEOUT`` for a slot is refused with a 503 and
``Retry-After`` instead of queueing without end; and a render's whole time, from its slot to its
DOM, is capped by ``DECLUTTER_RENDER_TIMEOUT`` whatever the page's scripts do.

What interception cannot see is switched off: WebRTC (STUN/TURN over UDP from the browser's own
sockets, to any address literal) by launch flags and by an init script that removes
``RTCPeerConnection`` before any page script runs; service workers by the context options.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
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


class RenderBusy(RenderError):
    """No slot came free in time; the client should retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RenderSlots:
    """Render slots shared out by client: nobody holds more than ``per_client`` of them.

    A client at its share waits even while a slot is free, so that slot stays for someone else;
    every wait is bounded by ``timeout``. The queue length and the waits go to the metrics.
    """

    def __init__(self, slots: int, timeout: float, metrics: Any = None) -> None:
        self.slots = max(1, slots)
        self.per_client = max(1, self.slots // 2)
        self.timeout = timeout
        self.metrics = metrics
        self._held: Counter[str] = Counter()
        self._changed = asyncio.Condition()

    def _free_for(self, client: str) -> bool:
        return sum(self._held.values()) < self.slots and self._held[client] < self.per_client

    @contextlib.asynccontextmanager
    async def slot(self, client: str) -> AsyncIterator[None]:
        started = time.monotonic()
        async with self._changed:
            self._gauge("render_queue", 1)
            try:
                async with asyncio.timeout(self.timeout):
                    await self._changed.wait_for(lambda: self._free_for(client))
            except TimeoutError:
                raise RenderBusy(
                    f"every render slot stayed busy for {self.timeout:g} s (this client may hold "
                    f"{self.per_client} of {self.slots}); retry shortly",
                    retry_after=max(1, round(self.timeout)),
                ) from None
            finally:
                self._gauge("render_queue", -1)
                if self.metrics is not None:
                    self.metrics.render_wait.observe(time.monotonic() - started)
            self._held[client] += 1
            self._gauge("render_active", 1)
        try:
            yield
        finally:
            async with self._changed:
                self._held[client] -= 1
                if not self._held[client]:
                    del self._held[client]
                self._gauge("render_active", -1)
                self._changed.notify_all()

    def _gauge(self, name: str, change: int) -> None:
        if self.metrics is not None:
            getattr(self.metrics, name).inc(change)


class Renderer:
    """One headless Chromium, launched on first use and shared by all renders."""

    def __init__(
        self, settings: Settings, guard: Any, resolver: Any = None, *, metrics: Any = None
    ) -> None:
        self.settings = settings
        self.guard = guard
        self.resolver = resolver
        self.metrics = metrics
        self._playwright: Any = None
        self._browser: Any = None
        self._lock = asyncio.Lock()
        self._slots = RenderSlots(settings.render_slots, settings.render_queue_timeout, metrics)

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

    async def render(self, page: FetchResult, client: str = "") -> str:
        """The DOM of ``page`` after its scripts ran, every request answered by the guarded fetch.

        ``client`` (the caller's address) is whose share of the slots the render counts against.
        """
        try:
            async with self._slots.slot(client):
                browser = await self._ensure()
                limit = self.settings.render_timeout
                try:
                    async with asyncio.timeout(limit):
                        dom = await self._render(browser, page)
                except TimeoutError:
                    self._count("timeout")
                    raise RenderError(
                        f"rendering {page.final_url} took longer than {limit:g} s "
                        "(DECLUTTER_RENDER_TIMEOUT)"
                    ) from None
        except RenderBusy:
            self._count("busy")
            raise
        except RenderError:
            self._count("error")
            raise
        self._count("ok")
        return dom

    async def _render(self, browser: Any, page: FetchResult) -> str:
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
            with contextlib.suppress(Exception):  # a browser gone mid-render has no context left
                await context.close()

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.renders.labels(outcome).inc()

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
