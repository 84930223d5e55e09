"""The capture page replays a capture in ReplayWeb.page (``make replaywebpage``), in real Chromium.

The real server on real storage (SeaweedFS + SQLite) holds one article captured from an address
that is never served: every request off loopback is refused, so what the replay frame shows can
only have come from the capture's own WACZ (``/api/v1/captures/{id}/wacz``, the exporter's). The
capture page keeps the app's strict policy; ReplayWeb.page's looser one is only on its path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Frame, Page, async_playwright

from server.state import BACKENDS
from tests.kit.extension import LOOPBACK_RESOLVER_RULES, chromium_path, keep_on_loopback
from tests.kit.pages import start_site
from tests.kit.settings import settings_for
from tests.kit.text import collapse

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

# Never served by anyone: only the archive can answer for it.
ARTICLE_URL = "https://harbour-gazette.example/news/ferry-timetable"
TITLE = "The winter ferry timetable"
PARAGRAPHS = [
    "The ferry company published its winter timetable on Thursday, cutting the early crossing "
    "to the island and adding a late boat on Fridays for the first time since 2019.",
    "Islanders who work on the mainland said the change would cost them an hour each morning, "
    "and the community council has asked the company to keep the early boat until spring.",
    "The company said fewer than a dozen passengers used the early crossing most days and that "
    "the crew hours it frees will pay for the Friday service.",
]


def article_page() -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title></head>'
        f"<body><main><article><h1>{TITLE}</h1>{body}</article></main></body></html>"
    )


def _capture(html: str) -> Any:
    from crawler.snapshot.capture import Capture

    return Capture(
        url=ARTICLE_URL,
        status=200,
        body=html.encode("utf-8"),
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        request_headers=[("User-Agent", "declutter-tests")],
        reason="OK",
    )


def _require_replaywebpage() -> None:
    from server.web.replay import APP_DIR, available

    if not available():
        message = f"{APP_DIR} is missing: `make replaywebpage` unpacks it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
async def served(s3_server: Any) -> AsyncIterator[dict[str, Any]]:
    """The server over an archive holding the article twice (the second capture a revisit)."""
    from crawler.archive import Archiver
    from crawler.snapshot.capture import Capture
    from server.app import create_app

    data_dir = Path(tempfile.mkdtemp(prefix="declutter-replay-"))
    settings = settings_for(s3_server, data_dir, rate_limit=0)
    archiver = await asyncio.to_thread(Archiver.from_settings, settings)
    first = await asyncio.to_thread(archiver.archive, _capture(article_page()))
    again = await asyncio.to_thread(archiver.archive, _capture(article_page()))
    reader = await asyncio.to_thread(
        archiver.archive, Capture.from_reader(ARTICLE_URL + "?p=2", article_page(), "fetch_failed: test")
    )
    app = create_app(settings, archiver=archiver)
    runner, url = await start_site(app)
    yield {
        "app": app, "settings": settings,
        "url": url, "first": first.capture_id, "again": again.capture_id, "revisit": again.revisit,
        "reader": reader.capture_id,
    }
    await runner.cleanup()
    await asyncio.to_thread(archiver.close)
    shutil.rmtree(data_dir, ignore_errors=True)


async def _wacz(url: str) -> tuple[int, dict[str, bytes]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.read()
        if response.status != 200:
            return response.status, {}
        assert response.headers["Content-Type"] == "application/wacz"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return 200, {name: archive.read(name) for name in archive.namelist()}


async def test_a_captures_wacz_holds_it_alone_and_a_revisits_original(served: dict[str, Any]) -> None:
    status, files = await _wacz(f"{served['url']}/api/v1/captures/{served['first']}/wacz")
    assert status == 200
    pages = [json.loads(line) for line in files["pages/pages.jsonl"].splitlines()[1:]]
    assert [page["id"] for page in pages] == [served["first"]]
    assert PARAGRAPHS[0] in pages[0]["text"]
    index = files["indexes/index.cdx"].decode().splitlines()
    assert [line.split(" ", 2)[0] for line in index] == ["example,harbour-gazette)/news/ferry-timetable"]

    assert served["revisit"], "the second capture of the same bytes should be a revisit"
    status, files = await _wacz(f"{served['url']}/api/v1/captures/{served['again']}/wacz")
    pages = [json.loads(line) for line in files["pages/pages.jsonl"].splitlines()[1:]]
    assert [page["id"] for page in pages] == [served["again"]], "only the chosen capture is a page"
    records = [json.loads(line.split(" ", 2)[2]) for line in files["indexes/index.cdx"].decode().splitlines()]
    assert sorted(record.get("mime") for record in records) == ["text/html", "warc/revisit"]

    status, _ = await _wacz(f"{served['url']}/api/v1/captures/no-such-capture/wacz")
    assert status == 404


async def test_a_capture_with_no_response_offers_its_source_html_instead(served: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{served['url']}/web/capture/{served['reader']}") as response:
            html = await response.text()
    assert 'class="replay"' not in html and "holds no response from the site to replay" in html
    assert f'href="/web/capture/{served["reader"]}/raw"' in html


async def _replayed_frame(page: Page, timeout: float = 60.0) -> Frame:
    """The frame ReplayWeb.page shows the archived page in (``.../<timestamp>mp_/<url>``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for frame in page.frames:
            if "mp_/" in frame.url and frame.url.endswith(ARTICLE_URL):
                return frame
        await asyncio.sleep(0.25)
    raise AssertionError(f"no replay frame after {timeout} s; frames: {[f.url for f in page.frames]}")


async def _replay_in_chromium(url: str, capture_id: str, token: str = "") -> None:
    """Open the capture page (signed in first with ``token``) and check what its replay shows."""
    from server.web.pages import PAGE_CSP

    args = [f"--host-resolver-rules={LOOPBACK_RESOLVER_RULES}"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=args)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.route("**/*", keep_on_loopback)
            page = await context.new_page()
            refused: list[str] = []  # what any policy blocked, in any frame
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            if token:
                await page.goto(f"{url}/web/login?next=/web/capture/{capture_id}")
                await page.get_by_label("API token").fill(token)
                await page.get_by_role("button", name="Sign in").click()
                await page.wait_for_url(f"**/web/capture/{capture_id}")
            response = await page.goto(f"{url}/web/capture/{capture_id}")
            assert response is not None and response.headers["content-security-policy"] == PAGE_CSP

            frame_element = page.locator("iframe.replay")
            await frame_element.scroll_into_view_if_needed()
            app = await (await frame_element.element_handle()).content_frame()
            assert app is not None
            await app.wait_for_load_state("load")
            replayed = await _replayed_frame(page)
            assert replayed.url.startswith(f"{url}/web/replay/w/"), replayed.url
            await replayed.locator("article p").first.wait_for(timeout=30_000)
            text = collapse(await replayed.locator("article").inner_text())
            assert TITLE in text and all(p in text for p in PARAGRAPHS), text

            registration = await app.evaluate(
                "async () => { const r = await navigator.serviceWorker.getRegistration();"
                " return r ? r.scope : null; }"
            )
            assert registration == f"{url}/web/replay/"
            assert refused == []
        finally:
            await browser.close()


async def test_the_capture_page_replays_the_article_from_its_wacz(served: dict[str, Any]) -> None:
    from server.web.replay import REPLAY_CSP

    _require_replaywebpage()
    await _replay_in_chromium(served["url"], served["first"])
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{served['url']}/web/replay/") as response:
            assert response.headers["Content-Security-Policy"] == REPLAY_CSP
        async with session.get(f"{served['url']}/web/replay/index.js") as response:
            assert response.status == 404, "only the app's own files are served from its path"


async def test_a_private_archive_does_not_replay(served: dict[str, Any]) -> None:
    """A replayed page runs on the server's origin, so in a private archive it would run as the
    signed-in reader: the capture page says replay is off and the replay app is not served."""
    from server.app import create_app
    from server.auth import TokenStore

    app = served["app"]
    settings = dataclasses.replace(served["settings"], require_token_for_app=True)
    token = TokenStore.from_settings(settings).create("replay-tests")
    runner, url = await start_site(create_app(settings, archiver=await app[BACKENDS].archiver()))
    signed_in = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/api/v1/captures/{served['first']}/wacz") as response:
                assert response.status == 401, "a private archive's WACZ needs the token"
            async with session.get(f"{url}/web/capture/{served['first']}", headers=signed_in) as response:
                assert response.status == 200
                page = await response.text()
            assert "Replay is off in a private archive" in page
            assert "/web/replay/" not in page
            for path in ("/web/replay/", "/web/replay/sw.js", "/web/replay/ui.js"):
                async with session.get(f"{url}{path}", headers=signed_in) as response:
                    assert response.status == 404, path
    finally:
        await runner.cleanup()
