"""The archive web app's actions and access in real Chromium: crawls, save, export, outages, the
private-archive setting, and every page accessible, without JavaScript and by keyboard."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from server.state import BACKENDS
from tests.kit.extension import keep_on_loopback
from tests.kit.pages import start_site
from tests.kit.webapp import (
    ARTIFACTS,
    Archive,
    axe_violations,
    text_of,
    webapp_settings,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_crawls_page_shows_counts_and_updates_live(page: Page, archive: Archive) -> None:
    from crawler.crawl.definitions import CrawlJob

    job = CrawlJob(archive.settings.data_dir, "evening")
    with job.locked():
        pass  # the run started on this machine and its process is gone: stopped, not running
    await page.goto(archive.url + "/web/crawls")
    run = page.locator(f"#run-{archive.finished_crawl}")
    assert await run.locator('[data-count="pages"]').inner_text() == "7"
    assert await run.locator('[data-count="captured"]').inner_text() == "5"
    assert await run.locator('[data-count="deduplicated"]').inner_text() == "1"
    assert await run.locator('[data-count="rendered"]').inner_text() == "2"
    assert await run.locator('[data-count="errors"]').inner_text() == "1"
    assert "timeout" in await run.locator(".errors").inner_text()
    assert "harbour" in await text_of(page, "table.schedule")
    live = page.locator(f"#run-{archive.live_crawl}")
    assert (await live.locator("[data-state]").text_content() or "").strip() == "stopped"  # nobody holds its lock

    with job.locked():
        await page.goto(archive.url + "/web/crawls")
        assert (await live.locator("[data-state]").text_content() or "").strip() == "running"
        cat = await archive.app[BACKENDS].catalogue()
        await asyncio.to_thread(
            cat.update_crawl, archive.live_crawl,
            {"pages": 41, "captured": 30, "new": 3, "changed": 2, "unchanged": 25},
        )
        await page.locator(f'#run-{archive.live_crawl} [data-count="pages"]').filter(
            has_text="41"
        ).wait_for(timeout=10_000)
        assert await live.locator("[data-checked]").inner_text() == "30 checked: 3 new, 2 changed, 25 unchanged"
        assert await page.locator("[data-live-status]").inner_text() != ""


async def test_save_needs_a_token_and_archives_the_page(page: Page, archive: Archive) -> None:
    await page.goto(archive.url + "/")
    await page.get_by_label("Address to capture").fill(archive.origin + "/news/fresh")
    await page.get_by_label("API token").fill("dcl_not-a-real-token")
    await page.get_by_role("button", name="Capture now").click()
    await page.wait_for_load_state()
    assert "not valid" in await text_of(page, "main")
    assert await page.get_by_label("Address to capture").input_value() == archive.origin + "/news/fresh"
    await page.goto(archive.url + "/")
    await page.get_by_label("Address to capture").fill(archive.origin + "/news/fresh")
    await page.get_by_label("API token").fill(archive.token)
    await page.get_by_role("button", name="Capture now").click()
    await page.wait_for_url(re.compile(r"/web/capture/[^/]+$"))
    assert "A fresh story about the ferry" in await text_of(page, "article.reader h1")


async def test_export_form_downloads_the_captures(browser: Browser, archive: Archive) -> None:
    import json

    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    await page.goto(archive.url + "/web/export")
    await page.get_by_role("button", name="Download").click()
    await page.wait_for_url(re.compile(r"/web/export/download"))
    assert "choose the captures" in await text_of(page, "[role=alert]")

    await page.get_by_label("One address").fill(archive.edited_url)
    await page.get_by_label("JSON Lines").check()
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download").click()
    download = await info.value
    lines = Path(await download.path()).read_text(encoding="utf-8").splitlines()
    ids = {json.loads(line)["id"] for line in lines if line.strip()}
    assert ids == set(archive.edited_ids)
    await context.close()


async def test_export_form_over_the_open_limit_asks_for_a_token(
    browser: Browser, archive: Archive
) -> None:
    import json

    from server.app import create_app

    settings = dataclasses.replace(archive.settings, export_open_limit=1)
    app = create_app(settings, archiver=await archive.app[BACKENDS].archiver())
    runner, url = await start_site(app)
    try:
        context = await browser.new_context(accept_downloads=True)
        page = await context.new_page()
        await page.goto(url + "/web/export")
        await page.get_by_label("One address").fill(archive.edited_url)
        await page.get_by_label("JSON Lines").check()
        await page.get_by_role("button", name="Download").click()
        await page.wait_for_url(re.compile(r"/web/export/download"))
        alert = await text_of(page, "[role=alert]")
        assert "selects 2 captures" in alert and "more than the 1" in alert and "API token" in alert
        assert await axe_violations(page) == []

        await page.get_by_label("API token").fill("dcl_not-a-real-token")
        await page.get_by_role("button", name="Download").click()
        await page.wait_for_load_state()
        assert "not valid" in await text_of(page, "[role=alert]")
        assert await page.get_by_label("One address").input_value() == archive.edited_url

        await page.get_by_label("API token").fill(archive.token)
        async with page.expect_download() as info:
            await page.get_by_role("button", name="Download").click()
        download = await info.value
        lines = Path(await download.path()).read_text(encoding="utf-8").splitlines()
        assert {json.loads(line)["id"] for line in lines if line.strip()} == set(archive.edited_ids)

        # signed in, the same form goes straight to the download (the API reads the cookie)
        await page.goto(url + "/web/login?next=/web/export")
        await page.get_by_label("API token").fill(archive.token)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(re.compile(r"/web/export$"))
        await page.get_by_label("One address").fill(archive.edited_url)
        await page.get_by_label("JSON Lines").check()
        async with page.expect_download() as info:
            await page.get_by_role("button", name="Download").click()
        lines = Path(await (await info.value).path()).read_text(encoding="utf-8").splitlines()
        assert len([line for line in lines if line.strip()]) == 2
        await context.close()
    finally:
        await runner.cleanup()


async def test_storage_down_leaves_catalogue_pages_up(archive: Archive) -> None:
    from crawler.cli.services import free_port
    from server.app import create_app

    catalogue = await archive.app[BACKENDS].catalogue()
    dead = dataclasses.replace(archive.settings, s3_endpoint=f"127.0.0.1:{free_port()}")
    runner, url = await start_site(create_app(dead, catalogue=catalogue))
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(url + f"/web/capture/{archive.reader_id}") as down:
                assert down.status == 503
                assert down.content_type == "text/html"
                assert "unavailable" in await down.text()
            async with client.get(url + "/web/" + archive.edited_url) as history:
                assert history.status == 200
                assert (await history.text()).count('href="/web/capture/') >= 2
            async with client.get(url + "/web/search?q=pier") as search:
                assert search.status == 200 and "<mark>" in await search.text()
    finally:
        await runner.cleanup()


async def test_empty_archive_says_how_to_start(
    browser: Browser, s3_server: Any, tmp_path: Path
) -> None:
    from server.app import create_app

    app = create_app(webapp_settings(s3_server, tmp_path / "empty"))
    runner, url = await start_site(app)
    try:
        context = await browser.new_context(color_scheme="dark", viewport={"width": 360, "height": 740})
        page = await context.new_page()
        await page.goto(url + "/")
        empty = await text_of(page, ".empty")
        assert "declutter token create" in empty and "declutter crawl NAME" in empty
        assert await axe_violations(page) == []
        await page.screenshot(path=str(_artifact("home-empty-dark-360.png")), full_page=True)
        await context.close()
    finally:
        await runner.cleanup()


async def test_app_wide_token_setting_locks_every_page(
    browser: Browser, archive: Archive, s3_server: Any
) -> None:
    from server.app import create_app

    settings = dataclasses.replace(archive.settings, require_token_for_app=True)
    app = create_app(settings, archiver=await archive.app[BACKENDS].archiver())
    runner, url = await start_site(app)
    try:
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(url + f"/web/capture/{archive.reader_id}")
        assert "/web/login" in page.url
        assert archive.reader_title not in await text_of(page, "body")
        await page.get_by_label("API token").fill("dcl_wrong")
        await page.get_by_role("button", name="Sign in").click()
        assert "not valid" in await text_of(page, "main")
        await page.get_by_label("API token").fill(archive.token)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"**/web/capture/{archive.reader_id}")
        assert archive.reader_title in await text_of(page, "article.reader h1")
        # signed in, the API's raw page opens in the browser; without the cookie it does not
        raw_url = url + f"/api/v1/captures/{archive.script_id}/raw"
        response = await page.goto(raw_url)
        assert response is not None and response.status == 200
        await context.close()
        async with aiohttp.ClientSession() as client:
            async with client.get(raw_url) as anonymous:
                assert anonymous.status == 401
                assert (await anonymous.json())["error"] == "unauthorized"
            async with client.get(url + "/web/search?q=pier", allow_redirects=False) as redirected:
                assert redirected.status == 303
                assert redirected.headers["Location"].startswith("/web/login?next=")
            async with client.get(
                raw_url, headers={"Authorization": f"Bearer {archive.token}"}
            ) as bearer:
                assert bearer.status == 200
            async with client.get(url + "/healthz") as health:
                assert health.status in {200, 503}
    finally:
        await runner.cleanup()


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


async def test_every_page_is_accessible_and_photographed(browser: Browser, archive: Archive) -> None:
    old_id, new_id = archive.edited_ids
    pages = {
        "home": "/",
        "search": "/web/search?q=peace+talks",
        "history": "/web/" + archive.edited_url,
        "listing": "/web/*/" + archive.origin.split("://", 1)[1] + "/news/*",
        "capture": f"/web/capture/{archive.reader_id}",
        "raw": f"/web/capture/{archive.script_id}/raw",
        "compare": f"/web/compare?a={old_id}&b={new_id}",
        "compare-inline": f"/web/compare?a={old_id}&b={new_id}&view=inline",
        "crawls": "/web/crawls",
        "export": "/web/export",
        "not-found": "/web/capture/no-such-capture",
    }
    problems: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        for label, viewport in (("desktop", (1280, 900)), ("360", (360, 740))):
            context = await browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                color_scheme=scheme,
                reduced_motion="reduce",
            )
            await context.route("**/*", keep_on_loopback)
            page = await context.new_page()
            for name, path in pages.items():
                await page.goto(archive.url + path)
                if scheme == "light" or label == "360":
                    found = await axe_violations(page)
                    if found:
                        problems[f"{name} ({scheme}, {label})"] = found
                if label == "360":
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    assert width <= 360, f"{name} scrolls sideways at 360 px ({width} px wide)"
                await page.screenshot(
                    path=str(_artifact(f"{name}-{scheme}-{label}.png")), full_page=label == "360"
                )
            await context.close()
    assert not problems, problems


async def test_pages_work_with_javascript_off(browser: Browser, archive: Archive) -> None:
    context = await browser.new_context(java_script_enabled=False)
    await context.route("**/*", keep_on_loopback)
    page = await context.new_page()
    await page.goto(archive.url + "/")
    await page.get_by_label("Words or phrase").fill("harbour pier")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url(re.compile(r"/web/search\?q=harbour\+pier"))
    await page.locator("ol.hits h3 a", has_text="The future of the old pier").first.click()
    await page.wait_for_url(re.compile(r"/web/capture/"))
    await page.get_by_role("link", name="All captures of this address").click()
    await page.wait_for_url("**/web/" + archive.edited_url)
    await page.locator("ol.timeline > li.changed a.cmp").click()
    assert await page.locator("ins").count() >= 1
    await page.go_back()
    assert await page.locator("ol.timeline > li").count() == 2
    await context.close()


async def test_keyboard_reaches_search_and_skip_link(page: Page, archive: Archive) -> None:
    await page.goto(archive.url + "/")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to content"
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "q"
    landmarks = await page.evaluate(
        "['header', 'nav', 'main', 'footer'].map(s => document.querySelectorAll(s).length)"
    )
    assert landmarks[2] == 1 and all(landmarks)
    levels = await page.evaluate(
        "[...document.querySelectorAll('h1,h2,h3,h4')].map(h => +h.tagName[1])"
    )
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
