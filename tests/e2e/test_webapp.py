"""The archive web app in real Chromium, against the real server on real storage (SeaweedFS + SQLite).

One archive is built for the module: the seed article, two versions of an edited page, a page whose
script would give itself away if it ever ran, and two crawl runs. One browser serves every test;
each test opens its own pages. Screenshots of every page (light/dark, desktop/360 px) go to
``artifacts/webapp/``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from server.state import BACKENDS
from tests.kit.extension import LOOPBACK_RESOLVER_RULES, chromium_path, keep_on_loopback
from tests.kit.pages import start_site
from tests.kit.paths import ROOT, SHARED
from tests.kit.settings import settings_for
from tests.kit.text import collapse

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ARTIFACTS = ROOT / "artifacts" / "webapp"

PARAGRAPHS_V1 = [
    "The harbour authority met on Monday to decide the future of the old pier, which has stood "
    "since 1904 and was closed last winter after storms cracked two of its supports.",
    "Engineers told the board that repairs would take eighteen months and cost more than the "
    "town spends on roads in a year, but that the structure could be saved.",
    "The mayor said the council remained cautious about the cost and would ask residents before "
    "committing any money, adding that the pier is part of the town's identity.",
    "Fishermen who moor beside the pier said the closure had already pushed them to the far "
    "quay, where the water is shallower and the walk to the market is longer.",
    "A public meeting is planned for next month, when the engineers will present three options "
    "ranging from a full restoration to a shorter pier built on new piles.",
]
PARAGRAPHS_V2 = [
    PARAGRAPHS_V1[0],
    PARAGRAPHS_V1[1],
    "The mayor said the council was now confident about the cost and would ask residents before "
    "committing any money, adding that the pier is part of the town's identity.",
    PARAGRAPHS_V1[3],
    PARAGRAPHS_V1[4],
    "The harbour master resigned on Tuesday evening, citing the delays.",
]
SCRIPT_TITLE = "Tides at the north quay"


def article_page(title: str, paragraphs: list[str], extra: str = "") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<main><article><h1>{title}</h1><p class="byline">By Ada Marsh</p>{body}</article></main>
<footer>Harbour Gazette</footer>{extra}</body></html>"""


# Every way a script could show it ran: the title, a message to the framing page, a DOM mark.
TELLTALE_SCRIPT = """<script>
document.title = "SCRIPT RAN";
try { parent.postMessage("script-ran", "*"); } catch (e) {}
try { top.postMessage("script-ran", "*"); } catch (e) {}
document.documentElement.setAttribute("data-script-ran", "yes");
</script>"""


@dataclasses.dataclass
class Archive:
    url: str
    token: str
    app: web.Application
    settings: Any
    origin: str
    seed_id: str  # "" when ../shared is absent
    reader_id: str  # the seed article, else the edited page's newest capture
    reader_title: str
    edited_url: str
    edited_ids: tuple[str, str]
    script_id: str
    script_page: str
    finished_crawl: str
    live_crawl: str


def _settings(s3_server: Any, data_dir: Path, **overrides: Any) -> Any:
    return settings_for(
        s3_server, data_dir, **{"rate_limit": 0, "crawls_file": data_dir / "crawls.toml", **overrides}
    )


