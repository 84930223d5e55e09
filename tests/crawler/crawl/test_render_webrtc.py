"""No side channel out of the crawler's renders: a page's WebRTC sends no STUN packet, and a
WebSocket it opens to an internal port never connects.

The STUN server is a UDP socket on 127.0.0.1; the page asks ``RTCPeerConnection`` to gather ICE
candidates through it. tests/server/test_render_webrtc.py shows the same page makes a bare
Chromium send packets to that socket, so a silent socket here means the render stopped them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.archive import Archiver
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.probes import Pointer, UdpListener, stun_page


class ProbeSite(Pointer):
    """The pointer site plus ``/webrtc``: the STUN page, which also opens a WebSocket to ``?to=``."""

    def __init__(self, stun_port: int) -> None:
        super().__init__()
        self.stun_port = stun_port

    async def handle(self, request: Any) -> Any:
        if request.path != "/webrtc":
            return await super().handle(request)
        self.hits[request.path] += 1
        from aiohttp import web

        socket_script = f"try {{ new WebSocket({request.query['to']!r}); }} catch (e) {{}}"
        return web.Response(text=stun_page(self.stun_port, socket_script), content_type="text/html")


def test_a_crawler_render_sends_no_stun_packet_and_opens_no_websocket(
    crawl_env: Any, tmp_path: Path
) -> None:
    listener = UdpListener()
    site = ProbeSite(listener.port).start()
    internal = Pointer().start()
    try:
        settings, _, run = crawl_env()
        target = internal.origin.replace("http://", "ws://") + "/socket"
        seed = site.url(f"/webrtc?to={target}")
        crawls = write_crawls(tmp_path / "crawls.toml", {"w": crawl_def("urls", [seed], render="always")})
        result = run("w", crawls)
        assert result.returncode == 0, result.stderr[-3000:]
        packets = listener.packets(wait=1.0)
        with Archiver.from_settings(settings) as archiver:
            rows, _ = archiver.catalogue.list_captures(limit=10)
            counts = archiver.catalogue.list_crawls()[0].counts
            rendered = archiver.read_rendered(rows[0].id) if rows else None
    finally:
        site.stop()
        internal.stop()
        listener.close()
    assert counts["rendered"] == 1, (counts, result.stderr[-3000:])
    assert packets == 0, f"{packets} STUN packet(s) left the crawler's Chromium"
    # the init script ran before the page's own: RTCPeerConnection was not there to call
    assert rendered and "unavailable: ReferenceError" in rendered, rendered
    assert sum(internal.hits.values()) == 0, f"a WebSocket reached the internal port: {internal.hits}"
