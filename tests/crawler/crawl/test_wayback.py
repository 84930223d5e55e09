"""The wayback spider against real pywb 2.10 (its own venv), serving WARCs written here."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archive import Archiver
from crawler.cli.services import free_port
from crawler.crawl.spiders.wayback import cdx_query_url, parse_cdx, parse_timestamp
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.paths import ROOT
from tests.kit.site import DEMO

PYWB = ROOT / ".venv-pywb" / "bin"
SITE = "http://news.example"
ARTICLE = DEMO / "articles" / "harbour-bridge-reopens.html"

# (url, WARC-Date, status, content type, body)
RECORDS = [
    (f"{SITE}/articles/bridge.html", "2021-04-03T10:00:00Z", 200, "text/html; charset=utf-8",
     ARTICLE.read_bytes()),
    (f"{SITE}/articles/bridge.html", "2022-06-09T08:30:00Z", 200, "text/html; charset=utf-8",
     ARTICLE.read_bytes().replace(b"two years", b"twenty-six months")),
    (f"{SITE}/articles/gone.html", "2021-05-01T00:00:00Z", 404, "text/html", b"<html>gone</html>"),
    (f"{SITE}/articles/bridge.html", "2019-01-01T00:00:00Z", 200, "text/html",
     ARTICLE.read_bytes().replace(b"two years", b"a year")),
    (f"{SITE}/other/notes.html", "2021-04-03T10:00:00Z", 200, "text/html", ARTICLE.read_bytes()),
]


def write_warc(path: Path) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, date, status, ctype, body in RECORDS:
            reason = "OK" if status == 200 else "Not Found"
            headers = StatusAndHeaders(
                f"{status} {reason}",
                [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers,
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_record(record)


@pytest.fixture(scope="module")
def pywb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """pywb's `wayback` on 127.0.0.1 with one collection `news`; yields the collection URL."""
    if not (PYWB / "wayback").exists():
        pytest.fail(f"pywb is not installed in {PYWB.parent}: run `make pywb`")
    root = tmp_path_factory.mktemp("pywb")
    warc = root / "news.warc.gz"
    write_warc(warc)
    subprocess.run([PYWB / "wb-manager", "init", "news"], cwd=root, check=True, capture_output=True)
    subprocess.run([PYWB / "wb-manager", "add", "news", str(warc)], cwd=root, check=True,
                   capture_output=True)
    port = free_port()
    log = open(root / "wayback.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([PYWB / "wayback", "-b", "127.0.0.1", "-p", str(port)], cwd=root,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/news"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/cdx?url={SITE}/articles/bridge.html", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("pywb did not start: " + (root / "wayback.log").read_text(errors="replace"))
            time.sleep(0.2)
    yield base
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    shutil.rmtree(root, ignore_errors=True)


def test_parse_cdx_reads_both_json_dialects() -> None:
    ia = b'[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],' \
         b'["com,example)/","20200101000000","http://example.com/","text/html","200","ABC","12"]]'
    pywb = b'{"urlkey": "com,example)/", "timestamp": "20210101120000", "url": "http://example.com/",' \
           b' "mime": "text/html", "status": "200", "digest": "XYZ"}\n'
    assert list(parse_cdx(ia)) == [{"timestamp": "20200101000000", "url": "http://example.com/",
                                     "mime": "text/html", "status": "200", "digest": "ABC"}]
    assert [r["digest"] for r in parse_cdx(pywb)] == ["XYZ"]
    assert list(parse_cdx(b"")) == []
    assert parse_timestamp("2021") == datetime(2021, 1, 1, tzinfo=UTC)
    assert parse_timestamp("20210403100000") == datetime(2021, 4, 3, 10, tzinfo=UTC)
    url = cdx_query_url("http://a/cdx", "x.org/p/", match="prefix", since="2021", until="", limit=5)
    assert "matchType=prefix" in url and "from=2021" in url and "to=" not in url


def test_wayback_spider_imports_mementos_with_their_original_time(
    pywb: str, crawl_env: Any, tmp_path: Path
) -> None:
    settings, _, run = crawl_env()
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "ia": crawl_def("wayback", [], wayback={
            "archive": pywb, "url": f"{SITE}/articles/", "match": "prefix",
            "from": "2020", "to": "2023",
        }),
    })
    result = run("ia", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    with Archiver.from_settings(settings) as archiver:
        rows, _ = archiver.catalogue.list_captures(limit=50)
        by_time = {row.captured_at: row for row in rows}
        assert set(by_time) == {
            datetime(2021, 4, 3, 10, 0, tzinfo=UTC),
            datetime(2022, 6, 9, 8, 30, tzinfo=UTC),
        }, "wrong mementos: the 2019 one is before `from`, the 404 and /other/ are not wanted"
        for row in rows:
            assert row.url == f"{SITE}/articles/bridge.html"
        old = archiver.read_article(by_time[datetime(2021, 4, 3, 10, 0, tzinfo=UTC)].id)
        new = archiver.read_article(by_time[datetime(2022, 6, 9, 8, 30, tzinfo=UTC)].id)
        assert "two years after" in old.text and "twenty-six months after" in new.text
        status, _, body = archiver.read_raw(by_time[datetime(2021, 4, 3, 10, 0, tzinfo=UTC)].id)
        assert status == 200 and body == ARTICLE.read_bytes(), "id_ replay must give the original bytes"
        counts = archiver.catalogue.list_crawls()[0].counts
    assert counts["captured"] == 2 and counts["rendered"] == 0 and counts["browsers_started"] == 0
    assert counts.get("skipped.not_ok_memento") == 1, counts
