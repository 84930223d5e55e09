"""archive(): real SeaweedFS, both catalogue engines, outages, revisits, changes, verify."""

from __future__ import annotations

import gzip
import io
import shutil
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler import cli
from crawler.archive import Archiver, BadCapture
from crawler.catalogue import CaptureNotFound, open_catalogue
from crawler.cli.services import PostgresServer, SeaweedFS, SeaweedPorts, temp_dir
from crawler.snapshot.capture import Capture
from crawler.snapshot.store import SnapshotStore
from tests.kit.article import PARAGRAPHS, page

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))

def capture(url: str, body: bytes, **overrides) -> Capture:
    values = dict(
        url=url,
        status=200,
        body=body,
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Server", "test")],
        request_headers=[("User-Agent", "Declutter-test")],
    )
    values.update(overrides)
    return Capture(**values)


@pytest.fixture
def archiver(settings, database):
    arch = Archiver.from_settings(settings(database=database))
    yield arch
    arch.close()


def _warc_records(data: bytes) -> list[str]:
    out = []
    for record in ArchiveIterator(io.BytesIO(data), check_digests=True):
        record.content_stream().read()
        assert record.digest_checker.passed is not False, record.digest_checker.problems
        out.append(record.rec_type)
    return out


def test_round_trip_of_a_rendered_capture(archiver, seed_dir):
    raw = (seed_dir / "page-js.html").read_bytes()
    rendered = (seed_dir / "page.html").read_text(encoding="utf-8")
    url = f"https://news.example/seed/{time.time_ns()}"
    result = archiver.archive(capture(url, raw, rendered_html=rendered, screenshot=PNG, crawl_id="C1"))
    assert not result.spooled and not result.revisit
    assert result.warc_key.startswith(f"warc/{datetime.now(UTC):%Y/%m/%d}/{result.capture_id}")
    status, headers, body = archiver.read_raw(result.capture_id)
    assert (status, body) == (200, raw)
    assert ("Server", "test") in headers
    assert archiver.read_screenshot(result.capture_id) == PNG
    assert archiver.read_rendered(result.capture_id) == rendered
    article = archiver.read_article(result.capture_id)
    assert article.text and article.text == result.article.text
    row = archiver.catalogue.get_capture(result.capture_id)
    assert row.rendered and row.crawl_id == "C1" and row.word_count > 50
    assert row.title == article.title and row.text_digest
    assert _warc_records(archiver.read_warc(result.capture_id)) == [
        "warcinfo", "response", "request", "metadata", "resource", "resource",
    ]
    assert [v.problems for v in archiver.verify([result.capture_id])] == [[]]
    assert archiver.catalogue.search("Zelensky")[0].capture.id == result.capture_id


def test_unchanged_page_is_a_revisit_without_a_second_body(archiver):
    url = f"https://news.example/same/{time.time_ns()}"
    body = page()
    first = archiver.archive(capture(url, body, rendered_html="<p>dom</p>", screenshot=PNG))
    second = archiver.archive(capture(url, body, rendered_html="<p>dom</p>", screenshot=PNG))
    assert second.revisit and not first.revisit
    row = archiver.catalogue.get_capture(second.capture_id)
    assert row.revisit_of == first.capture_id
    assert row.article_key == archiver.catalogue.get_capture(first.capture_id).article_key
    warc = archiver.read_warc(second.capture_id)
    assert _warc_records(warc) == ["warcinfo", "revisit", "request", "metadata"]
    assert body not in gzip.decompress(warc) and PNG not in gzip.decompress(warc)
    assert second.bytes_stored == len(warc) < first.bytes_stored / 2
    assert archiver.read_raw(second.capture_id)[2] == body
    assert archiver.read_screenshot(second.capture_id) == PNG
    third = archiver.archive(capture(url, body, rendered_html="<p>dom</p>", screenshot=PNG + b"!"))
    assert archiver.catalogue.get_capture(third.capture_id).revisit_of == first.capture_id
    assert archiver.read_screenshot(third.capture_id) == PNG + b"!"
    assert all(v.ok for v in archiver.verify([first.capture_id, second.capture_id, third.capture_id]))


def test_edited_article_records_a_change(archiver):
    url = f"https://news.example/edited/{time.time_ns()}"
    first = archiver.archive(capture(url, page()))
    edited = PARAGRAPHS[:2] + ["The plan now adds three bus lines and a tram."] + PARAGRAPHS[3:]
    second = archiver.archive(capture(url, page("Council approves transport plan", edited)))
    assert not second.revisit
    change = second.change
    assert change is not None
    assert (change.from_id, change.to_id) == (first.capture_id, second.capture_id)
    assert change.title_before == "Council debates transport plan"
    assert change.title_after == "Council approves transport plan"
    assert change.words_added > 0 and change.words_removed > 0
    [stored] = archiver.catalogue.changes(url)
    assert stored.to_dict()["words_added"] == change.words_added
    same_text = archiver.archive(capture(url, page("Council approves transport plan", edited) + b" "))
    assert same_text.change is None and not same_text.revisit


