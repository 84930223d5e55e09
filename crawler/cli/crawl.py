"""`declutter crawl NAME` (one run now) and `declutter schedule` (the long-lived scheduler)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

from crawler import config
from crawler.crawl.definitions import (
    CrawlBusy,
    CrawlConfigError,
    CrawlContext,
    CrawlDef,
    CrawlJob,
    load_crawls,
)
from crawler.errors import DeclutterError

# Finish reasons after which the run is complete; anything else (a signal, a crash) leaves it
# resumable.
COMPLETE = {"finished", "max_pages", "closespider_timeout", "closespider_pagecount"}


def register(subparsers: Any) -> None:
    crawl = subparsers.add_parser(
        "crawl",
        help="run one crawl from crawls.toml now",
        description="Run the crawl NAME now: progress on stderr, a summary at the end, counts in "
        "the catalogue. An interrupted run (even SIGKILL) resumes where it stopped.",
    )
    crawl.add_argument("name", nargs="?", help="the crawl's name in crawls.toml")
    crawl.add_argument("--file", type=Path, help="crawls file (default: DECLUTTER_CRAWLS_FILE)")
    crawl.add_argument("--list", action="store_true", help="list the crawls in the file and exit")
    crawl.add_argument("--fresh", action="store_true",
                       help="discard an interrupted run of this crawl instead of resuming it")
    crawl.add_argument("--log-level", default="WARNING",
                       help="Scrapy log level on stderr (default WARNING: bad pages only)")
    crawl.set_defaults(func=cmd_crawl)

    schedule = subparsers.add_parser(
        "schedule",
        help="start crawls when their cron schedules are due (long-lived)",
        description="Start each enabled crawl when its schedule fires; never two runs of one "
        "crawl at once; a schedule missed while down runs once on start.",
    )
    schedule.add_argument("--file", type=Path, help="crawls file (default: DECLUTTER_CRAWLS_FILE)")
    schedule.add_argument("--tick", type=float, default=1.0, help="seconds between checks")
    schedule.add_argument("--once", action="store_true",
                          help="start what is due now, wait for it to finish, and exit")
    schedule.set_defaults(func=cmd_schedule)


def _load(settings: config.Settings, path: Path | None) -> dict[str, CrawlDef]:
    try:
        return load_crawls(path or settings.crawls_file)
    except CrawlConfigError as exc:
        raise DeclutterError(str(exc)) from exc


def cmd_crawl(args: argparse.Namespace) -> int:
    settings = config.load()
    crawls = _load(settings, args.file)
    if args.list or not args.name:
        for crawl in crawls.values():
            state = "enabled" if crawl.enabled else "disabled"
            print(f"{crawl.name:24} {crawl.spider:8} {state:9} {crawl.schedule or '-'}")
        return 0
    if args.name not in crawls:
        known = ", ".join(sorted(crawls)) or "none"
        raise DeclutterError(f"no crawl named {args.name!r} in {args.file or settings.crawls_file} (known: {known})")
    try:
        crawls[args.name].all_seeds()
    except CrawlConfigError as exc:
        raise DeclutterError(str(exc)) from exc
    try:
        result = run_crawl(settings, crawls[args.name], fresh=args.fresh,
                           overrides={"LOG_LEVEL": args.log_level.upper()})
    except CrawlBusy as exc:
        raise DeclutterError(f"{exc}; wait for it to finish") from exc
    print_summary(result, sys.stdout)
    return 0 if result["complete"] else 3


def run_crawl(
    settings: config.Settings,
    crawl: CrawlDef,
    *,
    fresh: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one crawl in this process (Twisted allows one per process) and return its summary."""
    from crawler.archive import Archiver
    from crawler.crawl.progress import crawl_counts, sample_urls
    from crawler.crawl.settings import scrapy_settings
    from crawler.crawl.spiders import run_spider

    if settings.redis_url:  # a shared run: workers anywhere join it (crawler/crawl/frontier/)
        from crawler.crawl.frontier import FrontierError, run_shared_crawl

        try:
            return run_shared_crawl(settings, crawl, fresh=fresh, overrides=overrides)
        except FrontierError as exc:
            raise DeclutterError(str(exc)) from exc

    job = CrawlJob(settings.data_dir, crawl.name)
    with job.locked():
        archiver = Archiver.from_settings(settings)
        catalogue = archiver.catalogue
        previous = None if fresh else job.unfinished()
        if previous is not None and catalogue.get_crawl(previous.get("crawl_id", "")) is not None:
            job.resume(previous)
            crawl_id = previous["crawl_id"]
            base = {k: v for k, v in previous.get("counts", {}).items() if isinstance(v, int)}
            base.update(job.journal_counts)  # exact, unlike counts saved every few seconds
            resumed = True
            logging.getLogger(__name__).info("resuming crawl %s (run %s)", crawl.name, crawl_id)
        else:
            job.finish()
            crawl_id = catalogue.start_crawl(crawl.name)
            job.begin(crawl_id)
            base, resumed = {}, False
        context = CrawlContext(crawl=crawl, job=job, crawl_id=crawl_id, archiver=archiver,
                               catalogue=catalogue, resumed=resumed, base_counts=base)
        stats, elapsed = run_spider(
            scrapy_settings(settings, crawl, **(overrides or {})), crawl.spider, context
        )
        reason = str(stats.get("finish_reason", "unknown"))
        counts = crawl_counts(stats, base)
        complete = reason in COMPLETE
        record = {**counts, "urls": sample_urls(stats), "finish_reason": reason, "resumed": resumed,
                  "elapsed_seconds": round(float(stats.get("elapsed_time_seconds", elapsed)), 3)}
        if complete:
            catalogue.finish_crawl(crawl_id, record)
            job.finish()
        else:
            catalogue.update_crawl(crawl_id, record)
            job.save_counts(counts)
        archiver.close()
    return {"name": crawl.name, "crawl_id": crawl_id, "counts": counts, "reason": reason,
            "complete": complete, "resumed": resumed, "seconds": elapsed, "urls": record["urls"],
            "fetched": int(stats.get("declutter/fetched", 0))}


