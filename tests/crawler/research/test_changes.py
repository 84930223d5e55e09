"""Change tracking end to end: an edited article re-captured gives a change, its diff, its feed."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

import pytest
from aiohttp.test_utils import TestClient, TestServer

from crawler.cli import main
from server.app import create_app
from tests.kit.archive import SEED_URL, WORDS_ADDED, WORDS_REMOVED, ResearchArchive
from tests.kit.settings import settings_vars

ATOM = "{http://www.w3.org/2005/Atom}"


def test_edit_is_recorded_as_one_change(research: ResearchArchive) -> None:
    changes = research.catalogue.changes(SEED_URL)
    assert len(changes) == 1, "the unchanged re-capture must not count as a change"
    change = changes[0]
    assert (change.from_id, change.to_id) == (research.ids["first"], research.ids["edited"])
    assert (change.words_added, change.words_removed) == (WORDS_ADDED, WORDS_REMOVED)
    assert not change.title_changed


@pytest.fixture
async def client(research: ResearchArchive):
    app = create_app(research.settings, archiver=research.archiver, app_modules=[])
    async with TestClient(TestServer(app, host="127.0.0.1")) as running:
        yield running


async def test_changes_and_diff_api(research: ResearchArchive, client: TestClient) -> None:
    response = await client.get("/api/v1/changes", params={"url": SEED_URL})
    assert response.status == 200
    [change] = (await response.json())["changes"]
    assert change["words_added"] == WORDS_ADDED and change["words_removed"] == WORDS_REMOVED

    response = await client.get(change["links"]["diff"])
    assert response.status == 200
    diff = await response.json()
    assert (diff["words_added"], diff["words_removed"]) == (WORDS_ADDED, WORDS_REMOVED)
    changed = [(op["op"], " ".join(op["text"].split())) for op in diff["ops"] if op["op"] != "equal"]
    assert changed == [
        ("delete", "some"),
        ("insert", "cautious"),
        ("delete", "evening"),
        ("insert", "night"),
        ("insert", "The talks were later postponed."),
    ]
    after = research.catalogue.capture_text(research.ids["edited"])[1]
    assert "".join(op["text"] for op in diff["ops"] if op["op"] != "delete") == after

    response = await client.get(change["links"]["diff"], headers={"Accept": "text/html"})
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert "<del>some </del><ins>cautious </ins>" in page
    assert re.search(r"<ins>\s*The talks were later postponed\.\s*</ins>", page)
    response = await client.get(change["links"]["diff_html"], headers={"Accept": "application/json"})
    assert response.content_type == "text/html", "format=html wins over Accept"


async def test_diff_errors(research: ResearchArchive, client: TestClient) -> None:
    response = await client.get("/api/v1/diff", params={"a": research.ids["first"]})
    assert response.status == 400 and "'b' is required" in (await response.json())["detail"]
    response = await client.get("/api/v1/diff", params={"a": research.ids["first"], "b": "nope"})
    assert response.status == 404 and "nope" in (await response.json())["detail"]
    response = await client.get(
        "/api/v1/diff", params={"a": research.ids["first"], "b": research.ids["edited"], "format": "pdf"}
    )
    assert response.status == 400


async def test_atom_feed_has_full_clean_text(research: ResearchArchive, client: TestClient) -> None:
    response = await client.get("/api/v1/feed.atom", params={"site": "news.example.org"})
    assert response.status == 200
    assert response.content_type == "application/atom+xml"
    feed = ET.fromstring(await response.read())
    entries = feed.findall(f"{ATOM}entry")
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    # Newest first; the revisit repeats the edited text, so it is no new entry.
    assert ids[:2] == [f"urn:declutter:capture:{research.ids['edited']}",
                       f"urn:declutter:capture:{research.ids['scattered']}"] or ids[:2] == [
        f"urn:declutter:capture:{research.ids['scattered']}",
        f"urn:declutter:capture:{research.ids['edited']}",
    ]
    assert f"urn:declutter:capture:{research.ids['revisit']}" not in ids
    assert f"urn:declutter:capture:{research.ids['other_site']}" not in ids
    edited = next(e for e in entries if e.findtext(f"{ATOM}id").endswith(research.ids["edited"]))
    content = edited.find(f"{ATOM}content")
    assert content.get("type") == "text"
    assert content.text == research.catalogue.capture_text(research.ids["edited"])[1]
    assert "The talks were later postponed." in content.text
    assert edited.find(f"{ATOM}link[@rel='alternate']").get("href") == SEED_URL
    diff_link = edited.find(f"{ATOM}link[@title='What changed']").get("href")
    assert diff_link.endswith(
        f"/api/v1/diff?a={research.ids['first']}&b={research.ids['edited']}&format=html"
    )
    assert f"{WORDS_ADDED} words added, {WORDS_REMOVED} removed" in edited.findtext(f"{ATOM}summary")
    first = [e for e in entries if e.findtext(f"{ATOM}id").endswith(research.ids["first"])]
    assert all(e.find(f"{ATOM}link[@title='What changed']") is None for e in first)
    for required in ("id", "title", "updated"):
        assert feed.findtext(f"{ATOM}{required}")

    response = await client.get("/api/v1/feed.atom", params={"q": '"peace talks"'})
    titles = [e.findtext(f"{ATOM}title") for e in ET.fromstring(await response.read()).findall(f"{ATOM}entry")]
    assert "Peace talks elsewhere" in titles
    assert "Peace and talks: talks about peace" not in titles


def test_cli_diff_is_coloured(research: ResearchArchive, monkeypatch, capsys) -> None:
    for name, value in settings_vars(research.settings).items():
        monkeypatch.setenv(name, value)
    assert main(["diff", research.ids["first"], research.ids["edited"], "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert f"{WORDS_ADDED} words added, {WORDS_REMOVED} removed" in out
    assert "\x1b[31;9msome\x1b[0m \x1b[32mcautious\x1b[0m" in out

    assert main(["diff", research.ids["first"], research.ids["edited"], "--color", "never"]) == 0
    assert "[-some-] {+cautious+}" in capsys.readouterr().out

    assert main(["diff", research.ids["first"], "missing-id"]) == 1
    assert "no capture with id 'missing-id'" in capsys.readouterr().err
