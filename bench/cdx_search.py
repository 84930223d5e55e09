"""CDX URL matching and collapsed search over a catalogue of re-captured articles.

Catalogue: CDX_CAPTURES synthetic captures in SQLite and in PostgreSQL: 400 hosts (each with a
``www``-less host and two subdomains), every article captured 5 times of which 4 keep its text.

CDX: ``Catalogue.iter_by_key`` (the /cdx route's query) for matchType exact, prefix, host and
domain, first 1,000 rows. Baseline in the same run: the same rows selected the pre-range way, with
``LIKE 'prefix%'`` on url_key (what an unindexed prefix match costs), and a get-by-id. Plans are
printed so the index use is visible.

Search: ``Catalogue.search`` collapsed (the default) and with ``collapse=False``, page 1 and
page 5 (limit 20); the collapsed page must hold 20 distinct (url, text) versions.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from itertools import islice

from crawler.catalogue import CaptureRow, key_ranges, open_catalogue, url_key
from crawler.cli.services import PostgresServer, temp_dir
from crawler.config import Settings

CAPTURES = int(os.environ.get("DECLUTTER_BENCH_CDX_CAPTURES", "100000"))
REPEATS = int(os.environ.get("DECLUTTER_BENCH_CDX_REPEATS", "20"))
HOSTS = 400
RECAPTURES = 5
T0 = datetime(2024, 1, 1, tzinfo=UTC)
WORDS = [f"w{n}" for n in range(3000)]


def _host(n: int) -> str:
    base = f"paper{n % HOSTS}.example"
    return [base, f"news.{base}", f"www.{base}", f"sport.{base}"][(n // HOSTS) % 4]


def _fill(settings: Settings) -> float:
    started = time.perf_counter()
    rng = random.Random(7)
    weights = [1.0 / (i + 1) for i in range(len(WORDS))]
    columns = [f.name for f in fields(CaptureRow)]
    with open_catalogue(settings) as catalogue:
        dialect = catalogue.dialect
        insert_row = dialect.sql(
            f"INSERT INTO captures ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        insert_text = dialect.sql(dialect.insert_text())
        captures, texts = [], []
        articles = CAPTURES // RECAPTURES
        for a in range(articles):
            url = f"https://{_host(a)}/2024/story-{a}"
            text = " ".join(rng.choices(WORDS, weights, k=80))
            for k in range(RECAPTURES):
                n = a * RECAPTURES + k
                if k == RECAPTURES - 1:
                    text = text + " correction appended"
                row = CaptureRow(
                    id=f"01CDX{n:021d}", url=url, url_key=url_key(url),
                    captured_at=T0 + timedelta(hours=k * 24, seconds=a), status=200,
                    payload_digest=f"sha1:{n}", warc_key=f"warc/b/{n}.warc.gz", warc_sha256="0" * 64,
                    warc_size=20_000, mime="text/html", title=f"Story {a}", word_count=80,
                    text_digest=f"sha256:{a}:{k == RECAPTURES - 1}",
                )
                captures.append([
                    dialect.time(getattr(row, c)) if c == "captured_at" else dialect.to_db(c, getattr(row, c))
                    for c in columns
                ])
                texts.append([row.id, row.title, text])
            if len(captures) >= 5000 or a == articles - 1:
                with catalogue.engine.transaction() as tx:
                    tx.cursor.executemany(insert_row, captures)
                    tx.cursor.executemany(insert_text, texts)
                captures, texts = [], []
        if dialect.name == "postgresql":
            with catalogue.engine.transaction() as tx:
                tx.cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _time(call: Callable[[], object]) -> tuple[float, float]:
    call()
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[-1]


def _like_rows(catalogue, prefixes: list[str]) -> int:
    """The pre-range way (the old site filter): LIKE 'prefix%' on url_key, same rows built."""
    escaped = [p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for p in prefixes]
    where = " OR ".join("url_key LIKE ? ESCAPE '\\'" for _ in prefixes)
    return len(catalogue._select(f"WHERE {where}", escaped, "ORDER BY url_key, captured_at, id LIMIT 1000"))


def _plan(catalogue, low: str, high: str) -> str:
    key = catalogue.dialect.url_key_sorted()
    sql = f"SELECT id FROM captures WHERE {key} >= ? AND {key} < ? ORDER BY {key}, captured_at, id LIMIT 1000"
    prefix = "EXPLAIN QUERY PLAN " if catalogue.kind == "sqlite" else "EXPLAIN "
    with catalogue.engine.transaction(write=False) as tx:
        rows = tx.execute(prefix + sql, [low, high]).rows()
    return " | ".join(str(r.get("detail") or r.get("QUERY PLAN")) for r in rows)


def bench(settings: Settings, label: str) -> tuple[list[tuple], list[str]]:
    results: list[tuple] = [(label, f"fill {CAPTURES:,} captures", _fill(settings), None, None)]
    notes: list[str] = []
    with open_catalogue(settings) as catalogue:
        results.append((label, "baseline: get one capture by id", None,
                        *_time(lambda: catalogue.get_capture("01CDX000000000000000000123"))))
        cases = {
            "exact": "https://paper7.example/2024/story-7",
            "prefix": "https://paper7.example/2024/",
            "host": "https://paper7.example/",
            "domain": "https://paper7.example/",
        }
        for match, url in cases.items():
            got: list[str] = []

            def run(match: str = match, url: str = url, got: list[str] = got) -> None:
                got[:] = [r.id for r in islice(catalogue.iter_by_key(url, match=match), 1000)]

            p50, worst = _time(run)
            results.append((label, f"cdx {match} ({len(got)} rows)", None, p50, worst))
            (low, high), *_ = key_ranges(url, match)  # the host itself; its ports are a 2nd range
            if high is not None:
                prefixes = [low] if match != "domain" else [low, low[:-1] + ","]
                results.append((label, f"  baseline: LIKE prefix ({match})", None,
                                *_time(lambda prefixes=prefixes: _like_rows(catalogue, prefixes))))
                if match == "domain":
                    notes.append(f"{label} plan (domain range): {_plan(catalogue, low, high)}")
        for collapse in (True, False):
            name = "collapsed" if collapse else "all"
            for offset in (0, 80):
                hits: list = []

                def search(collapse: bool = collapse, offset: int = offset, hits: list = hits) -> None:
                    hits[:] = catalogue.search("w1 w2", limit=20, offset=offset, collapse=collapse)

                p50, worst = _time(search)
                versions = len({(h.capture.url_key, h.capture.text_digest) for h in hits})
                results.append((label, f"search {name}, offset {offset} ({versions} versions)",
                                None, p50, worst))
    return results, notes


def main() -> None:
    root = temp_dir("declutter-bench-cdx-")
    pg = PostgresServer(root / "pg", fast=False)
    try:
        pg.start()
        rows, notes = bench(Settings(data_dir=root / "sqlite"), "sqlite")
        more, more_notes = bench(
            Settings(data_dir=root / "pg-data", database_url=pg.create_database("bench_cdx")), "postgresql"
        )
        rows += more
        notes += more_notes
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)

    print(f"CDX matching and search: {CAPTURES:,} captures ({RECAPTURES} per article, 4 share a text),"
          f" {REPEATS} runs each (ms)")
    header = f"{'engine':10} {'run':42} {'p50 ms':>8} {'max ms':>8} {'p50 x get':>9}"
    print(header)
    print("-" * len(header))
    base: dict[str, float] = {}
    for engine, label, seconds, p50, worst in rows:
        if seconds is not None:
            print(f"{engine:10} {label:42} {'(' + format(seconds, '.1f') + ' s)':>17}")
            continue
        if label.startswith("baseline"):
            base[engine] = p50
        print(f"{engine:10} {label:42} {p50 * 1e3:8.2f} {worst * 1e3:8.2f} {p50 / base[engine]:9.1f}")
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
