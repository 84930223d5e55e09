"""Crawl throughput: pages/s of `declutter crawl` beside plain Scrapy fetching the same pages.

A local news site (tests/crawler/site.py: the demo site's articles, N copies) on 127.0.0.1 with a
fixed per-page server latency, a real SeaweedFS and SQLite. Every run is a fresh process with the
same Scrapy concurrency and no politeness delay; times are Scrapy's own (engine open to close), so
process start-up is left out of every row alike.

Rows: plain Scrapy (HTTP, no pipeline) is the baseline; Declutter static capture (render=auto, the
default, and render=never); plain scrapy-playwright rendering the same pages (no pipeline, no
screenshot) beside Declutter rendered capture (render=always: plain fetch + Chromium DOM +
full-page screenshot + archive). Floor: static capture keeps >= half of plain Scrapy's pages/s.

A floor missed is a measurement, shown in the table's floor column and the verdict line; it does
not fail ``make bench``, which fails only when a bench cannot run (a crawl or Scrapy run that
errors, storage that does not start).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = int(os.environ.get("DECLUTTER_BENCH_CRAWL_PAGES", "300"))
RENDER_PAGES = int(os.environ.get("DECLUTTER_BENCH_RENDER_PAGES", "16"))
LATENCY = float(os.environ.get("DECLUTTER_BENCH_CRAWL_LATENCY", "0.05"))
CONCURRENCY = 8
ROUNDS = int(os.environ.get("DECLUTTER_BENCH_CRAWL_ROUNDS", "3"))
LOOPBACK_ONLY = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
# The least share of plain Scrapy's pages/s a row must keep (the issue 18 floor, not lowered).
FLOORS = {"Declutter static, render=auto": 0.5}


def plain_scrapy(urls_file: str, render: bool) -> None:
    """Child process: fetch the URLs with bare Scrapy (or scrapy-playwright), print JSON."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from crawler.config import load
    from crawler.crawl.settings import playwright_settings

    urls = Path(urls_file).read_text().split()

    class Plain(scrapy.Spider):
        name = "plain"

        async def start(self):  # type: ignore[override]
            for url in urls:
                yield scrapy.Request(url, meta={"playwright": render}, callback=self.parse)

        def parse(self, response: Any) -> None:
            self.crawler.stats.inc_value("bench/pages")

    values: dict[str, Any] = {
        "LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": True, "TELNETCONSOLE_ENABLED": False,
        "CONCURRENT_REQUESTS": CONCURRENCY * 4, "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
        "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
        # Scrapy 2.19 ignores the per-host limit without a delay; the fix is not our pipeline
        "DOWNLOADER": "crawler.crawl.middlewares.PoliteDownloader",
    }
    if render:
        handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
        values["DOWNLOAD_HANDLERS"] = {"http": handler, "https": handler}
        values.update(playwright_settings(load(), [], 20.0))
        values["PLAYWRIGHT_LAUNCH_OPTIONS"]["args"] = LOOPBACK_ONLY
    process = CrawlerProcess(values)
    crawler = process.create_crawler(Plain)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    print(json.dumps({"pages": stats.get("bench/pages", 0),
                      "seconds": stats["elapsed_time_seconds"]}))


def _declutter(env: dict[str, str], crawls: Path, name: str) -> dict[str, Any]:
    # a fresh catalogue per run: every page is a new capture, none a cheaper revisit
    env = {**env, "DECLUTTER_DATA_DIR": tempfile.mkdtemp(prefix="data-", dir=env["DECLUTTER_DATA_DIR"])}
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", name, "--file", str(crawls)],
        env=env, capture_output=True, text=True, timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"crawl {name} failed:\n{proc.stderr[-3000:]}")
    from crawler.archive import Archiver
    from crawler.config import Settings

    settings = Settings(data_dir=Path(env["DECLUTTER_DATA_DIR"]), s3_endpoint=env["DECLUTTER_S3_ENDPOINT"],
                        s3_access_key=env["DECLUTTER_S3_ACCESS_KEY"],
                        s3_secret_key=env["DECLUTTER_S3_SECRET_KEY"], s3_bucket=env["DECLUTTER_S3_BUCKET"])
    with Archiver.from_settings(settings) as archiver:
        row = next(r for r in archiver.catalogue.list_crawls() if r.name == name)
    counts = row.counts
    seconds = counts["elapsed_seconds"]
    return {"pages": counts["captured"] + counts["deduplicated"], "seconds": seconds,
            "rendered": counts["rendered"], "errors": counts["errors"]}


