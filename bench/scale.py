"""Scaling out: pages/s of one shared crawl with 1 worker process and with 2, and the ratio.

Real services on 127.0.0.1: SeaweedFS, PostgreSQL (the shared catalogue) and Redis (the shared
frontier), and the local test site (tests/crawler/site.py) with a fixed per-page latency. Each row
is a fresh catalogue database; with 2 workers both processes start together and share the run.
The rate is pages over the span from the first capture to the last (so process start-up counts
the same for every row); the wall time from start to the run finished in the catalogue is shown
beside it.

Scenarios: latency-bound (each worker keeps 2 requests in flight against a slow site that allows
more: a crawl of many sites, where the per-host limits are not what binds); politeness (the same
site allowing 2 requests at once: the limit is shared through Redis, so a second worker must not
double the load); CPU-bound (many requests against a fast site: extraction, WARC writing and the
catalogue saturate the machine; this box has 2 cores, shared with every service in the table).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK_ONLY = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
SLOW_PAGES = int(os.environ.get("DECLUTTER_BENCH_SCALE_SLOW_PAGES", "80"))
SCENARIOS = [
    # label, pages, per-page latency (s), requests per host (shared), requests per worker
    ("latency-bound: 200 ms pages, 2/worker, 8/host", SLOW_PAGES, 0.2, 8, 2),
    ("politeness: 200 ms pages, one host at 2/host", SLOW_PAGES, 0.2, 2, 2),
    ("CPU-bound: 10 ms pages, 8/worker, 16/host",
     int(os.environ.get("DECLUTTER_BENCH_SCALE_PAGES", "200")), 0.01, 16, 8),
]


@dataclass
class Row:
    scenario: str
    workers: int
    pages: int
    span: float
    wall: float
    catalogue_bytes: float = 0.0
    redis_bytes: float = 0.0

    @property
    def rate(self) -> float:
        return (self.pages - 1) / self.span if self.span > 0 else 0.0


def _run(env: dict[str, str], crawls: Path, name: str, workers: int, database: str,
         settings_kw: dict[str, Any], expected: int, workdir: Path) -> Row:
    from crawler.catalogue import open_catalogue
    from crawler.config import Settings

    env = {**env, "DECLUTTER_DATABASE_URL": database,
           "DECLUTTER_DATA_DIR": str(workdir / f"data-{name}")}
    command = [sys.executable, "-m", "crawler.cli", "crawl", name, "--file", str(crawls),
               "--log-level", "ERROR"]
    started = time.perf_counter()
    procs = [subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(workers)]
    outputs = [p.communicate(timeout=900) for p in procs]
    wall = time.perf_counter() - started
    for proc, (_, err) in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"crawl {name} failed ({proc.returncode}):\n{err[-3000:]}")
    settings = Settings(**settings_kw, database_url=database, data_dir=workdir / f"data-{name}")
    with open_catalogue(settings) as catalogue:
        rows, _ = catalogue.list_captures(limit=expected + 100)
        crawl = catalogue.list_crawls()[0]
    if len(rows) != expected or len({r.url for r in rows}) != expected:
        raise RuntimeError(f"{name}: {len(rows)} captures of {expected} pages: {crawl.counts}")
    if crawl.finished_at is None:
        raise RuntimeError(f"{name}: the run did not finish: {crawl.counts}")
    times = sorted(r.captured_at for r in rows)
    span = (times[-1] - times[0]).total_seconds()
    return Row("", workers, len(rows), span, wall, _catalogue_bytes(database) / expected,
               _redis_bytes(env["DECLUTTER_REDIS_URL"], name, crawl.id) / expected)


def _catalogue_bytes(database: str) -> int:
    """Tables + indexes + TOAST of the catalogue (captures, search index, crawls)."""
    import psycopg

    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchone()
    return int(row[0] or 0)


def _redis_bytes(url: str, crawl: str, crawl_id: str) -> int:
    """What a finished run keeps in Redis (duplicate filter, capture index, claims)."""
    import redis

    from crawler.crawl.frontier import SharedRun

    client = redis.Redis.from_url(url)
    run = SharedRun(client, crawl, crawl_id, worker="bench")
    total = sum(client.memory_usage(key) or 0 for key in run.keys())
    client.close()
    return total


def _queued_request_bytes(url: str) -> int:
    """One request as it waits in the shared queue (scrapy-redis pickles its dict form)."""
    import scrapy
    from scrapy_redis import picklecompat

    from crawler.crawl.spiders.base import ArchiveSpider

    class Probe(ArchiveSpider):
        def __init__(self) -> None:
            scrapy.Spider.__init__(self, name="probe")

    spider = Probe()
    request = scrapy.Request(url, callback=spider.parse_page, errback=spider.on_error,
                             meta={"declutter_capture": True, "depth": 2})
    return len(picklecompat.dumps(request.to_dict(spider=spider)))


def main() -> None:
    from crawler.cli.services import (
        PostgresServer,
        RedisServer,
        SeaweedFS,
        SeaweedPorts,
        free_port,
        temp_dir,
    )
    from tests.kit.crawls import crawl_def, write_crawls
    from tests.kit.site import SiteServer

    root = temp_dir("declutter-bench-scale-")
    s3 = SeaweedFS(root / "weed", bucket="bench-scale", ports=SeaweedPorts.free())
    pg = PostgresServer(root / "pg", fast=False)
    redis = RedisServer(root / "redis", port=free_port(), persist=False)
    sites: list[SiteServer] = []
    rows: list[Row] = []
    try:
        s3.start(timeout=90)
        pg.start()
        redis.start()
        settings_kw = {"s3_endpoint": s3.endpoint, "s3_access_key": s3.access_key,
                       "s3_secret_key": s3.secret_key, "s3_bucket": s3.bucket}
        env = {k: v for k, v in os.environ.items() if not k.startswith("DECLUTTER_")}
        env.update({
            "DECLUTTER_S3_ENDPOINT": s3.endpoint, "DECLUTTER_S3_ACCESS_KEY": s3.access_key,
            "DECLUTTER_S3_SECRET_KEY": s3.secret_key, "DECLUTTER_S3_BUCKET": s3.bucket,
            "DECLUTTER_REDIS_URL": redis.url, "PYTHONPATH": str(ROOT),
        })
        for n, (label, pages, latency, per_host, per_worker) in enumerate(SCENARIOS):
            site = SiteServer(None, extra_articles=pages, page_delay=latency).start()
            sites.append(site)
            urls = [site.url(f"/more/{i}.html") for i in range(pages)]
            common = {"concurrency": per_host, "timeout": 20, "render": "auto",
                      "scrapy": {"AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "ERROR",
                                 "CONCURRENT_REQUESTS": per_worker,
                                 "DECLUTTER_WORKER_PREFETCH": per_worker,
                                 "PLAYWRIGHT_LAUNCH_OPTIONS": {"args": LOOPBACK_ONLY}}}
            crawls = write_crawls(root / f"crawls{n}.toml", {
                f"s{n}-w{w}": crawl_def("urls", urls, **common) for w in (1, 2)
            })
            for workers in (1, 2):
                name = f"s{n}-w{workers}"
                database = pg.create_database(name.replace("-", "_"))
                row = _run(env, crawls, name, workers, database, settings_kw, pages, root)
                row.scenario = label
                rows.append(row)
    finally:
        for site in sites:
            site.stop()
        redis.stop()
        s3.stop(timeout=5)
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)

    print(f"shared crawl (urls spider, render=auto) over Redis; SeaweedFS + PostgreSQL (fsync on); "
          f"{os.cpu_count()} CPUs\n")
    print(f"| {'scenario':46} | workers | pages | span s | wall s | pages/s | x 1 worker |")
    print(f"|{'-' * 48}|--------:|------:|-------:|-------:|--------:|-----------:|")
    for row in rows:
        base = next(r for r in rows if r.scenario == row.scenario and r.workers == 1)
        print(f"| {row.scenario:46} | {row.workers:7} | {row.pages:5} | {row.span:6.1f} | "
              f"{row.wall:6.1f} | {row.rate:7.1f} | {row.rate / base.rate:10.2f} |")
    catalogue = sum(r.catalogue_bytes for r in rows) / len(rows)
    kept = sum(r.redis_bytes for r in rows) / len(rows)
    queued = _queued_request_bytes("https://news.example.org/2026/11/27/a-typical-article-slug.html")
    print(f"\nPostgreSQL catalogue: {catalogue:,.0f} bytes per captured page (tables, indexes, "
          "search index; synthetic ~9 KB article pages)")
    print(f"Redis: {queued} bytes per queued request (pickled); {kept:,.0f} bytes per page a "
          "finished run keeps (duplicate filter, capture index, claims) until its keys expire")


if __name__ == "__main__":
    main()
