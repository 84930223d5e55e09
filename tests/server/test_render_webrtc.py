"""No side channel out of the server's renderer: WebRTC off, WebSockets and navigations guarded.

A page rendered for an anonymous ``/clean`` caller tries STUN to a UDP socket on 127.0.0.1
through ``RTCPeerConnection``. A bare Chromium sends packets to it (the control: the probe
works on this machine), Chromium with the project's flags alone sends none, and the Renderer
(flags plus the init script) sends none and finds no ``RTCPeerConnection`` at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from crawler.config import Settings
from crawler.fetch import AddressGuard, FetchResult
from crawler.fetch.guard import CHROMIUM_NO_WEBRTC_ARGS
from server.render import Renderer, RenderError
from tests.kit.probes import UdpListener, stun_page

GATHER_SECONDS = 2.0


@pytest.fixture
def listener() -> Any:
    udp = UdpListener()
    yield udp
    udp.close()


@pytest.fixture
async def internal() -> AsyncIterator[dict[str, Any]]:
    """An HTTP/WebSocket service on another loopback port that nothing may reach."""
    hits: list[str] = []

    async def record(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        return web.Response(text="internal")

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield {"port": port, "hits": hits}
    await runner.cleanup()


async def bare_chromium_packets(listener: UdpListener, args: list[str]) -> int:
    """STUN packets a Chromium started with ``args`` (and no init script) sends for the page."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=Settings().chromium_path, headless=True, args=args
        )
        try:
            page = await browser.new_page()
            await page.set_content(stun_page(listener.port))
            await asyncio.sleep(GATHER_SECONDS)
        finally:
            await browser.close()
    return listener.packets()


async def test_the_probe_sees_stun_from_a_bare_chromium(listener: UdpListener) -> None:
    packets = await bare_chromium_packets(listener, [])
    assert packets > 0, "a bare Chromium sent no STUN packet: this probe cannot tell anything here"


async def test_the_flags_alone_stop_stun(listener: UdpListener) -> None:
    assert await bare_chromium_packets(listener, list(CHROMIUM_NO_WEBRTC_ARGS)) == 0


def probe_page(body: str) -> FetchResult:
    url = "http://127.0.0.1:9/probe"  # served from this result: nothing listens there
    return FetchResult(url=url, final_url=url, status=200, reason="OK",
                       headers=[("Content-Type", "text/html; charset=utf-8")], body=body.encode())


async def test_the_renderer_sends_no_stun_and_opens_no_internal_socket(
    listener: UdpListener, internal: dict[str, Any]
) -> None:
    port = internal["port"]
    probe = (
        f"try {{ new WebSocket('ws://127.0.0.1:{port}/socket'); }} catch (e) {{}}"
        f"fetch('http://127.0.0.1:{port}/sub').catch(() => {{}});"
    )
    renderer = Renderer(Settings(fetch_timeout=5.0), AddressGuard())
    try:
        dom = await renderer.render(probe_page(stun_page(listener.port, probe)))
        await asyncio.sleep(GATHER_SECONDS)
    finally:
        await renderer.close()
    assert listener.packets() == 0, "the renderer's Chromium sent STUN packets"
    # the init script ran before the page's own: RTCPeerConnection was not there to call
    assert "unavailable: ReferenceError" in dom, dom[-2000:]
    assert internal["hits"] == [], f"the render reached the internal port: {internal['hits']}"


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed"])
async def test_a_rendered_page_cannot_send_its_main_frame_to_an_internal_port(
    allowed: bool, internal: dict[str, Any]
) -> None:
    port = internal["port"]
    script = f"setTimeout(() => {{ location.href = 'http://127.0.0.1:{port}/navigated'; }}, 200);"
    page = probe_page(f"<html><body><p>Leaving.</p><script>{script}</script></body></html>")
    guard = AddressGuard([f"127.0.0.1:{port}"] if allowed else [])
    renderer = Renderer(Settings(fetch_timeout=5.0), guard)
    try:
        # the navigation ends the render either way (the settle script loses its page)
        with pytest.raises(RenderError):
            await renderer.render(page)
    finally:
        await renderer.close()
    # allowed: the navigation does arrive, so the refused case's silence is the guard's doing
    assert internal["hits"] == (["/navigated"] if allowed else []), internal["hits"]