def test_page_without_article_is_still_captured(archiver):
    url = f"https://news.example/image/{time.time_ns()}.png"
    result = archiver.archive(capture(url, PNG, response_headers=[("Content-Type", "image/png")]))
    row = archiver.catalogue.get_capture(result.capture_id)
    assert row.article_key is None and row.text_digest is None and row.mime == "image/png"
    assert archiver.read_article(result.capture_id).text == ""
    assert archiver.read_raw(result.capture_id)[2] == PNG
    empty = archiver.archive(capture(url + ".html", b"<html><body></body></html>"))
    assert not empty.spooled and archiver.catalogue.get_capture(empty.capture_id) is not None
    with pytest.raises(CaptureNotFound):
        archiver.read_raw("01NOSUCHCAPTURE00000000000")


def test_verify_detects_a_tampered_object(archiver, monkeypatch, capsys):
    url = f"https://news.example/tamper/{time.time_ns()}"
    result = archiver.archive(capture(url, page()))
    good = archiver.archive(capture(url + "?ok", page()))
    row = archiver.catalogue.get_capture(result.capture_id)
    archiver.store.put(row.warc_key, _tamper(archiver.store.get(row.warc_key)))
    [report] = archiver.verify([result.capture_id])
    assert not report.ok
    assert any("SHA-256" in p for p in report.problems)
    assert any("digest" in p.lower() and "response" in p for p in report.problems)
    settings = archiver_settings(archiver)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["verify", result.capture_id, good.capture_id]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {result.capture_id}" in out and f"ok   {good.capture_id}" in out


def _tamper(warc: bytes) -> bytes:
    """Change one word of the body, keeping one gzip member per record as a real file would."""
    members = []
    while warc:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        members.append(d.decompress(warc))
        warc = d.unused_data
    return b"".join(gzip.compress(m.replace(b"city council", b"city c0uncil")) for m in members)


def archiver_settings(archiver: Archiver) -> dict[str, str]:
    store = archiver.store
    engine = archiver.catalogue.engine
    url = engine.url if archiver.catalogue.kind == "postgresql" else f"sqlite:///{engine.path}"
    creds = store.client._provider.retrieve()
    return {
        "DECLUTTER_DATA_DIR": str(archiver.spool.root.parent),
        "DECLUTTER_S3_ENDPOINT": store.endpoint,
        "DECLUTTER_S3_ACCESS_KEY": creds.access_key,
        "DECLUTTER_S3_SECRET_KEY": creds.secret_key,
        "DECLUTTER_S3_BUCKET": store.bucket,
        "DECLUTTER_DATABASE_URL": url,
    }


def test_spooled_captures_upload_on_the_next_archive_call(settings, s3_server):
    s = settings()
    dead = SnapshotStore("127.0.0.1:9", "x", "y", s.s3_bucket, attempts=2, backoff=0.01)
    with Archiver.from_settings(s) as archiver:
        live = archiver.store
        archiver.store, archiver.retry_after = dead, 0.0
        url = f"https://news.example/spool/{time.time_ns()}"
        first = archiver.archive(capture(url, page()))
        again = archiver.archive(capture(url, page()))
        assert first.spooled and again.spooled and again.revisit
        assert archiver.pending() == 2 and archiver.catalogue.get_capture(first.capture_id) is None
        archiver.store = live
        later = archiver.archive(capture(url, page("Changed", PARAGRAPHS[::-1])))
        assert not later.spooled and archiver.pending() == 0
        ids = [r.id for r in archiver.catalogue.list_captures(url)[0]]
        assert ids == [first.capture_id, again.capture_id, later.capture_id]
        assert archiver.read_raw(again.capture_id)[2] == page()
        assert later.change is not None and later.change.from_id == again.capture_id
        assert all(v.ok for v in archiver.verify(ids))


