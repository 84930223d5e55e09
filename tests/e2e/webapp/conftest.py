"""The web app's browser tests: one archive and one Chromium for the whole package.

The archive is filled through ``Archiver.archive`` (the one write path) on real SeaweedFS and
SQLite, then served by the real server; each test opens its own pages.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from tests.kit.extension import LOOPBACK_RESOLVER_RULES, chromium_path, keep_on_loopback
from tests.kit.pages import start_site
from tests.kit.paths import SHARED
from tests.kit.webapp import (
    PARAGRAPHS_V1,
    PARAGRAPHS_V2,
    SCRIPT_TITLE,
    TELLTALE_SCRIPT,
    Archive,
    article_page,
    capture_of,
    webapp_settings,
)


@pytest.fixture(scope="package")
async def origin_site() -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A loopback site serving the fixture pages (what /web/save fetches, and the script control).

    The seed article joins them when ../shared is there; only the test that checks its text needs
    it (and that test goes through ``shared_path``, so it skips, or fails in CI, without it).
    """
    pages = {
        "/news/pier": article_page("The future of the old pier", PARAGRAPHS_V1),
        "/news/tides": article_page(SCRIPT_TITLE, PARAGRAPHS_V1[:4], TELLTALE_SCRIPT),
        "/news/fresh": article_page("A fresh story about the ferry", PARAGRAPHS_V1[1:]),
    }
    seed_page = SHARED / "fixtures" / "seed-article" / "page.html"
    if seed_page.exists():
        pages["/news/seed-article"] = seed_page.read_text(encoding="utf-8")

    async def handler(request: web.Request) -> web.Response:
        body = pages.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner, url = await start_site(app)
    yield url, pages
    await runner.cleanup()


@pytest.fixture(scope="package")
async def archive(s3_server: Any, origin_site: tuple[str, dict[str, str]]) -> AsyncIterator[Archive]:
    """The real server over an archive filled through ``Archiver.archive``, the one write path."""
    from crawler.archive import Archiver
    from server.app import create_app
    from server.auth import TokenStore

    origin, pages = origin_site
    data_dir = Path(tempfile.mkdtemp(prefix="declutter-webapp-"))
    settings = webapp_settings(s3_server, data_dir, allowed_fetch_hosts=[urlsplit(origin).netloc])
    (data_dir / "crawls.toml").write_text(
        '[crawls.harbour]\nspider = "urls"\nseeds = ["https://example.org/news"]\n'
        'schedule = "0 6 * * *"\n',
        encoding="utf-8",
    )
    archiver = await asyncio.to_thread(Archiver.from_settings, settings)
    catalogue = archiver.catalogue

    def fill() -> dict[str, Any]:
        seed_url = origin + "/news/seed-article"
        edited_url = origin + "/news/pier"
        seed = None
        if "/news/seed-article" in pages:
            seed = archiver.archive(capture_of(seed_url, pages["/news/seed-article"]))
        v1 = archiver.archive(
            capture_of(edited_url, pages["/news/pier"], datetime(2025, 3, 2, 9, 30, tzinfo=UTC))
        )
        v2 = archiver.archive(
            capture_of(
                edited_url,
                article_page("The future of the old pier", PARAGRAPHS_V2),
                datetime(2025, 4, 11, 17, 5, tzinfo=UTC),
            )
        )
        script = archiver.archive(capture_of(origin + "/news/tides", pages["/news/tides"]))
        archiver.archive(
            capture_of(origin + "/news/item?id=7&lang=en", article_page("Ferry timetable", PARAGRAPHS_V1))
        )
        finished = catalogue.start_crawl("harbour")
        catalogue.finish_crawl(
            finished,
            {"pages": 7, "captured": 5, "deduplicated": 1, "rendered": 2, "no_article": 0,
             "errors": 1, "errors.timeout": 1, "skipped": 0},
        )
        live = catalogue.start_crawl("evening")
        catalogue.update_crawl(live, {"pages": 3, "captured": 2, "errors": 0})
        return {
            "seed": seed, "v1": v1, "v2": v2, "script": script,
            "finished": finished, "live": live,
        }

    made = await asyncio.to_thread(fill)
    assert made["v2"].change is not None, "the edited page's second capture recorded no change"
    token = TokenStore.from_settings(settings).create("webapp-tests")
    app = create_app(settings, archiver=archiver)
    runner, url = await start_site(app)
    reader = made["seed"] or made["v2"]
    reader_row = await asyncio.to_thread(catalogue.get_capture, reader.capture_id)
    yield Archive(
        url=url,
        token=token,
        app=app,
        settings=settings,
        origin=origin,
        seed_id=made["seed"].capture_id if made["seed"] else "",
        reader_id=reader.capture_id,
        reader_title=reader_row.title or "",
        edited_url=origin + "/news/pier",
        edited_ids=(made["v1"].capture_id, made["v2"].capture_id),
        script_id=made["script"].capture_id,
        script_page=origin + "/news/tides",
        finished_crawl=made["finished"],
        live_crawl=made["live"],
    )
    await runner.cleanup()
    await asyncio.to_thread(archiver.close)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    import os

    args = [f"--host-resolver-rules={LOOPBACK_RESOLVER_RULES}"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=args
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    await context.route("**/*", keep_on_loopback)
    page = await context.new_page()
    yield page
    await context.close()
