"""Exports stream: 20,000 captures go out as a WACZ with the exporter's peak memory under 200 MB.

The catalogue rows are synthetic (inserted directly); they point at a few hundred small WARC
objects in the real S3 server. The export runs as `declutter export` in its own process, whose
peak resident memory the kernel reports when it exits.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import time
import zipfile
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.catalogue import CaptureRow, open_catalogue, url_key
from crawler.config import Settings
from crawler.snapshot.store import SnapshotStore
from crawler.snapshot.warc import payload_digest
from tests.kit.settings import settings_vars

CAPTURES = 20_000
OBJECTS = 200
PEAK_LIMIT_MB = 200
# Peak memory of the big export beyond a 100-capture one: buffers, not a cost per capture.
GROWTH_LIMIT_MB = 60
T0 = datetime(2023, 1, 1, tzinfo=UTC)


def _response_warc(url: str, body: bytes, when: datetime) -> bytes:
    """A one-record WARC (just the response), the smallest object a capture can point at."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    headers = StatusAndHeaders(
        "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
    )
    record = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), http_headers=headers,
        warc_headers_dict={"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    writer.write_record(record)
    return out.getvalue()


def synthetic_archive(settings: Settings, captures: int, objects: int, site: str) -> int:
    """Fill a catalogue with ``captures`` rows over ``objects`` stored WARCs; returns WARC bytes.

    Rows go straight into the catalogue's table in one transaction (``record_capture`` commits
    each, which would make filling, not exporting, the slow part of the test).
    """
    store = SnapshotStore.from_settings(settings)
    run = time.time_ns()
    stored: list[tuple[str, str, str, int]] = []
    for i in range(objects):
        url = f"https://{site}/story/{i}"
        body = (f"<html><body><h1>Story {i}</h1>" + "<p>Words of the story. </p>" * 40
                + "</body></html>").encode()
        warc = _response_warc(url, body, T0)
        key = f"synthetic/{run}/{i}.warc.gz"
        store.put(key, warc, "application/warc")
        stored.append((url, key, payload_digest(body), len(warc)))
    total = 0
    rows = []
    for n in range(captures):
        url, key, digest, size = stored[n % objects]
        total += size
        rows.append(
            CaptureRow(
                id=f"01SYNTH{run % 10**9:09d}{n:08d}",
                url=url,
                url_key=url_key(url),
                captured_at=T0 + timedelta(seconds=n),
                status=200,
                payload_digest=digest,
                warc_key=key,
                warc_sha256="0" * 64,
                warc_size=size,
                mime="text/html",
                title=f"Story {n % objects}",
                word_count=120,
                text_digest=f"sha256:{n % objects}",
            )
        )
    with open_catalogue(settings) as catalogue:
        dialect = catalogue.dialect
        columns = [f.name for f in fields(CaptureRow)]
        values = [
            [dialect.time(v) if c == "captured_at" else dialect.to_db(c, v)
             for c, v in ((c, getattr(row, c)) for c in columns)]
            for row in rows
        ]
    with sqlite3.connect(settings.sqlite_path) as db:
        db.executemany(
            f"INSERT INTO captures ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            values,
        )
    db.close()
    return total


# The export's own peak: VmHWM of its address space, read by the process itself as it ends. The
# kernel's ru_maxrss would not do: a child inherits the high-water mark of the process that forked
# it (pytest, large by the end of a run), so it measures the test runner, not the exporter.
_MEASURED_EXPORT = """
import sys
from crawler.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(f"peak_kb={peak_kb}", file=sys.stderr)
sys.exit(code)
"""


def _export_peak_mb(which: list[str], out: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run `declutter export ... --format wacz` in its own process: (peak RSS in MB, CPU seconds)."""
    before = os.times()
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURED_EXPORT, "export", *which, "--format", "wacz",
         "-o", str(out), "--progress", "never"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    after = os.times()
    peak_kb = int(completed.stderr.rsplit("peak_kb=", 1)[1].split()[0])
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return peak_kb / 1024, cpu


def test_exporting_20000_captures_keeps_memory_flat(settings, tmp_path: Path) -> None:
    config = settings(database="sqlite")
    site = "synthetic.example"
    warc_bytes = synthetic_archive(config, CAPTURES, OBJECTS, site)

    env = {**os.environ, **settings_vars(config)}
    small_mb, _ = _export_peak_mb(["--url", f"https://{site}/story/0"], tmp_path / "small.wacz", env)
    started = time.monotonic()
    out = tmp_path / "big.wacz"
    peak_mb, cpu = _export_peak_mb(["--site", site], out, env)
    print(f"exported {CAPTURES} captures ({warc_bytes / 1e6:.0f} MB of WARC) in "
          f"{time.monotonic() - started:.1f} s (cpu {cpu:.1f} s); peak RSS {peak_mb:.0f} MB, "
          f"{small_mb:.0f} MB for {CAPTURES // OBJECTS} captures")
    assert peak_mb < PEAK_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB for {CAPTURES} captures"
    assert peak_mb - small_mb < GROWTH_LIMIT_MB, (
        f"memory grows with the export: {small_mb:.0f} MB for {CAPTURES // OBJECTS} captures, "
        f"{peak_mb:.0f} MB for {CAPTURES}"
    )

    with zipfile.ZipFile(out) as archive:
        assert archive.getinfo("archive/data.warc.gz").file_size == warc_bytes
        with archive.open("pages/pages.jsonl") as pages:
            assert sum(1 for _ in pages) == CAPTURES + 1
        with archive.open("indexes/index.cdx") as index:
            previous = b""
            entries = 0
            for line in index:
                assert line >= previous
                previous = line
                entries += 1
        assert entries >= CAPTURES
        package = json.loads(archive.read("datapackage.json"))
        assert {r["path"] for r in package["resources"]} == {
            "archive/data.warc.gz", "indexes/index.cdx", "pages/pages.jsonl"
        }
