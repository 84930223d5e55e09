"""Every request a rendered page makes (scripts, images, styles, fetch(), a worker's fetch) names
the crawler with its configured user agent, never HeadlessChrome."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from crawler.archive import Archiver
from crawler.crawl.settings import user_agent
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.site import SiteServer

PARAGRAPHS = "".join(
    f"<p>Paragraph {n}: the ferry timetable changes in spring, and the harbour office explains "
    "why the early crossing moves by twenty minutes.</p>" for n in range(12)
)
PAGE = (
    "<!doctype html><html><head><title>Agent probe</title>"
    '<link rel="stylesheet" href="/ua/style.css"><script src="/ua/script.js"></script></head>'
    f'<body><article><h1>Agent probe</h1>{PARAGRAPHS}<img src="/ua/image.png" alt=""></article>'
    '<iframe src="/ua/frame.html"></iframe><link rel="prefetch" href="/ua/prefetch.json">'
    "<script>fetch('/ua/data.json'); new Worker('/ua/worker.js'); window.open('/ua/popup.html');"
    "</script></body></html>"
)
ASSETS = {
    "style.css": ("body { background: url(/ua/background.png) }", "text/css"),
    "script.js": ("window.probe = 1;", "application/javascript"),
    "worker.js": ("fetch('/ua/from-worker.json');", "application/javascript"),
    "data.json": ("{}", "application/json"),
    "prefetch.json": ("{}", "application/json"),
    "frame.html": ("<p>a frame <img src=/ua/frame.png></p>", "text/html"),
    "popup.html": ("<p>a popup <img src=/ua/popup.png></p>", "text/html"),
    "from-worker.json": ("{}", "application/json"),
}
SUBRESOURCES = {"/ua/style.css", "/ua/script.js", "/ua/image.png", "/ua/data.json",
                "/ua/frame.html"}


class AgentSite(SiteServer):
    """The test site, noting the User-Agent of every request under /ua/."""

    def __init__(self) -> None:
        super().__init__(None)
        self.agents: dict[str, set[str]] = {}

    async def probe(self, request: web.Request) -> web.Response:
        self.agents.setdefault(request.path, set()).add(request.headers.get("User-Agent", ""))
        name = request.match_info["name"]
        if name == "page.html":
            return web.Response(text=PAGE, content_type="text/html")
        if name in ASSETS:
            body, ctype = ASSETS[name]
            return web.Response(text=body, content_type=ctype)
        return web.Response(body=b"\x89PNG\r\n\x1a\n", content_type="image/png")

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_get("/ua/{name}", self.probe)
        return app


@pytest.fixture(scope="module")
def agent_site() -> Iterator[AgentSite]:
    server = AgentSite().start()
    yield server
    server.stop()


def test_every_request_of_a_render_carries_the_configured_user_agent(
    agent_site: AgentSite, crawl_env: Any, tmp_path: Path
) -> None:
    settings, _, run = crawl_env()
    fields = crawl_def("urls", [agent_site.url("/ua/page.html")], render="always")
    crawls = write_crawls(tmp_path / "crawls.toml", {"ua": fields})
    result = run("ua", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    with Archiver.from_settings(settings) as archiver:
        rows, _ = archiver.catalogue.list_captures(limit=5)
    assert len(rows) == 1 and rows[0].rendered, rows
    expected = user_agent(settings)
    assert SUBRESOURCES <= set(agent_site.agents), agent_site.agents
    wrong = {path: agents for path, agents in agent_site.agents.items() if agents != {expected}}
    assert not wrong, f"expected {expected!r} on every request: {wrong}"
