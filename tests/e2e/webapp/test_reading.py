"""The archive web app's reading pages in real Chromium: search, history, Wayback addresses, compare,
the home page and the sandboxed raw view (nothing archived ever runs)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page

from tests.kit.text import collapse
from tests.kit.webapp import (
    SCRIPT_TITLE,
    Archive,
    text_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


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
