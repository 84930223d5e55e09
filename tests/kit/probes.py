"""Loopback sites and sockets that tell whether something reached them: for the guard tests.

``Pointer`` serves pages that point wherever ``?to=`` says (a redirect, a link, a feed or sitemap
entry, a script that navigates) and counts every path it serves; ``UdpListener`` counts the
datagrams a page's WebRTC sent it. A count of zero is only evidence beside a control that shows
the same page does reach them when nothing stops it.
"""

from __future__ import annotations

import asyncio
import html
import socket
import threading
import time
from collections import Counter

from aiohttp import web

ARTICLE = "<p>" + "The council met to weigh the footbridge designs again. " * 30 + "</p>"


class Pointer:
    """A loopback site whose pages point wherever ``?to=`` says; counts every path it serves."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.origin = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return self.origin + path

    @staticmethod
    def page(body: str, title: str = "Pointer") -> web.Response:
        text = f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"
        return web.Response(text=text, content_type="text/html")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        targets = request.query.getall("to", [])
        links = "".join(f"<item><link>{html.escape(t)}</link></item>" for t in targets)
        kind = request.path.strip("/")
        if kind == "redirect":
            raise web.HTTPFound(targets[0])
        if kind == "link":
            anchors = "".join(f'<a href="{html.escape(t)}">more</a>' for t in targets)
            return self.page(f"<article><h1>Links</h1>{ARTICLE}{anchors}</article>")
        if kind == "feed.xml":
            return web.Response(text=f'<?xml version="1.0"?><rss version="2.0"><channel>{links}'
                                     "</channel></rss>", content_type="application/rss+xml")
        if kind == "sitemap.xml":
            urls = "".join(f"<url><loc>{html.escape(t)}</loc></url>" for t in targets)
            return web.Response(
                text='<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                     f'sitemap/0.9">{urls}</urlset>', content_type="application/xml")
        if kind == "navigate":
            # a JavaScript shell: loads the target, then sends its main frame there
            script = (f"const to = {targets[0]!r};"
                      "fetch(to + '-sub').catch(() => {});"
                      "setTimeout(() => { location.href = to; }, 100);")
            return self.page(f"<div id=app></div><script>{script}</script>", "Shell")
        if kind == "robots.txt":
            raise web.HTTPNotFound()
        return self.page(f"<article><h1>Internal page {html.escape(request.path)}</h1>{ARTICLE}"
                         "</article>", "Internal")

    def start(self) -> Pointer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/{tail:.*}", self.handle)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.origin = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="pointer-site", daemon=True)
        self._thread.start()
        assert ready.wait(10), "the pointer site did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


STUN_SCRIPT = """
(async () => {
  const out = document.getElementById('webrtc');
  try {
    const pc = new RTCPeerConnection({iceServers: [{urls: 'stun:127.0.0.1:%(port)d'}]});
    pc.createDataChannel('probe');
    pc.onicecandidate = (e) => { if (e.candidate) out.textContent += ' candidate'; };
    await pc.setLocalDescription(await pc.createOffer());
    out.textContent += ' offered';
  } catch (e) {
    out.textContent += ' unavailable: ' + e.name;
  }
})();
"""


def stun_page(port: int, extra_script: str = "") -> str:
    """An article page that tries STUN to 127.0.0.1:``port`` as soon as its script runs."""
    paragraphs = "".join(
        f"<p>Paragraph {n}: the council weighed three footbridge designs against the floods.</p>"
        for n in range(12)
    )
    return (
        "<!doctype html><html><head><title>WebRTC probe</title></head><body><article>"
        f"<h1>WebRTC probe</h1>{paragraphs}<p id=webrtc>webrtc:</p></article>"
        f"<script>{STUN_SCRIPT % {'port': port}}{extra_script}</script></body></html>"
    )


class UdpListener:
    """A UDP socket on 127.0.0.1 that counts the datagrams it was sent."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def packets(self, wait: float = 0.0) -> int:
        time.sleep(wait)
        received = 0
        while True:
            try:
                self.sock.recvfrom(4096)
            except BlockingIOError:
                return received
            received += 1

    def close(self) -> None:
        self.sock.close()
