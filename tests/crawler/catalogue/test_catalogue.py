"""The catalogue on both engines: SQLite (file, WAL) and a real PostgreSQL started by the fixtures."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from crawler.catalogue import (
    BadQuery,
    CaptureRow,
    CatalogueError,
    ChangeRow,
    ParsedQuery,
    open_catalogue,
    site_key,
    url_key,
)
from tests.kit.catalogue import T0, capture_row


@pytest.fixture
def catalogue(settings, database):
    cat = open_catalogue(settings(database=database))
    yield cat
    cat.close()


def test_url_key_is_surt():
    assert url_key("https://www.Example.com:443/a/b?z=1&a=2#frag") == "com,example)/a/b?a=2&z=1"
    assert url_key("http://www.Example.com/News/Story/") == "com,example)/news/story"
    assert url_key("http://example.com") == "com,example)/"
    assert url_key("http://news.example.co.uk:8080/x") == "uk,co,example,news:8080)/x"
    assert url_key("http://127.0.0.1:8090/Demo/") == "1,0,0,127:8090)/demo"
    assert url_key("http://example.com/a") == url_key("https://example.com/a")
    assert site_key("https://www.example.com/") == "com,example"
    assert site_key("127.0.0.1") == "1,0,0,127"
    assert site_key("127.0.0.1:8090") == "1,0,0,127:8090"
    for bad in ("example.com/path", "", "example.com:port"):
        with pytest.raises(BadQuery):
            site_key(bad)
    with pytest.raises(BadQuery, match="port"):
        url_key("http://example.com:port/")


def test_url_keys_are_the_wacz_indexs_keys():
    """cdxj-indexer keys the exported WACZ's index; /cdx serves url_key: they must agree."""
    from cdxj_indexer.main import CDXJIndexer

    indexer = CDXJIndexer(output=None, inputs=[])
    for url in (
        "https://www.Example.com/News/Story/?b=2&a=1#top",
        "http://127.0.0.1:8090/articles/harbour-lights",
        "http://[::1]:8080/x",
        "https://bücher.example/Ä?q=ü",
        "http://example.com/a%2Fb;jsessionid=0123456789ABCDEF0123456789ABCDEF",
    ):
        assert url_key(url) == indexer.get_url_key(url), url


def test_migrations_are_versioned_and_idempotent(catalogue):
    assert catalogue.schema_version() >= 1
    assert catalogue.migrate() == []
    assert catalogue.ping()


def test_record_and_get_round_trip(catalogue):
    row = capture_row("https://example.com/story", T0, byline="A. Writer", rendered=True, crawl_id="C1")
    assert catalogue.record_capture(row, text="alpha beta gamma")
    assert not catalogue.record_capture(row, text="alpha beta gamma")
    got = catalogue.get_capture(row.id)
    assert got == row
    assert got.captured_at.tzinfo is not None
    assert catalogue.capture_text(row.id) == (row.title, "alpha beta gamma")
    assert catalogue.get_capture("nope") is None
    data = got.to_dict()
    assert data["captured_at"] == "2026-11-20T12:00:00Z"
    assert CaptureRow.from_dict(data) == row


def test_list_latest_and_cursor_pages(catalogue):
    url = "https://example.com/page"
    rows = [capture_row(url, T0 + timedelta(hours=i)) for i in range(7)]
    for row in reversed(rows):
        catalogue.record_capture(row)
    catalogue.record_capture(capture_row("https://example.com/other", T0))
    seen, cursor = [], None
    while True:
        page, cursor = catalogue.list_captures(url, limit=3, cursor=cursor)
        seen += page
        if cursor is None:
            break
    assert [r.id for r in seen] == [r.id for r in rows]
    assert catalogue.latest_capture("http://www.example.com/page").id == rows[-1].id
    window, _ = catalogue.list_captures(url, since=T0 + timedelta(hours=2), until=T0 + timedelta(hours=4))
    assert [r.id for r in window] == [rows[2].id, rows[3].id]
    newest, _ = catalogue.list_captures(url, limit=2, newest_first=True)
    assert [r.id for r in newest] == [rows[6].id, rows[5].id]
    assert len(list(catalogue.iter_captures(site="example.com", batch=2))) == 8
    assert catalogue.latest_capture("https://example.com/never") is None
    with pytest.raises(BadQuery):
        catalogue.list_captures(url, cursor="!!not-a-cursor")


SEARCH_DOCS = {
    "phrase": "The council approved the climate policy reform after a long debate in the chamber.",
    "scattered": "Reform of the tax code came first; climate was discussed later, and the policy "
    "on climate reform stayed vague. Climate, reform, policy; climate, reform, policy.",
    "unrelated": "A football match ended in a draw on a rainy evening.",
}


