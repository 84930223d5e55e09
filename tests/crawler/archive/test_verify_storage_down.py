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
