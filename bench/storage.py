"""Capture write throughput and bytes kept, on a real SeaweedFS with SQLite and PostgreSQL.

Single-threaded (this process pinned to one core; SeaweedFS and PostgreSQL run beside it), the way
a crawl pipeline calls ``archive()``. Baselines measured in the same run: ``extract()`` alone on
the same pages, and a bare S3 put of the same WARC bytes, so the ratios show what the catalogue and
the WARC writing add. Bytes per capture count every object written (WARC + article JSON).

The capture log's cost (issue 16: under 1 ms a capture) is measured on the step it adds to, the
catalogue write: ``record_capture`` plus the checkpoint check after it (signing and storing one
every ``DECLUTTER_LOG_CHECKPOINT_EVERY``), against ``record_capture`` with the log's append
switched off, in alternating blocks of the same run, per engine.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta

from crawler.archive import Archiver
from crawler.catalogue import capture_log
from crawler.cli.services import PostgresServer, SeaweedFS, SeaweedPorts, temp_dir
from crawler.config import Settings
from crawler.snapshot.capture import Capture
from tests.kit.catalogue import T0, capture_row

PAGES = int(os.environ.get("DECLUTTER_BENCH_CAPTURES", "150"))
# Catalogue writes per variant for the capture log's row, in blocks that alternate the variants.
LOG_WRITES, LOG_BLOCK = 2000, 100
WORDS = (
    "council transport plan river bridge budget residents vote mayor committee report tram bus "
    "cycle path shops works review evening chamber debate minutes opponents written published"
).split()


def _page(i: int, rng: random.Random) -> bytes:
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(60)) + ".</p>" for _ in range(12)
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Story {i}</title>"
        "<link rel='stylesheet' href='/s.css'><script>window.x=1</script></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>Story {i}</h1><p class='byline'>By A. Reporter</p>{paragraphs}</article>"
        "<footer>© Example News</footer></body></html>"
    ).encode()


def _capture(i: int, body: bytes, screenshot: bytes | None) -> Capture:
    return Capture(
        url=f"https://bench.example/news/{i}",
        status=200,
        body=body,
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Server", "bench")],
        request_headers=[("User-Agent", "Declutter-bench")],
        rendered_html=body.decode() if screenshot else None,
        screenshot=screenshot,
    )


@dataclass
class Row:
    label: str
    captures: int
    seconds: float
    bytes: list[int]
    note: str = ""

    @property
    def rate(self) -> float:
        return self.captures / self.seconds if self.seconds else 0.0


def _run(archiver: Archiver, captures: list[Capture], label: str, expect_revisit: bool) -> Row:
    sizes = []
    started = time.perf_counter()
    for capture in captures:
        result = archiver.archive(capture)
        if result.spooled or result.revisit != expect_revisit:
            raise RuntimeError(f"{label}: unexpected result {result.to_dict()}")
        sizes.append(result.bytes_stored)
    return Row(label, len(captures), time.perf_counter() - started, sizes)


def _fresh(pages: list[bytes], screenshot: bytes | None) -> list[Capture]:
    return [_capture(i, body, screenshot) for i, body in enumerate(pages)]


@dataclass
class LogRow:
    engine: str
    with_log_ms: float
    without_ms: float
    checkpoints: int

    @property
    def added_ms(self) -> float:
        return self.with_log_ms - self.without_ms


def _log_overhead(archiver: Archiver, engine: str, text: str) -> LogRow:
    """ms per catalogue write with the log (append + checkpoint check) and without (append off),
    medians of alternating blocks so drift in the machine's load falls on both alike."""
    real_append = capture_log.append
    checkpoints = archiver.checkpoints
    assert checkpoints is not None
    before = capture_log.head(archiver.catalogue.engine).checkpoint_seq
    written = 0
    timings: dict[bool, list[float]] = {True: [], False: []}
    for block in range(2 * LOG_WRITES // LOG_BLOCK):
        logged = block % 2 == 0
        rows = [
            capture_row(f"https://bench.example/log/{block}/{i}", T0 + timedelta(seconds=i))
            for i in range(LOG_BLOCK)
        ]
        capture_log.append = real_append if logged else (lambda tx, row: 0)
        try:
            started = time.perf_counter()
            for row in rows:
                archiver.catalogue.record_capture(row, text=text)
                if logged and checkpoints.after_capture():
                    written += 1
            timings[logged].append((time.perf_counter() - started) * 1000 / LOG_BLOCK)
        finally:
            capture_log.append = real_append
    if capture_log.head(archiver.catalogue.engine).checkpoint_seq == before:
        raise RuntimeError(f"{engine}: no checkpoint was written while benchmarking the log")
    return LogRow(engine, statistics.median(timings[True]), statistics.median(timings[False]), written)


def main() -> None:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        pinned = "pinned to one core"
    except (AttributeError, OSError):
        pinned = "not pinned"
    rng = random.Random(7)
    pages = [_page(i, rng) for i in range(PAGES)]
    screenshot = rng.randbytes(60_000)
    root = temp_dir("declutter-bench-")
    s3 = SeaweedFS(root / "weed", bucket="bench", ports=SeaweedPorts.free())
    pg = PostgresServer(root / "pg", fast=False)
    rows: list[Row] = []
    log_rows: list[LogRow] = []
    try:
        s3.start()
        pg.start()
        from crawler.extract import extract

        started = time.perf_counter()
        for i, body in enumerate(pages):
            extract(body, f"https://bench.example/news/{i}")
        rows.append(Row("baseline: extract() only", PAGES, time.perf_counter() - started, []))

        engines = {"sqlite": "", "postgresql": pg.create_database("bench")}
        for n, (engine, url) in enumerate(engines.items()):
            settings = Settings(
                data_dir=root / f"data-{engine}",
                s3_endpoint=s3.endpoint,
                s3_access_key=s3.access_key,
                s3_secret_key=s3.secret_key,
                s3_bucket=s3.bucket,
                database_url=url,
            )
            with Archiver.from_settings(settings) as archiver:
                if n == 0:
                    warc = archiver.read_warc(archiver.archive(_capture(-1, pages[0], None)).capture_id)
                    started = time.perf_counter()
                    for i in range(PAGES):
                        archiver.store.put(f"bench/raw/{i}.warc.gz", warc, "application/warc")
                    rows.append(
                        Row("baseline: bare S3 put of one WARC", PAGES, time.perf_counter() - started, [len(warc)] * PAGES)
                    )
                rows.append(_run(archiver, _fresh(pages, None), f"{engine}: new capture", False))
                rows.append(_run(archiver, _fresh(pages, None), f"{engine}: unchanged re-capture", True))
                if n == 0:
                    shot = [_capture(i + 10_000, b, screenshot) for i, b in enumerate(pages)]
                    rows.append(_run(archiver, shot, f"{engine}: new, rendered + 60 KB PNG", False))
                    again = [_capture(i + 10_000, b, screenshot) for i, b in enumerate(pages)]
                    rows.append(_run(archiver, again, f"{engine}: unchanged, rendered + PNG", True))
                text = " ".join(rng.choice(WORDS) for _ in range(700))
                log_rows.append(_log_overhead(archiver, engine, text))
    finally:
        s3.stop(timeout=5)
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)

    page_bytes = statistics.mean(len(p) for p in pages)
    base = next(r for r in rows if r.label.startswith("baseline: extract")).rate
    print(f"{PAGES} synthetic article pages (~{page_bytes / 1024:.1f} KB HTML each); this process {pinned}")
    print("archive() = WARC build + extract + S3 puts + one catalogue transaction (PostgreSQL with fsync on)")
    print()
    header = f"{'run':42} {'captures/s':>10} {'x extract':>9} {'bytes/capture':>13} {'x page':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        size = statistics.mean(row.bytes) if row.bytes else 0
        print(
            f"{row.label:42} {row.rate:10.1f} {row.rate / base:9.2f}"
            f" {size:13.0f} {size / page_bytes if size else 0:7.2f}"
        )
    print()
    print(f"capture log: {LOG_WRITES} catalogue writes each way (700-word text), blocks of {LOG_BLOCK}"
          " alternating, medians; a checkpoint every DECLUTTER_LOG_CHECKPOINT_EVERY (default 1000)")
    header = f"{'engine':12} {'with log ms':>11} {'without ms':>10} {'added ms':>8} {'ratio':>6} {'checkpoints':>11}"
    print(header)
    print("-" * len(header))
    for log_row in log_rows:
        print(
            f"{log_row.engine:12} {log_row.with_log_ms:11.3f} {log_row.without_ms:10.3f}"
            f" {log_row.added_ms:8.3f} {log_row.with_log_ms / log_row.without_ms:6.2f}"
            f" {log_row.checkpoints:11d}"
            + ("" if log_row.added_ms < 1.0 else "  OVER the 1 ms budget")
        )


if __name__ == "__main__":
    main()