# The summary's lines under the headline: how pages were stored, and what went wrong, by kind.
SUMMARY_LINES = (
    ("captured", "stored whole"),
    ("deduplicated", "revisits"),
    ("rendered", "rendered"),
    ("render_failed", "render failed"),
    ("no_article", "no article"),
    ("errors", "errors"),
    ("skipped", "skipped"),
)


SHOWN_URLS = 5  # of each skip reason's pages; the crawls page shows the first 20


def print_summary(result: dict[str, Any], out: TextIO) -> None:
    """The end of ``declutter crawl``: first what a reader asks (``5 checked: 0 new, 0 changed,
    5 unchanged``), then how the pages were stored and what went wrong.

    A run of unchanged pages stores only revisits; saying "0 captured" there read as a failure.
    """
    from crawler.crawl.progress import checked_line

    counts = result["counts"]
    seconds = result["seconds"]
    # this process's pages over its time: a resumed run's pages include the earlier processes'
    rate = result.get("fetched", counts["pages"]) / seconds if seconds else 0.0
    state = "finished" if result["complete"] else f"interrupted ({result['reason']}); run it again to resume"
    out.write(f"crawl {result['name']} (run {result['crawl_id']}): {state}\n")
    out.write(f"  {checked_line(counts)}\n")
    out.write(f"  {counts['pages']} pages fetched in {seconds:.1f}s ({rate:.1f}/s)"
              f"{', resumed' if result['resumed'] else ''}\n")
    for key, label in SUMMARY_LINES:
        out.write(f"  {label:13} {counts.get(key, 0)}\n")
        details = sorted(k for k in counts if k.startswith(key + "."))
        for detail in details:
            out.write(f"    {detail.split('.', 1)[1]:11} {counts[detail]}\n")
            for url in result.get("urls", {}).get(detail, [])[:SHOWN_URLS]:
                out.write(f"      {url}\n")


def cmd_schedule(args: argparse.Namespace) -> int:
    from crawler.crawl.schedule import Scheduler

    settings = config.load()
    path = args.file or settings.crawls_file
    _load(settings, path)
    scheduler = Scheduler(settings, path)
    if args.once:
        scheduler.run_once()
        return 0
    scheduler.run_forever(tick=args.tick)
    return 0
