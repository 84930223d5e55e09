"""The web app's history page for a URL with 1,000 captures and one with 100,000: server time.

One catalogue (SQLite, then PostgreSQL) holds both URLs, every third capture a recorded text
change, written in bulk; the real server runs on 127.0.0.1, and an aiohttp client times
``GET /web/<url>``. The same run times a minimal aiohttp handler that returns a body of the same
size (the floor any page has on this machine) and the parts of the page on their own: the summary
counted in SQL, one page of the timeline, and the template.
Aims (issue 19): the 1,000-capture history under 50 ms, the 100,000-capture one under 200 ms.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CAPTURES = 1000
BIG = 100_000
RUNS = 30
WARMUP = 3
AIMS_MS = {CAPTURES: 50.0, BIG: 200.0}
URL = "https://news.example.org/2025/03/harbour-pier-future"
BIG_URL = "https://news.example.org/live/harbour-webcam-notes"


def _fill(catalogue: Any, count: int, url: str = URL, hours: float = 19.0) -> None:
    """``count`` captures of ``url``, ``hours`` apart, every third a change, in 5,000-row batches."""
    from crawler.catalogue import CAPTURE_COLUMNS, CaptureRow, new_capture_id, url_key

    dialect = catalogue.dialect
    key = url_key(url)
    start = datetime(2022, 1, 1, 6, 0, tzinfo=UTC)
    insert_row = dialect.sql(
        f"INSERT INTO captures ({', '.join(CAPTURE_COLUMNS)})"
        f" VALUES ({', '.join('?' * len(CAPTURE_COLUMNS))})"
    )
    insert_change = dialect.sql(
        "INSERT INTO changes (url, url_key, from_id, to_id, words_added, words_removed,"
        " title_before, title_after, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    previous: str | None = None
    for first in range(0, count, 5000):
        rows, changes = [], []
        for i in range(first, min(first + 5000, count)):
            moment = start + timedelta(hours=hours * i)
            changed = previous is not None and i % 3 == 0
            row = CaptureRow(
                id=new_capture_id(moment), url=url, url_key=key, captured_at=moment, status=200,
                payload_digest=f"sha1:{i:032d}", warc_key=f"warc/{i}.warc.gz",
                warc_sha256=f"{i:064x}", warc_size=40_000, mime="text/html",
                text_digest=f"sha256:{i // 3:064x}", title="The future of the old pier",
                site_name="Harbour Gazette", word_count=800,
                revisit=previous is not None and not changed and i % 2 == 0,
            )
            rows.append([
                dialect.time(row.captured_at) if c == "captured_at" else dialect.to_db(c, getattr(row, c))
                for c in CAPTURE_COLUMNS
            ])
            if changed:
                changes.append([url, key, previous, row.id, 12 + i % 7, 3 + i % 5, row.title,
                                row.title, dialect.time(moment)])
            previous = row.id
        with catalogue.engine.transaction() as tx:
            tx.cursor.executemany(insert_row, rows)
            tx.cursor.executemany(insert_change, changes)
    if dialect.name == "postgresql":
        with catalogue.engine.transaction() as tx:
            tx.cursor.execute("ANALYZE")


async def start_site(app: Any) -> tuple[Any, str]:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def _summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9) - 1], ordered[0]


async def _time_get(session: Any, url: str) -> tuple[list[float], int]:
    samples: list[float] = []
    size = 0
    for i in range(WARMUP + RUNS):
        started = time.perf_counter()
        async with session.get(url) as response:
            body = await response.read()
            assert response.status == 200, (response.status, body[:300])
        if i >= WARMUP:
            samples.append((time.perf_counter() - started) * 1000)
        size = len(body)
    return samples, size


async def measure(
    data_dir: Path, database_url: str = "", engine: str = "sqlite"
) -> tuple[list[tuple[str, list[float]]], dict[str, int]]:
    import aiohttp
    from aiohttp import web

    from crawler.catalogue import open_catalogue
    from crawler.config import Settings
    from server.app import create_app

    settings = Settings(
        data_dir=data_dir, database_url=database_url, rate_limit=0, crawls_file=data_dir / "none.toml"
    )
    catalogue = open_catalogue(settings)
    _fill(catalogue, CAPTURES)
    _fill(catalogue, BIG, BIG_URL, hours=0.25)
    small = "https://news.example.org/2025/03/short-story"
    _fill_small(catalogue, small)

    app = create_app(settings, catalogue=catalogue)
    runner, base = await start_site(app)
    counts: dict[str, int] = {}
    try:
        async with aiohttp.ClientSession() as session:
            history, size = await _time_get(session, f"{base}/web/{URL}")
            counts["history bytes"] = size
            page = await (await session.get(f"{base}/web/{URL}")).text()
            counts["captures listed"] = page.count('<li class="')
            big, _ = await _time_get(session, f"{base}/web/{BIG_URL}")
            short, _ = await _time_get(session, f"{base}/web/{small}")

            body = b"x" * size

            async def minimal(request: web.Request) -> web.Response:
                return web.Response(body=body, content_type="text/html")

            floor_app = web.Application()
            floor_app.router.add_get("/", minimal)
            floor_runner, floor_base = await start_site(floor_app)
            try:
                floor, _ = await _time_get(session, floor_base + "/")
            finally:
                await floor_runner.cleanup()
        parts = {count: _parts(app, catalogue, url) for count, url in ((CAPTURES, URL), (BIG, BIG_URL))}
    finally:
        await runner.cleanup()
        catalogue.close()
    rows = [
        ("minimal aiohttp handler, same body size (baseline)", floor),
        (f"{engine}: GET /web/<url>, {CAPTURES:,} captures", history),
        (f"{engine}: GET /web/<url>, {BIG:,} captures", big),
        (f"{engine}: GET /web/<url>, 3 captures", short),
    ]
    for count, (summaries, pages, renders) in parts.items():
        rows += [
            (f"{engine}:   {count:,}: summary counted in SQL", summaries),
            (f"{engine}:   {count:,}: one timeline page read", pages),
            (f"{engine}:   {count:,}: timeline + template render", renders),
        ]
    return rows, counts


def _parts(app: Any, catalogue: Any, url: str) -> tuple[list[float], list[float], list[float]]:
    """The page's stages outside HTTP: the summary, one page of the timeline, then the template."""
    from crawler.catalogue import history as catalogue_history
    from server.web import history, pages, views

    summaries: list[float] = []
    reads: list[float] = []
    renders: list[float] = []
    template = app[pages.JINJA].get_template("history.html")
    for _ in range(RUNS):
        started = time.perf_counter()
        summary = catalogue_history.summary(catalogue, url)
        counted = time.perf_counter()
        entries, _ = catalogue_history.page(catalogue, url, limit=history.HISTORY_PAGE)
        read = time.perf_counter()
        timeline = views.history_timeline(summary, entries, lambda y, m: f"#{y}-{m}")
        template.render(
            url=url, years=timeline.years, total=timeline.total, counts=timeline.counts,
            first=timeline.first, last=timeline.last, older_href=None, signed_in=False,
        )
        ended = time.perf_counter()
        summaries.append((counted - started) * 1000)
        reads.append((read - counted) * 1000)
        renders.append((ended - read) * 1000)
    return summaries, reads, renders