def test_storage_outage_mid_crawl_loses_nothing_and_sync_completes(settings, monkeypatch, capsys):
    root = temp_dir("declutter-outage-")
    server = SeaweedFS(
        root / "weed", bucket="outage", ports=SeaweedPorts.free(), die_with_parent=True
    ).start()
    try:
        s = settings(s3_endpoint=server.endpoint, s3_bucket="outage")
        archiver = Archiver.from_settings(s)
        archiver.retry_after = 60
        results, errors = [], []
        killed = threading.Event()

        def crawl() -> None:
            for i in range(12):
                if i == 6:
                    killed.wait(30)
                body = page(f"Story {i % 4}", PARAGRAPHS[: 3 + (i // 8)])
                try:
                    results.append(archiver.archive(capture(f"https://news.example/s{i % 4}", body)))
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(exc)

        worker = threading.Thread(target=crawl)
        worker.start()
        while len(results) < 4:
            time.sleep(0.01)
        server.kill()
        killed.set()
        worker.join(60)
        assert errors == [] and len(results) == 12
        spooled = [r for r in results if r.spooled]
        assert len(spooled) >= 6 and archiver.pending() == len(spooled)
        assert any(r.revisit for r in spooled)
        archiver.close()

        server.start()
        for name, value in archiver_settings(archiver).items():
            monkeypatch.setenv(name, value)
        assert cli.main(["sync"]) == 0
        assert f"synced {len(spooled)} of {len(spooled)}" in capsys.readouterr().out
        with Archiver.from_settings(s) as reopened:
            assert reopened.pending() == 0
            for result in results:
                row = reopened.catalogue.get_capture(result.capture_id)
                assert row is not None, result.capture_id
                i = results.index(result)
                assert reopened.read_raw(row.id)[2] == page(f"Story {i % 4}", PARAGRAPHS[: 3 + (i // 8)])
            assert all(v.ok for v in reopened.verify())
        assert cli.main(["verify", "-q"]) == 0
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


def test_capture_times_order_ids(archiver):
    url = f"https://news.example/old/{time.time_ns()}"
    old = datetime.now(UTC) - timedelta(days=400)
    a = archiver.archive(capture(url, b"<p>two</p>", captured_at=old + timedelta(days=1)))
    b = archiver.archive(capture(url, b"<p>one</p>", captured_at=old))
    rows, _ = archiver.catalogue.list_captures(url)
    assert [r.id for r in rows] == [b.capture_id, a.capture_id]
    assert b.capture_id < a.capture_id
    assert archiver.catalogue.get_capture(b.capture_id).warc_key.startswith(f"warc/{old:%Y/%m/%d}/")


def test_database_outage_spools_and_sync_completes(settings):
    """A real PostgreSQL of its own, stopped between captures and started again."""
    root = temp_dir("declutter-pg-outage-")
    pg = PostgresServer(root, die_with_parent=True).start()
    try:
        s = settings(database_url=pg.create_database("outage"))
        catalogue = open_catalogue(s, pool_timeout=1.0)
        with Archiver(SnapshotStore.from_settings(s), catalogue, s.spool_dir) as archiver:
            url = f"https://news.example/db-down/{time.time_ns()}"
            first = archiver.archive(capture(url, page()))
            pg.stop()
            down = archiver.archive(capture(url, page("Edited", PARAGRAPHS[1:])))
            assert down.spooled and archiver.pending() == 1
            pg.start()
            deadline = time.monotonic() + 30
            while archiver.sync().synced == 0 and time.monotonic() < deadline:
                time.sleep(0.2)  # the pool reconnects with its own back-off
            assert archiver.pending() == 0
            rows, _ = archiver.catalogue.list_captures(url)
            assert [r.id for r in rows] == [first.capture_id, down.capture_id]
            assert archiver.read_raw(down.capture_id)[2] == page("Edited", PARAGRAPHS[1:])
            assert all(v.ok for v in archiver.verify())
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(
    "bad",
    [
        {"url": "not a url"},
        {"url": "file:///etc/passwd"},
        {"url": "http://"},
        {"status": 0},
        {"body": "text, not bytes"},
    ],
)
def test_bad_capture_is_refused_with_a_clear_error_and_stores_nothing(settings, bad):
    with Archiver.from_settings(settings()) as archiver:
        values = {"url": "https://news.example/ok", "status": 200, "body": b"x", **bad}
        with pytest.raises(BadCapture) as info:
            archiver.archive(Capture(**values))
        assert str(info.value)
        assert archiver.catalogue.count_captures() == 0 and archiver.pending() == 0


def test_archive_drains_a_backlog_a_batch_at_a_time(settings):
    s = settings()
    with Archiver.from_settings(s) as archiver:
        live, archiver.retry_after = archiver.store, 0.0
        archiver.store = SnapshotStore("127.0.0.1:9", "x", "y", s.s3_bucket, attempts=1)
        base = f"https://news.example/backlog/{time.time_ns()}"
        spooled = [archiver.archive(capture(f"{base}/{i}", page())) for i in range(5)]
        assert all(r.spooled for r in spooled) and archiver.pending() == 5
        archiver.store, archiver.sync_batch = live, 2
        archiver.archive(capture(f"{base}/next", page()))
        assert archiver.pending() == 3
        assert archiver.sync().synced == 3 and archiver.pending() == 0
        assert all(archiver.catalogue.get_capture(r.capture_id) for r in spooled)


def test_refused_credentials_spool_instead_of_losing_the_capture(settings, s3_server):
    s = settings()
    with Archiver.from_settings(s) as archiver:
        live = archiver.store
        archiver.store = SnapshotStore(s3_server.endpoint, "nobody", "wrong", s.s3_bucket)
        result = archiver.archive(capture(f"https://news.example/creds/{time.time_ns()}", page()))
        assert result.spooled and archiver.pending() == 1
        archiver.store = live
        assert archiver.sync().synced == 1
        assert archiver.read_raw(result.capture_id)[2] == page()