def _capture(url: str, html: str, when: datetime | None = None, crawl_id: str | None = None) -> Any:
    from crawler.snapshot.capture import Capture

    capture = Capture(
        url=url,
        status=200,
        body=html.encode("utf-8"),
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        request_headers=[("User-Agent", "declutter-tests")],
        reason="OK",
        crawl_id=crawl_id,
    )
    if when is not None:
        capture.captured_at = when
    return capture


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
async def archive(s3_server: Any, origin_site: tuple[str, dict[str, str]]) -> AsyncIterator[Archive]:
    """The real server over an archive filled through ``Archiver.archive``, the one write path."""
    from crawler.archive import Archiver
    from server.app import create_app
    from server.auth import TokenStore

    origin, pages = origin_site
    data_dir = Path(tempfile.mkdtemp(prefix="declutter-webapp-"))
    settings = _settings(s3_server, data_dir, allowed_fetch_hosts=[urlsplit(origin).netloc])
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
            seed = archiver.archive(_capture(seed_url, pages["/news/seed-article"]))
        v1 = archiver.archive(
            _capture(edited_url, pages["/news/pier"], datetime(2025, 3, 2, 9, 30, tzinfo=UTC))
        )
        v2 = archiver.archive(
            _capture(
                edited_url,
                article_page("The future of the old pier", PARAGRAPHS_V2),
                datetime(2025, 4, 11, 17, 5, tzinfo=UTC),
            )
        )
        script = archiver.archive(_capture(origin + "/news/tides", pages["/news/tides"]))
        archiver.archive(
            _capture(origin + "/news/item?id=7&lang=en", article_page("Ferry timetable", PARAGRAPHS_V1))
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


@pytest.fixture(scope="module")
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


async def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core violations on the page, as readable lines."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]


async def text_of(page: Page, selector: str) -> str:
    return collapse(await page.locator(selector).first.inner_text())


# --- the pages' building blocks, without a browser ---------------------------------------------


def test_snippets_keep_only_their_marks() -> None:
    from server.web.views import mark_snippet

    marked = mark_snippet("a &lt;b&gt; <mark>pier</mark> <script>x</script> &amp; more", "pier")
    assert str(marked) == (
        "a &lt;b&gt; <mark>pier</mark> &lt;script&gt;x&lt;/script&gt; &amp; more"
    )
    unmarked = mark_snippet("The Piers of &lt;Brighton&gt;", "pier")
    assert str(unmarked) == "The <mark>Piers</mark> of &lt;Brighton&gt;"


def test_reader_html_turns_images_into_links_and_drops_scripts() -> None:
    from server.web.views import reader_html

    out = str(reader_html(
        '<p>Hi<script>alert(1)</script></p><img src="https://e.org/a.jpg" alt="A boat">'
        '<p onclick="x()">tail</p>'
    ))
    assert "<script" not in out and "onclick" not in out and "<img" not in out
    assert 'href="https://e.org/a.jpg"' in out and "Image: A boat" in out


# --- tests in the browser -----------------------------------------------------------------------


async def test_search_finds_the_seed_article_and_shows_its_clean_text(
    page: Page, archive: Archive, seed_expectations: tuple[list[str], list[str]]
) -> None:
    must_contain, must_not_contain = seed_expectations
    await page.goto(archive.url + "/")
    await page.get_by_label("Words or phrase").fill("Zelensky spokesperson negotiations")
    await page.get_by_label("Words or phrase").press("Enter")
    await page.wait_for_url(re.compile(r"/web/search\?"))
    results = page.locator("ol.hits > li")
    assert await results.count() >= 1
    marks = [m.lower() for m in await page.locator("ol.hits mark").all_inner_texts()]
    assert any(m.startswith(("zelensky", "spokesperson", "negotiat")) for m in marks), marks
    await page.locator(f'ol.hits a[href="/web/capture/{archive.seed_id}"]').click()
    await page.wait_for_url(f"**/web/capture/{archive.seed_id}")

    article = await text_of(page, "article.reader")
    missing = [line for line in must_contain if line not in article]
    assert not missing, f"clean text lacks {len(missing)} line(s), first: {missing[0]!r}"
    body = await text_of(page, "body")
    present = [line for line in must_not_contain if line in body]
    assert not present, f"page shows clutter: {present}"
    assert await page.locator("a", has_text="Raw page").count() == 1
    assert await page.locator(f'a[href="/api/v1/captures/{archive.seed_id}/warc"]').count() == 1


async def test_search_paginates_and_escapes(page: Page, archive: Archive) -> None:
    await page.goto(archive.url + "/web/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E+pier")
    heading = await text_of(page, "#results-heading")
    assert "<script>alert(1)</script>" in heading  # shown as text, not run
    await page.goto(archive.url + "/web/search?q=pier&page=2")
    assert await page.locator('a[rel="prev"]').count() == 1


async def test_history_lists_both_captures_and_marks_the_change(page: Page, archive: Archive) -> None:
    old_id, new_id = archive.edited_ids
    response = await page.goto(archive.url + "/web/" + archive.edited_url)
    assert response is not None and response.status == 200
    items = page.locator("ol.timeline > li")
    assert await items.count() == 2
    changed = page.locator("ol.timeline > li.changed")
    assert await changed.count() == 1
    assert await changed.locator(f'a[href="/web/capture/{new_id}"]').count() == 1
    delta = await text_of(page, "ol.timeline > li.changed .delta")
    added, removed = (int(n) for n in re.findall(r"\d+", delta)[:2])
    assert added >= 10 and removed >= 2, delta
    assert await page.locator(f'ol.timeline > li.new a[href="/web/capture/{old_id}"]').count() == 1
    months = await page.locator(".month h3").all_inner_texts()
    assert [m.split(" (")[0] for m in months] == ["April 2025", "March 2025"]
    # an address with its own query string keeps it
    await page.goto(archive.url + "/web/" + archive.origin + "/news/item?id=7&lang=en")
    assert await page.locator("ol.timeline > li").count() == 1
    await page.goto(archive.url + "/web/" + archive.origin + "/news/item?id=8&lang=en")
    assert "No captures of this address" in await text_of(page, "main")
    # the form on the home page leads to the same history
    await page.goto(archive.url + "/")
    await page.get_by_label("Page address").fill(archive.edited_url)
    await page.get_by_role("button", name="Show history").click()
    await page.wait_for_url("**/web/" + archive.edited_url)
    assert await page.locator("ol.timeline > li").count() == 2


async def test_wayback_addresses_open_the_nearest_capture_and_list_prefixes(
    page: Page, archive: Archive
) -> None:
    old_id, new_id = archive.edited_ids
    bare = archive.edited_url.split("://", 1)[1]  # no scheme, as people type it at the Wayback Machine
    for stamp, expected in (("20250401000000", new_id), ("20250310", old_id), ("2025", old_id)):
        await page.goto(f"{archive.url}/web/{stamp}/{bare}")
        assert page.url.endswith(f"/web/capture/{expected}"), (stamp, page.url)
        assert "The future of the old pier" in await text_of(page, "article.reader h1")
    host = archive.origin.split("://", 1)[1]
    await page.goto(f"{archive.url}/web/*/{host}/news/*")
    addresses = await page.locator("table.listing tbody th a").all_inner_texts()
    assert archive.edited_url in addresses and archive.script_page in addresses
    counts = dict(zip(addresses, await page.locator("table.listing tbody td:nth-child(2)").all_inner_texts(), strict=True))
    assert counts[archive.edited_url] == "2"
    await page.goto(f"{archive.url}/web/202504*/{host}/news/*")
    assert await page.locator("table.listing tbody th a").all_inner_texts() == [archive.edited_url]
    # the listing form, reached from the home page, takes a whole site (every port of its host)
    await page.goto(archive.url + "/")
    await page.get_by_role("link", name="Browse by address or site").click()
    await page.get_by_label("Or a whole site").fill("127.0.0.1")
    await page.get_by_role("button", name="List").click()
    await page.wait_for_url(re.compile(r"/web/list\?"))
    assert archive.edited_url in await page.locator("table.listing tbody th a").all_inner_texts()


async def test_any_two_captures_are_compared_from_the_history(page: Page, archive: Archive) -> None:
    old_id, new_id = archive.edited_ids
    await page.goto(archive.url + "/web/" + archive.edited_url)
    boxes = page.locator("ol.timeline input[type=checkbox]")
    assert await boxes.count() == 2
    await boxes.nth(0).check()  # the newer first: the compare view still puts the older left
    await boxes.nth(1).check()
    await page.get_by_role("button", name="Compare the two chosen").click()
    await page.wait_for_url(re.compile(r"/web/compare\?a=.+&b=.+"))
    assert page.url.endswith(f"/web/compare?a={old_id}&b={new_id}")
    assert "confident" in " ".join(await page.locator("ins").all_inner_texts())
    await page.goto(archive.url + "/web/" + archive.edited_url)
    await page.locator("ol.timeline input[type=checkbox]").first.check()
    await page.get_by_role("button", name="Compare the two chosen").click()
    assert "choose two captures" in await text_of(page, "main")


async def test_home_lists_each_article_once_with_its_last_change(page: Page, archive: Archive) -> None:
    old_id, new_id = archive.edited_ids
    await page.goto(archive.url + "/")
    items = page.locator("#newest-heading ~ ol > li")
    titles = await items.locator("a.title").all_inner_texts()
    assert titles.count("The future of the old pier") == 1, titles
    pier = items.filter(has_text="The future of the old pier")
    meta = collapse(await pier.inner_text())
    assert "changed 11 apr 2025, 17:05:00 utc" in meta.lower() and "2 captures" in meta, meta
    assert await pier.locator(f'a[href="/web/compare?a={old_id}&b={new_id}"]').count() == 1


async def test_compare_shows_inserted_and_deleted_words(page: Page, archive: Archive) -> None:
    old_id, new_id = archive.edited_ids
    await page.goto(archive.url + "/web/" + archive.edited_url)
    await page.locator("ol.timeline > li.changed a.cmp").click()
    await page.wait_for_url(re.compile(r"/web/compare\?a=.+&b=.+"))
    assert old_id in page.url and new_id in page.url
    inserted = " ".join(await page.locator("ins").all_inner_texts())
    deleted = " ".join(await page.locator("del").all_inner_texts())
    assert "confident" in inserted and "resigned" in inserted
    assert "remained cautious" in deleted
    assert "resigned" not in deleted and "cautious" not in inserted
    await page.get_by_label("as one text").check()
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url(re.compile(r"view=inline"))
    inline = page.locator(".diff.inline .text")
    assert await inline.locator("ins").count() >= 1 and await inline.locator("del").count() >= 1


async def test_raw_view_runs_none_of_the_archived_scripts(
    browser: Browser, page: Page, archive: Archive
) -> None:
    # Control: served live, unsandboxed, the fixture's script does give itself away.
    await page.goto(archive.script_page)
    assert await page.title() == "SCRIPT RAN"

    await page.add_init_script(
        "window.__messages = []; addEventListener('message', e => window.__messages.push(String(e.data)));"
    )
    await page.goto(archive.url + f"/web/capture/{archive.script_id}/raw")
    frame_element = page.locator("iframe.raw")
    assert await frame_element.get_attribute("sandbox") == ""
    frame = await (await frame_element.element_handle()).content_frame()
    assert frame is not None
    await frame.wait_for_load_state("load")
    assert SCRIPT_TITLE in await frame.locator("h1").inner_text()
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.__messages") == []
    assert await frame.evaluate("document.title") == SCRIPT_TITLE
    assert await frame.evaluate("document.documentElement.getAttribute('data-script-ran')") is None
    assert "SCRIPT RAN" not in await page.title()

    # Opened alone, the API's raw bytes carry CSP sandbox: still no script.
    response = await page.goto(archive.url + f"/api/v1/captures/{archive.script_id}/raw")
    assert response is not None and "sandbox" in (response.headers.get("content-security-policy") or "")
    assert await page.title() == SCRIPT_TITLE
    assert await page.evaluate("document.documentElement.getAttribute('data-script-ran')") is None


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

    app = create_app(_settings(s3_server, tmp_path / "empty"))
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
