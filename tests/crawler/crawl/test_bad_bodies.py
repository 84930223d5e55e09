"""A body no HTML page has, served as text/html, is counted as not HTML and not stored as a page
with no article; a real page with no article is stored with its title."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from crawler.archive import Archiver
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.site import PDF, SiteServer

ARTICLE = "/articles/school-robotics-final.html"


class DisguisingSite(SiteServer):
    """The test site, also serving a PDF and raw bytes that say they are HTML."""

    async def listing(self, request: web.Request) -> web.Response:
        links = "".join(f'<li><a href="/more/{n}.html">Story {n}</a></li>' for n in range(5))
        body = f"<html><head><title>All the stories</title></head><body><ul>{links}</ul></body></html>"
        return web.Response(text=body, content_type="text/html")

    async def disguised(self, request: web.Request) -> web.Response:
        body = PDF if request.match_info["kind"] == "pdf" else b"<p>" + bytes(range(256)) * 8
        return web.Response(body=body, content_type="text/html")

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_get("/disguised/{kind}", self.disguised)
        app.router.add_get("/listing", self.listing)
        return app


@pytest.fixture(scope="module")
def disguising_site() -> Iterator[DisguisingSite]:
    server = DisguisingSite(None).start()
    yield server
    server.stop()


def test_binary_bodies_served_as_html_are_counted_as_not_html(
    disguising_site: DisguisingSite, crawl_env: Any, tmp_path: Path
) -> None:
    settings, _, run = crawl_env()
    seeds = [disguising_site.url(p) for p in (ARTICLE, "/disguised/pdf", "/disguised/raw")]
    crawls = write_crawls(tmp_path / "crawls.toml", {"b": crawl_def("urls", seeds, render="never")})
    result = run("b", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    with Archiver.from_settings(settings) as archiver:
        rows, _ = archiver.catalogue.list_captures(limit=10)
        counts = archiver.catalogue.list_crawls()[0].counts
    assert [row.url for row in rows] == [disguising_site.url(ARTICLE)], [row.url for row in rows]
    assert counts["skipped.not_html"] == 2 and counts["no_article"] == 0, counts
    assert counts["pages"] == 3 and counts["captured"] == 1, counts
    assert sorted(counts["urls"]["skipped.not_html"]) == sorted(seeds[1:]), counts["urls"]


def test_a_page_with_no_article_keeps_its_title(
    disguising_site: DisguisingSite, crawl_env: Any, tmp_path: Path
) -> None:
    settings, _, run = crawl_env()
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "l": crawl_def("urls", [disguising_site.url("/listing")], render="never")})
    result = run("l", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    with Archiver.from_settings(settings) as archiver:
        rows, _ = archiver.catalogue.list_captures(limit=10)
        counts = archiver.catalogue.list_crawls()[0].counts
        article = archiver.read_article(rows[0].id)
    assert counts["no_article"] == 1 and counts["captured"] == 1, counts
    assert len(rows) == 1 and rows[0].title == "All the stories", rows
    assert article.title == "All the stories" and not article.text, article
