"""`declutter verify` with storage down says "storage unreachable" once (issue 21, finding 8).

Real SQLite catalogue and real SeaweedFS for the captures; "down" is a loopback port nothing
listens on, so the store's connection is refused at once.
"""

from __future__ import annotations

import time

from crawler import cli
from crawler.archive import Archiver
from crawler.cli.services import free_port
from crawler.snapshot.capture import Capture
from tests.kit.origin import PARAGRAPHS, article_html


def test_verify_with_storage_down_says_so_once(settings, monkeypatch, capsys) -> None:
    chosen = settings()
    with Archiver.from_settings(chosen) as archiver:
        for i in range(5):
            archiver.archive(Capture(
                url=f"https://news.example/verify/{time.time_ns()}/{i}", status=200,
                body=article_html(f"Story {i}", PARAGRAPHS).encode(),
                response_headers=[("Content-Type", "text/html")],
            ))
    monkeypatch.setenv("DECLUTTER_DATA_DIR", str(chosen.data_dir))
    monkeypatch.setenv("DECLUTTER_DATABASE_URL", chosen.database_url)
    monkeypatch.setenv("DECLUTTER_S3_ACCESS_KEY", chosen.s3_access_key)
    monkeypatch.setenv("DECLUTTER_S3_SECRET_KEY", chosen.s3_secret_key)
    monkeypatch.setenv("DECLUTTER_S3_BUCKET", chosen.s3_bucket)
    monkeypatch.setenv("DECLUTTER_S3_ENDPOINT", chosen.s3_endpoint)
    assert cli.main(["verify", "-q"]) == 0
    assert "verified 5 captures: 5 ok" in capsys.readouterr().out

    dead = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("DECLUTTER_S3_ENDPOINT", dead)
    started = time.monotonic()
    code = cli.main(["verify"])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code != 0
    assert output.count("storage unreachable") == 1, output
    assert dead in output and "declutter storage" in output
    assert "FAIL" not in output and "ok " not in output
    assert time.monotonic() - started < 10


def test_the_spool_drains_on_the_first_capture_after_storage_answers(settings) -> None:
    """A long back-off (60 s) does not keep the spool waiting once a ping says storage is back."""
    from crawler.snapshot.store import SnapshotStore

    chosen = settings()
    dead = SnapshotStore(f"127.0.0.1:{free_port()}", "x", "y", chosen.s3_bucket, attempts=1, backoff=0.01)
    with Archiver.from_settings(chosen) as archiver:
        live, archiver.store, archiver.retry_after = archiver.store, dead, 60.0
        url = f"https://news.example/drain/{time.time_ns()}"
        body = article_html("Story", PARAGRAPHS).encode()
        first = archiver.archive(Capture(url=url, status=200, body=body,
                                         response_headers=[("Content-Type", "text/html")]))
        assert first.spooled and archiver.pending() == 1
        second = archiver.archive(Capture(url=url + "?2", status=200, body=body,
                                          response_headers=[("Content-Type", "text/html")]))
        assert second.spooled and archiver.pending() == 2  # still down: spooled, not stored
        archiver.store = live
        time.sleep(1.1)  # one probe interval
        third = archiver.archive(Capture(url=url + "?3", status=200, body=body,
                                         response_headers=[("Content-Type", "text/html")]))
        assert not third.spooled and archiver.pending() == 0
        assert archiver.catalogue.get_capture(first.capture_id) is not None
