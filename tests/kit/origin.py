"""Pytest plugin (registered by tests/conftest.py): a loopback origin site, and a resolver that
answers only test names.

Nothing here resolves a name through real DNS: a server or fetcher given ``NamesResolver`` knows
only the names a test gives it, so a fuzzer's random host names never leave the machine. The
``origin`` and ``other_origin`` fixtures serve a small news site on 127.0.0.1 (session scope) for
the fetcher's tests and the API's.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from tests.kit.paths import SHARED


class NamesResolver(AbstractResolver):
    """Resolves only the names it was given; any other name fails as an unknown host would."""

    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = {"localhost": ["127.0.0.1"], **(names or {})}
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        addresses = self.names.get(host.lower().rstrip("."))
        if addresses is None:
            try:
                # Numeric spellings (0x7f000001, 127.1) resolve without DNS: inet_aton reads them.
                addresses = [socket.inet_ntoa(socket.inet_aton(host))]
            except OSError:
                raise OSError(socket.EAI_NONAME, f"{host} is not a test host name") from None
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def article_html(title: str, paragraphs: list[str], *, extra: str = "") -> str:
    body = "\n".join(f"<p>{text}</p>" for text in paragraphs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | The Test Gazette</title>
<meta property="og:site_name" content="The Test Gazette">
<meta name="author" content="Ada Reporter"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<main><article><h1>{title}</h1><p class="byline">By Ada Reporter</p>
{body}{extra}</article></main>
<footer>Copyright The Test Gazette. <a href="/privacy">Privacy</a></footer></body></html>"""


PARAGRAPHS = [
    "The river council met on Tuesday evening to discuss the long-delayed footbridge, a project "
    "that residents on both banks have been promised for more than a decade.",
    "Engineers presented three designs, each balancing cost against the need to keep the channel "
    "open for the barges that still carry grain downstream in the autumn months.",
    "Several speakers urged the council to choose the lightest structure, arguing that a slender "
    "deck would spoil the view from the old mill far less than the heavier options.",
    "Others warned that the cheapest design had not been tested against spring floods, which "
    "last year rose higher than any measurement recorded since the mill was built.",
    "The council agreed to publish all three proposals in full and to hold a public vote at the "
    "library next month, with the final decision expected before the end of the year.",
]


@dataclass
class Origin:
    """A small news site on 127.0.0.1 that records every request it gets."""

    url: str
    port: int
    hits: list[str] = field(default_factory=list)

    def page(self, path: str) -> str:
        return f"{self.url}{path}"


def origin_app(
    origin_hits: list[str], seed: bytes | None, seed_js: bytes | None = None
) -> web.Application:
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        origin_hits.append(request.path_qs)
        return await handler(request)

    async def article(request: web.Request) -> web.Response:
        version = request.query.get("v", "1")
        paragraphs = list(PARAGRAPHS)
        if version == "2":
            paragraphs[2] = paragraphs[2].replace("slender", "graceful steel")
        return web.Response(
            text=article_html("Council weighs footbridge designs", paragraphs),
            content_type="text/html",
        )

    async def seed_page(request: web.Request) -> web.Response:
        if seed is None:
            raise web.HTTPNotFound()
        return web.Response(body=seed, content_type="text/html", charset="utf-8")

    async def seed_js_page(request: web.Request) -> web.Response:
        if seed_js is None:
            raise web.HTTPNotFound()
        return web.Response(body=seed_js, content_type="text/html", charset="utf-8")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def chain(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n <= 0:
            raise web.HTTPFound("/article")
        raise web.HTTPFound(f"/chain/{n - 1}")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"<p>" + b"x" * (3 * 1024 * 1024), content_type="text/html")

    async def compressed(request: web.Request) -> web.Response:
        body = gzip.compress(article_html("Zipped", PARAGRAPHS).encode() + b" " * 100_000)
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}
        )

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.Response(text="late")

    async def nothing(request: web.Request) -> web.Response:
        return web.Response(text="<html><body><ul><li>a</li></ul></body></html>", content_type="text/html")

    app = web.Application(middlewares=[web.middleware(record)])
    app.add_routes(
        [
            web.get("/article", article),
            web.get("/seed", seed_page),
            web.get("/seed-js", seed_js_page),
            web.get("/redirect", redirect),
            web.get("/chain/{n}", chain),
            web.get("/big", big),
            web.get("/gzip", compressed),
            web.get("/slow", slow),
            web.get("/empty", nothing),
        ]
    )
    return app


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def seed_bytes(name: str = "page.html") -> bytes | None:
    """A seed page's bytes from ../shared, or None when it is absent (its routes then 404)."""
    path = SHARED / "fixtures" / "seed-article" / name
    return path.read_bytes() if path.exists() else None


@pytest.fixture(scope="session")
async def origin() -> AsyncIterator[Origin]:
    hits: list[str] = []
    async with serve(origin_app(hits, seed_bytes(), seed_bytes("page-js.html"))) as port:
        yield Origin(url=f"http://127.0.0.1:{port}", port=port, hits=hits)


@pytest.fixture(scope="session")
async def other_origin() -> AsyncIterator[Origin]:
    """A second loopback site the guard is NOT told to allow."""
    hits: list[str] = []
    async with serve(origin_app(hits, None)) as port:
        yield Origin(url=f"http://127.0.0.1:{port}", port=port, hits=hits)
