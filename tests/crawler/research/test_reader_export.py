"""A reader-only capture (the DOM kept when the server could not fetch) exports and replays.

Its WARC holds a ``resource`` record of the page's URL; a second identical save is a revisit of it.
Both go through the WARC and WACZ exports (cdxj-indexer) and pywb replays them from the WARC.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive import Archiver
from crawler.cli import main
from crawler.cli.services import free_port
from crawler.config import Settings
from crawler.research.export import WACZ_INDEX, Exporter, Selection
from crawler.snapshot.capture import Capture
from tests.kit.pywb import PYWB_BIN, get, run, wait_for_port
from tests.kit.settings import settings_vars

URL = "http://intranet.example.org/memo/42"
DOM = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Memo 42</title></head>"
    "<body><main><article><h1>Memo 42</h1>"
    + "".join(
        f"<p>Paragraph {i} of the memo that only the reader's browser could load from the intranet"
        " because the archive's server was refused the address.</p>"
        for i in range(8)
    )
    + "</article></main></body></html>"
)
WHEN = [datetime(2025, 3, 1, 10, tzinfo=UTC), datetime(2025, 3, 2, 10, tzinfo=UTC)]


def test_reader_capture_exports_and_replays(
    settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    if not (PYWB_BIN / "wayback").exists():
        pytest.fail(f"{PYWB_BIN} is missing: run `make pywb` to install pywb's venv")
    chosen = settings(database="sqlite")
    with Archiver.from_settings(chosen) as archiver:
        results = [
            archiver.archive(Capture.from_reader(URL, DOM, "fetch_refused: refused", captured_at=when))
            for when in WHEN
        ]
        assert [r.revisit for r in results] == [False, True]
        assert "Paragraph 7 of the memo" in results[0].article.text
        assert archiver.read_raw(results[1].capture_id) == (
            0, [("Content-Type", "text/html; charset=utf-8")], DOM.encode()
        )
        assert all(r.ok for r in archiver.verify())

        for name, value in settings_vars(chosen).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        assert main(["show", results[0].capture_id]) == 0
        shown = capsys.readouterr().out
        assert "as the reader's browser showed it (the server could not fetch it: fetch_refused" in shown
        assert "HTTP 0" not in shown
        assert main(["captures", URL]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert ["revisit" in line for line in lines] == [False, True]
        assert all(" reader " in line for line in lines), lines

        exporter = Exporter(archiver.catalogue, archiver)
        warc, wacz = tmp_path / "reader.warc.gz", tmp_path / "reader.wacz"
        exporter.export_to(Selection(url=URL), "warc", warc)
        exporter.export_to(Selection(url=URL), "wacz", wacz)

    records = []
    for record in ArchiveIterator(io.BytesIO(warc.read_bytes()), check_digests=True):
        records.append((record.rec_type, record.content_stream().read()))
        assert record.digest_checker.passed is not False, record.digest_checker.problems
    kinds = [kind for kind, _ in records]
    assert kinds.count("resource") == 1 and kinds.count("revisit") == 1
    assert "response" not in kinds and "request" not in kinds
    assert [body for kind, body in records if kind == "resource"] == [DOM.encode()]

    with zipfile.ZipFile(wacz) as archive:
        index = archive.read(WACZ_INDEX).decode()
    entries = [json.loads(line.split(" ", 2)[2]) for line in index.splitlines() if " " in line]
    page_entries = [e for e in entries if e.get("url") == URL]
    assert sorted(e.get("mime") for e in page_entries) == ["text/html", "warc/revisit"], index

    manager = str(PYWB_BIN / "wb-manager")
    run([manager, "init", "reader"], tmp_path)
    run([manager, "add", "reader", str(warc)], tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    process = subprocess.Popen(
        [str(PYWB_BIN / "wayback"), "-b", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process)
        for when in WHEN:
            status, body = get(f"http://127.0.0.1:{port}/reader/{when:%Y%m%d%H%M%S}id_/{URL}")
            assert (status, body) == (200, DOM.encode()), (when, status, body[:300])
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
