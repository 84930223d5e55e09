"""The web app's history page for a URL with 1,000 captures: how long the server takes to render it.

A fresh SQLite catalogue gets 1,000 captures of one URL (every third one a recorded text change),
the real server runs on 127.0.0.1, and an aiohttp client times ``GET /web/<url>``. The same run
times a minimal aiohttp handler that returns a body of the same size (the floor any page has on
this machine) and the parts of the page on their own: the catalogue reads and the template.
Aim: the 1,000-capture history under 200 ms on the server.
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
RUNS = 30
WARMUP = 3
AIM_MS = 200.0
URL = "https://news.example.org/2025/03/harbour-pier-future"


def _fill(catalogue: Any, count: int) -> None:
    from crawler.catalogue import CaptureRow, ChangeRow, new_capture_id, url_key

    key = url_key(URL)
    start = datetime(2022, 1, 1, 6, 0, tzinfo=UTC)
    previous: CaptureRow | None = None
    for i in range(count):
        moment = start + timedelta(hours=19 * i)
        changed = previous is not None and i % 3 == 0
        row = CaptureRow(
            id=new_capture_id(moment),
            url=URL,
            url_key=key,
            captured_at=moment,
            status=200,
            payload_digest=f"sha1:{i:032d}",
            warc_key=f"warc/{i}.warc.gz",
            warc_sha256=f"{i:064x}",
            warc_size=40_000,
            mime="text/html",
            text_digest=f"sha256:{i // 3:064x}",
            title="The future of the old pier",
            site_name="Harbour Gazette",
            word_count=800,
            revisit=previous is not None and not changed and i % 2 == 0,
        )
        change = None
        if changed and previous is not None:
            change = ChangeRow(
                url=URL, url_key=key, from_id=previous.id, to_id=row.id,
                words_added=12 + i % 7, words_removed=3 + i % 5,
                title_before=row.title, title_after=row.title, detected_at=moment,
            )
        catalogue.record_capture(row, text="The harbour authority met on Monday.", change=change)
        previous = row


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
) -> tuple[list[tuple[str, list[float]]], int, dict[str, int]]:
    import aiohttp
    from aiohttp import web

    from crawler.catalogue import open_catalogue
    from crawler.config import Settings
    from server.app import create_app
    from server.web import history, pages, views

    settings = Settings(
        data_dir=data_dir, database_url=database_url, rate_limit=0, crawls_file=data_dir / "none.toml"
    )
    catalogue = open_catalogue(settings)
    _fill(catalogue, CAPTURES)
    small = "https://news.example.org/2025/03/short-story"
    _fill_small(catalogue, small)

    app = create_app(settings, catalogue=catalogue)
    runner, base = await start_site(app)
    rows: list[tuple[str, list[float]]] = []
    counts: dict[str, int] = {}
    try:
        async with aiohttp.ClientSession() as session:
            history, size = await _time_get(session, f"{base}/web/{URL}")
            counts["history bytes"] = size
            page = await (await session.get(f"{base}/web/{URL}")).text()
            counts["captures listed"] = page.count('<li class="')
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

        # The page's parts, outside HTTP: the two catalogue reads, then timeline + template.
        reads: list[float] = []
        renders: list[float] = []
        env = app[pages.JINJA]
        template = env.get_template("history.html")
        for _ in range(RUNS):
            started = time.perf_counter()
            found, cursor = catalogue.list_captures(URL, limit=history.HISTORY_PAGE, newest_first=True)
            changes = catalogue.changes(URL, limit=10 * history.HISTORY_PAGE)
            middle = time.perf_counter()
            timeline = views.build_timeline(found, changes, complete=cursor is None)
            template.render(
                url=URL, years=timeline.years, total=timeline.total, counts=timeline.counts,
                first=timeline.first, last=timeline.last, older_href=None, signed_in=False,
            )
            ended = time.perf_counter()
            reads.append((middle - started) * 1000)
            renders.append((ended - middle) * 1000)
    finally:
        await runner.cleanup()
        catalogue.close()
    rows = [
        ("minimal aiohttp handler, same body size (baseline)", floor),
        (f"{engine}: GET /web/<url>, {CAPTURES} captures", history),
        (f"{engine}: GET /web/<url>, 3 captures", short),
        (f"{engine}:   catalogue reads ({CAPTURES} + changes)", reads),
        (f"{engine}:   timeline + template render", renders),
    ]
    return rows, CAPTURES, counts


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
        rows, captures, counts = asyncio.run(measure(root / "sqlite"))
        table += rows
        try:
            pg.start()
        except (ServiceError, OSError, subprocess.CalledProcessError) as exc:
            print(f"(PostgreSQL rows skipped: {exc})")
        else:
            rows, _, _ = asyncio.run(
                measure(root / "pg-data", pg.create_database("webapp"), "postgresql")
            )
            table += rows[1:]
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    baseline = statistics.median(table[0][1])
    print(f"History page of one URL with {captures} captures; server and client on 127.0.0.1; "
          f"{RUNS} runs after {WARMUP} warm-up runs")
    print(f"(page: {counts['history bytes'] / 1024:.0f} KiB, {counts['captures listed']} timeline entries)\n")
    print(f"| {'measure':<54} | {'median ms':>9} | {'p90 ms':>7} | {'min ms':>7} | {'x baseline':>10} |")
    print("|" + "-" * 56 + "|" + "-" * 11 + "|" + "-" * 9 + "|" + "-" * 9 + "|" + "-" * 12 + "|")
    for name, samples in table:
        median, p90, low = _summary(samples)
        print(f"| {name:<54} | {median:>9.1f} | {p90:>7.1f} | {low:>7.1f} | {median / baseline:>10.2f} |")
    for name, samples in table:
        if name.endswith(f"GET /web/<url>, {captures} captures"):
            median = statistics.median(samples)
            verdict = "meets" if median < AIM_MS else "MISSES"
            print(f"\n{name}: median {median:.0f} ms {verdict} the {AIM_MS:.0f} ms aim", end="")
    print()


if __name__ == "__main__":
    main()
