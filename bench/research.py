"""Researcher access: export throughput, and search latency over 100,000 captures.

Export: captures archived with ``archive()`` on a real SeaweedFS + SQLite, exported in each format
(output consumed in memory, as the server streams it). Baseline in the same run: reading every
capture's WARC object one after another, the least any export must do.

Search: 100,000 synthetic captures (Zipf-distributed words, ~120 per text) in SQLite FTS5 and in
PostgreSQL (tsvector + GIN), queried through ``Catalogue.search``; baseline: fetching one capture by
id on the same engine. Latencies are per query, p50 and p99, after a warm-up pass.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import time
from dataclasses import fields
from datetime import UTC, datetime, timedelta

from crawler.archive import Archiver
from crawler.catalogue import CaptureRow, open_catalogue, url_key
from crawler.cli.services import PostgresServer, SeaweedFS, SeaweedPorts, temp_dir
from crawler.config import Settings
from crawler.research.export import FORMATS, Exporter, Selection
from crawler.snapshot.capture import Capture

EXPORT_CAPTURES = int(os.environ.get("DECLUTTER_BENCH_EXPORT_CAPTURES", "300"))
SEARCH_CAPTURES = int(os.environ.get("DECLUTTER_BENCH_SEARCH_CAPTURES", "100000"))
QUERIES_PER_KIND = int(os.environ.get("DECLUTTER_BENCH_QUERIES", "40"))
SITES = [f"site{i}.example" for i in range(20)]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _vocabulary(rng: random.Random, size: int = 6000) -> tuple[list[str], list[float]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size)})
    weights = [1.0 / (rank + 1) for rank in range(len(words))]
    return words, weights


def _article_page(i: int, words: list[str], weights: list[float], rng: random.Random) -> bytes:
    paragraphs = "".join(
        "<p>" + " ".join(rng.choices(words, weights, k=70)).capitalize() + ".</p>" for _ in range(25)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Report {i} | Bench News</title><script>var ads = 1;</script></head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>Report {i}</h1><p class='byline'>By A. Writer</p>{paragraphs}</article>"
        "<aside>Most read: one, two, three</aside><footer>© Bench News</footer></body></html>"
    ).encode()


# --- export ----------------------------------------------------------------------------------


def bench_export(settings: Settings, rng: random.Random) -> list[tuple[str, int, int, float]]:
    words, weights = _vocabulary(rng)
    rows: list[tuple[str, int, int, float]] = []
    with Archiver.from_settings(settings) as archiver:
        for i in range(EXPORT_CAPTURES):
            archiver.archive(
                Capture(
                    url=f"https://export.example/news/{i % (EXPORT_CAPTURES // 3 or 1)}",
                    status=200,
                    body=_article_page(i, words, weights, rng),
                    response_headers=[("Content-Type", "text/html; charset=utf-8")],
                    request_headers=[("User-Agent", "Declutter-bench")],
                    captured_at=T0 + timedelta(minutes=i),
                )
            )
        catalogue = archiver.catalogue
        selection = Selection(site="export.example")
        ids = [row.id for row in selection.rows(catalogue)]

        started = time.perf_counter()
        size = sum(len(archiver.read_warc(capture_id)) for capture_id in ids)
        rows.append(("baseline: read each WARC object", len(ids), size, time.perf_counter() - started))

        exporter = Exporter(catalogue, archiver)
        for fmt in FORMATS:
            started = time.perf_counter()
            size = sum(len(chunk) for chunk in exporter.export(selection, fmt))
            rows.append((f"export {fmt}", len(ids), size, time.perf_counter() - started))
    return rows


# --- search ----------------------------------------------------------------------------------


def _fill(settings: Settings, rng: random.Random, words: list[str], weights: list[float]) -> float:
    """Insert SEARCH_CAPTURES rows with their text in one transaction; returns seconds taken."""
    started = time.perf_counter()
    columns = [f.name for f in fields(CaptureRow)]
    with open_catalogue(settings) as catalogue:
        dialect = catalogue.dialect
        insert_row = dialect.sql(
            f"INSERT INTO captures ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        insert_text = dialect.sql(dialect.insert_text())
        batch = 5000
        for start in range(0, SEARCH_CAPTURES, batch):
            captures, texts = [], []
            for n in range(start, min(start + batch, SEARCH_CAPTURES)):
                url = f"https://{SITES[n % len(SITES)]}/story/{n}"
                title = " ".join(rng.choices(words, weights, k=6)).capitalize()
                text = " ".join(rng.choices(words, weights, k=120))
                row = CaptureRow(
                    id=f"01BENCH{n:019d}", url=url, url_key=url_key(url),
                    captured_at=T0 + timedelta(seconds=n * 30), status=200,
                    payload_digest=f"sha1:{n}", warc_key=f"warc/bench/{n}.warc.gz",
                    warc_sha256="0" * 64, warc_size=20_000, mime="text/html", title=title,
                    word_count=120, text_digest=f"sha256:{n}",
                )
                captures.append([
                    dialect.time(getattr(row, c)) if c == "captured_at" else dialect.to_db(c, getattr(row, c))
                    for c in columns
                ])
                texts.append([row.id, title, text])
            with catalogue.engine.transaction() as tx:
                tx.cursor.executemany(insert_row, captures)
                tx.cursor.executemany(insert_text, texts)
        if dialect.name == "postgresql":
            with catalogue.engine.transaction() as tx:
                tx.cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _queries(rng: random.Random, words: list[str]) -> dict[str, list[dict]]:
    common, middle, rare = words[:30], words[200:1500], words[3000:]
    kinds: dict[str, list[dict]] = {
        "one common word": [], "two words": [], "rare word": [],
        '"exact phrase"': [], "two words + site": [],
    }
    for _ in range(QUERIES_PER_KIND):
        kinds["one common word"].append({"query": rng.choice(common)})
        kinds["two words"].append({"query": f"{rng.choice(middle)} {rng.choice(common)}"})
        kinds["rare word"].append({"query": rng.choice(rare)})
        kinds['"exact phrase"'].append({"query": f'"{rng.choice(common)} {rng.choice(common)}"'})
        kinds["two words + site"].append(
            {"query": f"{rng.choice(middle)} {rng.choice(middle)}", "site": rng.choice(SITES)}
        )
    return kinds


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def bench_search(settings: Settings, rng: random.Random, label: str) -> list[tuple]:
    words, weights = _vocabulary(random.Random(11))
    fill_seconds = _fill(settings, rng, words, weights)
    kinds = _queries(random.Random(5), words)
    results: list[tuple] = [(label, f"fill {SEARCH_CAPTURES:,} captures", fill_seconds, None, None)]
    with open_catalogue(settings) as catalogue:
        ids = [f"01BENCH{rng.randrange(SEARCH_CAPTURES):019d}" for _ in range(200)]
        for capture_id in ids[:20]:
            catalogue.get_capture(capture_id)
        samples = []
        for capture_id in ids:
            started = time.perf_counter()
            catalogue.get_capture(capture_id)
            samples.append(time.perf_counter() - started)
        base_p50, base_p99 = _percentiles(samples)
        results.append((label, "baseline: get one capture by id", None, base_p50, base_p99))
        everything: list[float] = []
        for kind, queries in kinds.items():
            for query in queries[:5]:
                catalogue.search(limit=20, **query)
            samples = []
            for query in queries:
                started = time.perf_counter()
                catalogue.search(limit=20, **query)
                samples.append(time.perf_counter() - started)
            everything += samples
            results.append((label, f"search: {kind}", None, *_percentiles(samples)))
        results.append((label, "search: all kinds", None, *_percentiles(everything)))
    return results


def main() -> None:
    rng = random.Random(3)
    root = temp_dir("declutter-bench-research-")
    s3 = SeaweedFS(root / "weed", bucket="bench", ports=SeaweedPorts.free())
    pg = PostgresServer(root / "pg", fast=False)
    try:
        s3.start()
        pg.start()

        def settings(name: str, database_url: str = "") -> Settings:
            return Settings(
                data_dir=root / f"data-{name}", s3_endpoint=s3.endpoint,
                s3_access_key=s3.access_key, s3_secret_key=s3.secret_key, s3_bucket=s3.bucket,
                database_url=database_url,
            )

        export_rows = bench_export(settings("export"), rng)
        search_rows = bench_search(settings("sqlite"), rng, "sqlite")
        search_rows += bench_search(
            settings("postgresql", pg.create_database("bench_search")), rng, "postgresql"
        )
    finally:
        s3.stop(timeout=5)
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)

    print(f"Export: {EXPORT_CAPTURES} archived article pages on SeaweedFS + SQLite")
    header = f"{'run':34} {'captures':>8} {'MB out':>8} {'MB/s':>8} {'captures/s':>10} {'x baseline':>10}"
    print(header)
    print("-" * len(header))
    base_rate = export_rows[0][2] / export_rows[0][3]
    for label, count, size, seconds in export_rows:
        rate = size / seconds
        print(f"{label:34} {count:8d} {size / 1e6:8.2f} {rate / 1e6:8.2f} {count / seconds:10.1f}"
              f" {rate / base_rate:10.2f}")

    print()
    print(f"Search latency: {SEARCH_CAPTURES:,} synthetic captures, {QUERIES_PER_KIND} queries per kind,"
          " limit 20 (ms)")
    header = f"{'engine':10} {'run':34} {'p50 ms':>8} {'p99 ms':>8} {'p50 x get':>9}"
    print(header)
    print("-" * len(header))
    base: dict[str, float] = {}
    for engine, label, seconds, p50, p99 in search_rows:
        if seconds is not None:
            print(f"{engine:10} {label:34} {'(' + format(seconds, '.1f') + ' s)':>17}")
            continue
        if label.startswith("baseline"):
            base[engine] = p50
        print(f"{engine:10} {label:34} {p50 * 1e3:8.2f} {p99 * 1e3:8.2f} {p50 / base[engine]:9.1f}")


if __name__ == "__main__":
    main()