def _fill_small(catalogue: Any, url: str) -> None:
    from crawler.catalogue import CaptureRow, new_capture_id, url_key

    for i in range(3):
        moment = datetime(2025, 3, 1 + i, tzinfo=UTC)
        catalogue.record_capture(
            CaptureRow(
                id=new_capture_id(moment), url=url, url_key=url_key(url), captured_at=moment,
                status=200, payload_digest=f"sha1:s{i}", warc_key=f"w/s{i}", warc_sha256="0" * 64,
                warc_size=1, title="A short story",
            ),
            text="short",
        )


def main() -> None:
    from crawler.cli.services import PostgresServer, ServiceError, temp_dir

    root = temp_dir("declutter-bench-webapp-")
    table: list[tuple[str, list[float]]] = []
    counts: dict[str, int] = {}
    pg = PostgresServer(root / "pg")
    try:
        rows, counts = asyncio.run(measure(root / "sqlite"))
        table += rows
        try:
            pg.start()
        except (ServiceError, OSError, subprocess.CalledProcessError) as exc:
            print(f"(PostgreSQL rows skipped: {exc})")
        else:
            rows, _ = asyncio.run(
                measure(root / "pg-data", pg.create_database("webapp"), "postgresql")
            )
            table += rows[1:]
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    baseline = statistics.median(table[0][1])
    print(f"History page of one URL with {CAPTURES:,} captures and of one with {BIG:,}, in one "
          f"catalogue; server and client on 127.0.0.1; {RUNS} runs after {WARMUP} warm-up runs")
    print(f"(page: {counts['history bytes'] / 1024:.0f} KiB, {counts['captures listed']} timeline "
          "entries: one page)\n")
    print(f"| {'measure':<54} | {'median ms':>9} | {'p90 ms':>7} | {'min ms':>7} | {'x baseline':>10} |")
    print("|" + "-" * 56 + "|" + "-" * 11 + "|" + "-" * 9 + "|" + "-" * 9 + "|" + "-" * 12 + "|")
    for name, samples in table:
        median, p90, low = _summary(samples)
        print(f"| {name:<54} | {median:>9.1f} | {p90:>7.1f} | {low:>7.1f} | {median / baseline:>10.2f} |")
    print()
    for name, samples in table:
        for count, aim in AIMS_MS.items():
            if name.endswith(f"GET /web/<url>, {count:,} captures"):
                median = statistics.median(samples)
                verdict = "meets" if median < aim else "MISSES"
                print(f"{name}: median {median:.1f} ms {verdict} the {aim:.0f} ms aim")


if __name__ == "__main__":
    main()
