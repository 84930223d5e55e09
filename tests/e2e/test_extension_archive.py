"""The extension's archive controls in real Chromium: Save snapshot, the states it explains, Versions."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from crawler.cli.services import free_port
from tests.kit.extension import (
    Reader,
    configure,
    forget,
    save_artifact,
    wait_for_state,
)
from tests.kit.pages import page_app, start_site

pytestmark = pytest.mark.e2e



async def _visible_toast(reader: Reader) -> dict:
    """The save result as a sighted reader sees it: shown, with its text, links and buttons."""
    return await reader.shadow.call(
        """function () {
            const toast = this.querySelector('.toast');
            if (!toast || toast.hidden || !toast.getClientRects().length) return null;
            const box = toast.getBoundingClientRect();
            if (box.width < 100 || box.height < 10 || box.bottom <= 0 || box.top >= innerHeight) return null;
            return {
                kind: toast.dataset.kind,
                text: toast.textContent,
                links: [...toast.querySelectorAll('a')].map((a) => a.href),
                buttons: [...toast.querySelectorAll('button')].map((b) => b.textContent),
            };
        }"""
    ) or {"kind": None, "text": "", "links": [], "buttons": []}


async def _wait_for(reader: Reader, function: str, tries: int = 100):
    for _ in range(tries):
        value = await reader.shadow.call(function)
        if value:
            return value
        await reader.page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {function}")




async def test_save_snapshot_creates_a_capture_the_server_lists(
    reader: Reader, page_site: str, seed_dir: Path
) -> None:
    page = reader.page
    url = f"{page_site}/seed/page.html"
    await reader.goto(url)
    assert await reader.open() == "ready"
    await reader.shadow.click("[data-action=save]")
    state, _ = await wait_for_state(page, "saved", "save-failed", timeout=30_000)
    assert state == "saved", await reader.shadow.text(".status")

    async with aiohttp.ClientSession() as client:
        async with client.get(f"{reader.server.url}/api/v1/captures", params={"url": url}) as response:
            assert response.status == 200
            listed = (await response.json())["captures"]
    assert [c["url"] for c in listed] == [url]
    assert listed[0]["title"].startswith("Ukraine discussing")
    toast = await _visible_toast(reader)
    assert toast["kind"] == "ok" and "Snapshot saved" in toast["text"]
    assert toast["links"] == [f"{reader.server.url}/web/capture/{listed[0]['id']}"]

    await reader.shadow.click("[data-action=versions]")
    await page.wait_for_timeout(50)
    entries = await _wait_for(reader, "function () { return [...this.querySelectorAll('.version-list li button')].map((b) => b.dataset.id); }")
    assert entries == [listed[0]["id"]]
    await reader.shadow.click(".version-list li button")
    state, _ = await wait_for_state(page, "archived")
    assert "Archived copy from" in await reader.shadow.text(".notice")
    assert "Directly at these hours" in await reader.shadow.text(".body")
    cite = await reader.shadow.call(
        "function () { const a = this.querySelector('.notice a.cite'); return a && [a.textContent, a.href]; }"
    )
    assert cite == ["Cite this capture", f"{reader.server.url}/web/capture/{listed[0]['id']}#cite-heading"]


async def test_friendly_states(reader: Reader, page_site: str) -> None:
    page = reader.page
    await reader.goto(f"{page_site}/empty.html")
    assert await reader.open("failed") == "failed:no-article"
    assert "No article found" in await reader.shadow.text()
    await page.keyboard.press("Escape")

    await reader.goto(f"{page_site}/large.html")
    assert await reader.open("failed") == "failed:too-large"
    assert "too large" in await reader.shadow.text()
    await page.keyboard.press("Escape")

    await reader.goto(f"{page_site}/tall.html")
    await forget(reader.worker, "token")
    assert await reader.open() == "ready"
    await reader.shadow.click("[data-action=save]")
    state, _ = await wait_for_state(page, "save-failed")
    assert state == "save-failed:token-missing"
    assert "declutter token create" in await reader.shadow.text(".status")
    toast = await _visible_toast(reader)
    assert toast["kind"] == "error" and "declutter token create" in toast["text"]
    assert "Open options" in toast["buttons"]
    await page.keyboard.press("Escape")

    # A page on an origin the server may not fetch from: the snapshot keeps what the browser shows.
    await configure(reader.worker, token=reader.server.token)
    runner, elsewhere = await start_site(page_app(None))
    try:
        url = f"{elsewhere}/tall.html"
        await reader.goto(url)
        assert await reader.open() == "ready"
        await reader.shadow.click("[data-action=save]")
        state, _ = await wait_for_state(page, "saved", "save-failed", timeout=30_000)
        assert state == "saved", await reader.shadow.text(".status")
        assert "as your browser shows the page" in await reader.shadow.text(".status")
        async with aiohttp.ClientSession() as client:
            async with client.get(f"{reader.server.url}/api/v1/captures", params={"url": url}) as response:
                listed = (await response.json())["captures"]
        assert [(c["source"], c["status"]) for c in listed] == [("reader", 0)]
        assert listed[0]["fetch_error"].startswith("fetch_refused:")
        await page.keyboard.press("Escape")
    finally:
        await runner.cleanup()

    await reader.goto(f"{page_site}/tall.html")
    await configure(reader.worker, server=f"http://127.0.0.1:{free_port()}")
    assert await reader.open("failed") == "failed:unreachable"
    text = await reader.shadow.text()
    assert "Can't reach the Declutter server" in text and "Open options" in text


async def test_versions_mark_an_edited_article_and_show_the_diff(reader: Reader) -> None:
    page = reader.page
    # On an origin the server may not fetch, the page as the browser shows it is what is archived,
    # so an edit made here is a new version (where the server can fetch, its own copy is).
    runner, elsewhere = await start_site(page_app(None))
    try:
        await reader.goto(f"{elsewhere}/tall.html")
        for edit in (None, "The harbour board met on Tuesday evening to decide the future of the old ferry pier,"):
            if edit:
                await page.evaluate(
                    "(text) => { document.querySelector('article p').textContent = text; }", edit
                )
            assert await reader.open() == "ready"
            await reader.shadow.click("[data-action=save]")
            state, _ = await wait_for_state(page, "saved", "save-failed", timeout=30_000)
            assert state == "saved", await reader.shadow.text(".status")
            await page.keyboard.press("Escape")
    finally:
        await runner.cleanup()

    assert await reader.open() == "ready"
    await reader.shadow.click("[data-action=versions]")
    marks = await _wait_for(
        reader,
        "function () { const items = [...this.querySelectorAll('.version-list li')];"
        " return items.length === 2 ? items.map((li) => li.querySelector('.mark')?.textContent ?? null) : null; }",
    )
    assert marks[1] is None, "the first capture cannot have changed"
    # "commission" became "board" and the rest of that paragraph (16 words) went
    assert marks[0] is not None and "Changed +1 −17 words" in marks[0], marks
    save_artifact("overlay-versions.png", await page.screenshot())
    await reader.shadow.click(".version-list li .mark button[data-do=diff]")
    await wait_for_state(page, "diff")
    changed = await reader.shadow.call(
        "function () { return { ins: [...this.querySelectorAll('.diff-body ins')].map((e) => e.textContent.trim()),"
        " del: [...this.querySelectorAll('.diff-body del')].map((e) => e.textContent.trim()) }; }"
    )
    assert "board" in " ".join(changed["ins"]) and "commission" in " ".join(changed["del"]), changed
    save_artifact("overlay-diff.png", await page.screenshot())


async def test_versions_open_in_view_in_a_narrow_window(reader: Reader, page_site: str) -> None:
    page = reader.page
    size = page.viewport_size
    await page.set_viewport_size({"width": 480, "height": 800})
    try:
        await reader.goto(f"{page_site}/tall.html")
        assert await reader.open() == "ready"
        await reader.shadow.click("[data-action=versions]")
        place = await _wait_for(
            reader,
            """function () {
                const panel = this.querySelector('.versions');
                const article = this.querySelector('.main');
                if (!panel || panel.hidden || !panel.querySelector('h2')) return null;
                const p = panel.getBoundingClientRect(), a = article.getBoundingClientRect();
                return { top: p.top, bottom: p.bottom, above: p.bottom <= a.top + 1, height: innerHeight };
            }""",
        )
        assert place["above"], place
        assert 0 <= place["top"] < place["height"], place
        await page.keyboard.press("Escape")
    finally:
        await page.set_viewport_size(size)