def _seed_search(catalogue) -> dict[str, CaptureRow]:
    rows = {}
    for i, (name, text) in enumerate(SEARCH_DOCS.items()):
        host = "news.example.org" if name == "scattered" else "example.com"
        row = capture_row(f"https://{host}/{name}", T0 + timedelta(days=i), title=f"Story {name}")
        catalogue.record_capture(row, text=text)
        rows[name] = row
    return rows


def test_search_ranks_exact_phrase_first_with_marked_snippets(catalogue):
    rows = _seed_search(catalogue)
    hits = catalogue.search("climate policy reform")
    assert [h.capture.id for h in hits] == [rows["phrase"].id, rows["scattered"].id]
    assert "<mark>climate</mark> <mark>policy</mark> <mark>reform</mark>" in hits[0].snippet
    assert hits[0].to_dict()["snippet"] == hits[0].snippet
    quoted = catalogue.search('"climate policy reform"')
    assert [h.capture.id for h in quoted] == [rows["phrase"].id]


def test_search_filters_and_syntax(catalogue):
    rows = _seed_search(catalogue)
    assert [h.capture.id for h in catalogue.search("climate", site="news.example.org")] == [
        rows["scattered"].id
    ]
    assert [h.capture.id for h in catalogue.search("climate -debate")] == [rows["scattered"].id]
    since = catalogue.search("climate", since=T0 + timedelta(hours=12))
    assert [h.capture.id for h in since] == [rows["scattered"].id]
    assert catalogue.search("football", limit=1, offset=1) == []
    assert catalogue.search("Story", limit=5)  # titles are searched too
    with pytest.raises(BadQuery):
        catalogue.search("   ")
    with pytest.raises(BadQuery):
        catalogue.search("-only")


def test_search_snippet_is_html_escaped(catalogue):
    row = capture_row("https://example.com/x", T0)
    catalogue.record_capture(row, text="marker <script>alert(1)</script> marker")
    [hit] = catalogue.search("marker")
    assert "<script>" not in hit.snippet and "alert(1)" in hit.snippet
    assert "<mark>marker</mark>" in hit.snippet


def test_crawls(catalogue):
    crawl = catalogue.start_crawl("daily news")
    catalogue.update_crawl(crawl, {"pages": 3})
    assert catalogue.get_crawl(crawl).finished_at is None
    catalogue.finish_crawl(crawl, {"pages": 5, "errors": 1})
    [row] = catalogue.list_crawls()
    assert (row.id, row.name, row.counts) == (crawl, "daily news", {"pages": 5, "errors": 1})
    assert row.finished_at >= row.started_at
    with pytest.raises(CatalogueError):
        catalogue.update_crawl("missing", {})


def test_changes_are_recorded_with_the_capture(catalogue):
    url = "https://example.com/edited"
    first = capture_row(url, T0)
    second = capture_row(url, T0 + timedelta(hours=1), title="New title")
    catalogue.record_capture(first, text="one two three")
    change = ChangeRow(url, url_key(url), first.id, second.id, 2, 1, first.title, "New title", T0)
    catalogue.record_capture(second, text="one two four five", change=change)
    [got] = catalogue.changes(url)
    assert (got.from_id, got.to_id, got.words_added, got.words_removed) == (first.id, second.id, 2, 1)
    assert got.title_changed and got.to_dict()["title_changed"] is True
    assert catalogue.changes("https://example.com/other") == []


