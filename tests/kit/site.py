"""A local news site for crawler tests and benchmarks, served by aiohttp on 127.0.0.1.

It serves the project's demo site (demo-site/) plus what a crawler must cope with: the seed
article as static and JavaScript-built pages, a page disallowed by robots.txt, a slow page, a 500,
a binary download, a redirect loop and a page larger than the size limit. Sitemaps and feeds list
all of them. Every request is recorded so tests can check what was (and was not) fetched.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections import Counter
from pathlib import Path

from aiohttp import web

from tests.kit.paths import ROOT

DEMO = ROOT / "demo-site"
DEMO_ORIGIN = "http://127.0.0.1:8090"
ARTICLES = sorted(p.name for p in (DEMO / "articles").glob("*.html"))
HUGE_BYTES = 3 * 1024 * 1024
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"

# path -> what a crawl of the site should make of it
SPECIAL = {
    "/private/drafts.html": "robots",
    "/slow": "timeout",
    "/error500": "http_error",
    "/download/report": "binary",
    "/loop/a": "redirect_loop",
    "/huge": "too_large",
}


class SiteServer:
    """Start with ``start()``; ``origin`` is ``http://127.0.0.1:PORT``; ``hits`` counts paths."""

    def __init__(self, seed_dir: Path | None = None, *, slow_seconds: float = 3.0,
                 extra_articles: int = 0, page_delay: float = 0.0) -> None:
        self.seed_dir = seed_dir
        self.slow_seconds = slow_seconds
        self.extra_articles = extra_articles
        self.page_delay = page_delay
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.origin = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # pages

    def article_paths(self) -> list[str]:
        paths = [f"/articles/{name}" for name in ARTICLES]
        paths += [f"/more/{n}.html" for n in range(self.extra_articles)]
        return paths

    def seed_paths(self) -> list[str]:
        return ["/seed/page.html", "/seed/page-js.html"] if self.seed_dir else []

    def all_pages(self) -> list[str]:
        return [*self.article_paths(), *self.seed_paths(), *SPECIAL]

    def url(self, path: str) -> str:
        return self.origin + path

    def _rewrite(self, text: str) -> str:
        return text.replace(DEMO_ORIGIN, self.origin)

    async def index(self, request: web.Request) -> web.Response:
        links = "\n".join(
            f'<li><a href="{html.escape(p)}">{html.escape(p)}</a></li>' for p in self.all_pages()
        )
        body = (
            "<!DOCTYPE html><html><head><title>Test Gazette</title></head><body>"
            f"<h1>Test Gazette</h1><ul>{links}</ul>"
            '<p><a href="/section/city.html">City</a></p></body></html>'
        )
        return web.Response(text=body, content_type="text/html")

    async def robots(self, request: web.Request) -> web.Response:
        text = f"User-agent: *\nDisallow: /private/\n\nSitemap: {self.origin}/sitemap.xml\n"
        return web.Response(text=text, content_type="text/plain")

    async def sitemap(self, request: web.Request) -> web.Response:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"  <sitemap><loc>{self.origin}/sitemap-news.xml</loc></sitemap>\n</sitemapindex>\n"
        )
        return web.Response(text=body, content_type="application/xml")

    async def news_sitemap(self, request: web.Request) -> web.Response:
        urls = "".join(
            f"  <url><loc>{self.origin}{p}</loc><news:news><news:publication>"
            "<news:name>Test Gazette</news:name><news:language>en</news:language>"
            "</news:publication><news:publication_date>2026-03-02</news:publication_date>"
            f"<news:title>{html.escape(p)}</news:title></news:news></url>\n"
            for p in self.all_pages()
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
            f"{urls}</urlset>\n"
        )
        return web.Response(text=body, content_type="application/xml")

    async def feed(self, request: web.Request) -> web.Response:
        items = "".join(
            f"<item><title>{html.escape(p)}</title><link>{self.origin}{p}</link></item>\n"
            for p in self.all_pages()
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>Test Gazette</title><link>{self.origin}/</link>\n{items}</channel></rss>\n"
        )
        return web.Response(text=body, content_type="application/rss+xml")

    async def demo_file(self, request: web.Request) -> web.Response:
        rel = request.match_info["path"]
        path = (DEMO / rel).resolve()
        if DEMO not in path.parents or not path.is_file():
            raise web.HTTPNotFound()
        if path.suffix in (".xml", ".txt"):
            return web.Response(text=self._rewrite(path.read_text(encoding="utf-8")),
                                content_type="application/xml")
        return web.FileResponse(path)

    async def more(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n >= self.extra_articles:
            raise web.HTTPNotFound()
        if self.page_delay:
            await asyncio.sleep(self.page_delay)
        source = DEMO / "articles" / ARTICLES[n % len(ARTICLES)]
        text = source.read_text(encoding="utf-8").replace("</h1>", f" (no. {n})</h1>", 1)
        return web.Response(text=text, content_type="text/html")

    async def seed(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.seed_dir is None or name not in ("page.html", "page-js.html"):
            raise web.HTTPNotFound()
        return web.Response(body=(self.seed_dir / name).read_bytes(), content_type="text/html")

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.slow_seconds)
        return web.Response(text="<html><body><p>finally</p></body></html>", content_type="text/html")

    async def error500(self, request: web.Request) -> web.Response:
        return web.Response(status=500, text="<html><body>Internal error</body></html>",
                            content_type="text/html")

    async def download(self, request: web.Request) -> web.Response:
        return web.Response(body=PDF, content_type="application/pdf")

    async def loop(self, request: web.Request) -> web.Response:
        other = "b" if request.match_info["which"] == "a" else "a"
        raise web.HTTPFound(f"/loop/{other}")

    async def huge(self, request: web.Request) -> web.Response:
        para = "<p>" + "All work and no play makes a very long page. " * 20 + "</p>\n"
        body = "<html><body><article>" + para * (HUGE_BYTES // len(para) + 1) + "</article></body></html>"
        return web.Response(text=body, content_type="text/html")

    @web.middleware
    async def count_hits(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        self.hits[request.path] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.count_hits])
        app.add_routes([
            web.get("/", self.index),
            web.get("/robots.txt", self.robots),
            web.get("/sitemap.xml", self.sitemap),
            web.get("/sitemap-news.xml", self.news_sitemap),
            web.get("/feed.xml", self.feed),
            web.get("/seed/{name}", self.seed),
            web.get("/more/{n:\\d+}.html", self.more),
            web.get("/slow", self.slow),
            web.get("/error500", self.error500),
            web.get("/download/report", self.download),
            web.get("/loop/{which:[ab]}", self.loop),
            web.get("/huge", self.huge),
            web.get("/{path:.+}", self.demo_file),
        ])
        return app

    # lifecycle

    def start(self) -> SiteServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._runner = web.AppRunner(self.app(), access_log=None)
                loop.run_until_complete(self._runner.setup())
                site = web.TCPSite(self._runner, "127.0.0.1", 0)
                loop.run_until_complete(site.start())
                port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
                self.origin = f"http://127.0.0.1:{port}"
            except BaseException as exc:  # surface start-up failures to the caller
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="test-site", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
