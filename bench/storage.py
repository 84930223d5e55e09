"""Capture write throughput and bytes kept, on a real SeaweedFS with SQLite and PostgreSQL.

Single-threaded (this process pinned to one core; SeaweedFS and PostgreSQL run beside it), the way
a crawl pipeline calls ``archive()``. Baselines measured in the same run: ``extract()`` alone on
the same pages, and a bare S3 put of the same WARC bytes, so the ratios show what the catalogue and
the WARC writing add. Bytes per capture count every object written (WARC + article JSON).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import time
from dataclasses import dataclass

from crawler.archive import Archiver
from crawler.cli.services import PostgresServer, SeaweedFS, SeaweedPorts, temp_dir
from crawler.config import Settings
from crawler.snapshot.capture import Capture

PAGES = int(os.environ.get("DECLUTTER_BENCH_CAPTURES", "150"))
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


if __name__ == "__main__":
    main()