def _plain(env: dict[str, str], urls: list[str], workdir: Path, render: bool) -> dict[str, Any]:
    urls_file = workdir / f"urls-{render}.txt"
    urls_file.write_text("\n".join(urls))
    code = f"from bench.crawl import plain_scrapy; plain_scrapy({str(urls_file)!r}, {render})"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"plain Scrapy failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    from crawler.cli.services import SeaweedFS, SeaweedPorts, temp_dir
    from tests.kit.crawls import crawl_def, write_crawls
    from tests.kit.site import SiteServer

    root = temp_dir("declutter-bench-crawl-")
    s3 = SeaweedFS(root / "weed", bucket="bench-crawl", ports=SeaweedPorts.free())
    s3.start(timeout=90)
    site = SiteServer(None, extra_articles=PAGES, page_delay=LATENCY).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DECLUTTER_")}
        env.update({
            "DECLUTTER_DATA_DIR": str(root / "data"), "DECLUTTER_S3_ENDPOINT": s3.endpoint,
            "DECLUTTER_S3_ACCESS_KEY": s3.access_key, "DECLUTTER_S3_SECRET_KEY": s3.secret_key,
            "DECLUTTER_S3_BUCKET": s3.bucket, "PYTHONPATH": str(ROOT),
        })
        static = [site.url(f"/more/{n}.html") for n in range(PAGES)]
        rendered = [site.url(f"/more/{n}.html") for n in range(RENDER_PAGES)]
        common = {"concurrency": CONCURRENCY, "timeout": 20,
                  "scrapy": {"AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "ERROR",
                             "PLAYWRIGHT_LAUNCH_OPTIONS": {"args": LOOPBACK_ONLY}}}
        crawls = write_crawls(root / "crawls.toml", {
            "static-auto": crawl_def("urls", static, render="auto", **common),
            "static-never": crawl_def("urls", static, render="never", **common),
            "rendered": crawl_def("urls", rendered, render="always", **common),
        })
        runs = [
            ("plain Scrapy (HTTP, no pipeline)", lambda: _plain(env, static, root, False)),
            ("Declutter static, render=auto", lambda: _declutter(env, crawls, "static-auto")),
            ("Declutter static, render=never", lambda: _declutter(env, crawls, "static-never")),
            ("plain scrapy-playwright (render only)", lambda: _plain(env, rendered, root, True)),
            ("Declutter rendered, render=always", lambda: _declutter(env, crawls, "rendered")),
        ]
        # rounds interleaved, best of each kept: the machine is shared, and a throughput is
        # bounded by its least disturbed run
        best: dict[str, dict[str, Any]] = {}
        (root / "data").mkdir()
        for _ in range(ROUNDS):
            for label, measure in runs:
                result = measure()
                if label not in best or result["seconds"] < best[label]["seconds"]:
                    best[label] = result
        rows = [(label, best[label]) for label, _ in runs]
    finally:
        site.stop()
        s3.stop(timeout=5)
        shutil.rmtree(root, ignore_errors=True)
    base = rows[0][1]["pages"] / rows[0][1]["seconds"]
    render_base = rows[3][1]["pages"] / rows[3][1]["seconds"]
    print(f"{PAGES} static pages, {RENDER_PAGES} rendered, server latency {LATENCY * 1000:.0f} ms, "
          f"{CONCURRENCY} requests per host, SeaweedFS + SQLite, best of {ROUNDS} rounds\n")
    print(f"| {'run':40} | pages | seconds | pages/s | vs plain Scrapy | vs plain render | "
          f"{'floor (vs plain Scrapy)':23} |")
    print(f"|{'-' * 42}|------:|--------:|--------:|----------------:|----------------:|"
          f"{'-' * 25}|")
    missed = []
    for label, r in rows:
        rate = r["pages"] / r["seconds"]
        floor = FLOORS.get(label)
        verdict = ""
        if floor is not None:
            verdict = f">= {floor:.2f}: " + ("ok" if rate / base >= floor else "BELOW FLOOR")
            if rate / base < floor:
                missed.append(f"{label} at {rate / base:.2f} x plain Scrapy (floor {floor:.2f})")
        print(f"| {label:40} | {r['pages']:5} | {r['seconds']:7.2f} | {rate:7.1f} | "
              f"{rate / base:15.2f} | {rate / render_base:15.2f} | {verdict:23} |")
    if missed:
        print(f"\nBELOW FLOOR (reported, not a failed run): {'; '.join(missed)}")
    else:
        print("\nevery floor held")

if __name__ == "__main__":
    main()