def test_concurrent_writers_lose_nothing(catalogue):
    errors = []

    def write(k: int) -> None:
        try:
            for i in range(10):
                catalogue.record_capture(
                    capture_row(f"https://example.com/t{k}", T0 + timedelta(seconds=i)), text=f"w{k} text"
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert catalogue.count_captures() == 40


def test_parsed_query():
    q = ParsedQuery.parse('Climate "policy reform" -tax OR')
    assert (q.words, q.phrases, q.excluded) == (["Climate"], ["policy reform"], ["tax"])
    assert q.fts5() == '"Climate" AND "policy reform" NOT "tax"'


def test_bad_database_url_says_what_to_use(settings):
    with pytest.raises(CatalogueError, match="postgresql://"):
        open_catalogue(settings(database_url="mysql://x"))


def test_a_new_migration_applies_once_in_order(settings, database, tmp_path, monkeypatch):
    import shutil as sh

    from crawler.catalogue import schema as module

    s = settings(database=database)
    first = open_catalogue(s)
    first.record_capture(capture_row("https://example.com/kept", T0), text="kept across migrations")
    first.close()
    folder = tmp_path / "migrations"
    sh.copytree(module.MIGRATIONS, folder)
    (folder / database / "0099_note.sql").write_text(
        "-- a later schema change\nALTER TABLE crawls ADD COLUMN note TEXT;\n"
        "CREATE INDEX crawls_note ON crawls (note);\n"
    )
    monkeypatch.setattr(module, "MIGRATIONS", folder)
    opened: list = []
    threads = [threading.Thread(target=lambda: opened.append(open_catalogue(s))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == 3
    cat = opened[0]
    assert cat.schema_version() == 99 and cat.migrate() == []
    with cat.engine.transaction() as tx:
        versions = [r["version"] for r in tx.execute("SELECT version FROM schema_migrations").rows()]
        tx.execute("UPDATE crawls SET note = ? WHERE id = ?", ["n", "none"])
    assert sorted(versions) == sorted(int(f.name[:4]) for f in (folder / database).glob("*.sql"))
    assert [h.capture.url for h in cat.search("kept")] == ["https://example.com/kept"]
    for c in opened:
        c.close()


def test_old_url_keys_are_rewritten_to_surt_when_opened(settings, database, tmp_path, monkeypatch):
    """A catalogue written before version 4 (hand-written keys) is found by URL and site after it."""
    import shutil as sh

    from crawler.catalogue import schema

    folder = tmp_path / "migrations"
    sh.copytree(schema.MIGRATIONS, folder)
    for script in (folder / database).glob("0004_*"):
        script.unlink()
    real = schema.MIGRATIONS
    monkeypatch.setattr(schema, "MIGRATIONS", folder)
    s = settings(database=database)
    old = open_catalogue(s)
    assert old.schema_version() == 5  # every version but 4: keys as the hand-written SURT left them
    story, demo = "http://www.Example.com/News/Story/", "http://127.0.0.1:8090/Articles/One"
    # The keys the hand-written SURT gave: path case and trailing slash kept.
    first = capture_row(story, T0, url_key="com,example)/News/Story/")
    second = capture_row(story, T0 + timedelta(hours=1), url_key="com,example)/News/Story/")
    third = capture_row(demo, T0, url_key="1,0,0,127:8090)/Articles/One")
    old.record_capture(first, text="harbour lights")
    change = ChangeRow(story, "com,example)/News/Story/", first.id, second.id, 1, 1, None, None, T0)
    old.record_capture(second, text="harbour lamps", change=change)
    old.record_capture(third, text="demo page")
    assert old.latest_capture(story) is None  # the bug being migrated away
    old.close()

    monkeypatch.setattr(schema, "MIGRATIONS", real)
    with open_catalogue(s) as new:
        assert new.schema_version() == 5
        assert new.latest_capture("https://example.com/news/story").id == second.id
        assert new.latest_capture(demo).id == third.id
        assert {r.id for r in new.iter_captures(site="example.com")} == {first.id, second.id}
        assert [r.id for r in new.iter_captures(site="127.0.0.1")] == [third.id]
        assert [c.to_id for c in new.changes(story)] == [second.id]
        assert new.require_capture(first.id).url_key == "com,example)/news/story"
        assert new.migrate() == []


def test_search_counts_every_page_of_its_hits(catalogue):
    # Three URLs: one captured three times with the same text, one edited once, one elsewhere.
    same = "https://example.com/same"
    for hours in range(3):
        row = capture_row(same, T0 + timedelta(hours=hours), text_digest="sha256:same")
        catalogue.record_capture(row, text="the harbour bridge reopens")
    edited = "https://example.com/edited"
    for hours, words in ((0, "the harbour bridge reopens"), (1, "the harbour bridge reopens late")):
        row = capture_row(edited, T0 + timedelta(hours=hours), text_digest=f"sha256:{hours}")
        catalogue.record_capture(row, text=words)
    catalogue.record_capture(capture_row("https://other.org/x", T0), text="harbour bridge news")
    for query, site in (("harbour bridge", None), ("harbour -news", None), ("bridge", "example.com")):
        for collapse in (True, False):
            listed = catalogue.search(query, site=site, collapse=collapse, limit=1000)
            counted = catalogue.count_search(query, site=site, collapse=collapse)
            assert counted == len(listed), (query, site, collapse)
    assert catalogue.count_search("harbour bridge") == 4  # same once, edited twice, other once
    assert catalogue.count_search("harbour bridge", collapse=False) == 6
    assert catalogue.count_search("nothing-here") == 0
