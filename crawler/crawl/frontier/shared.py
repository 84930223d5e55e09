"""One worker's part in a shared crawl: the Scrapy settings that make a crawl shared, and the run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.config import Settings
from crawler.crawl.definitions import CrawlContext, CrawlDef
from crawler.crawl.frontier.run import DEFAULT_TTL, SharedRun, connect, open_run

# Finish reasons that mean a limit of the crawl was reached: the queue is dropped for everyone.
LIMITS = {"max_pages", "closespider_timeout", "closespider_pagecount"}


def frontier_settings(settings: Settings, run: SharedRun) -> dict[str, Any]:
    """The Scrapy settings that make a crawl shared: everything else stays as configured."""
    return {
        "SCHEDULER": "crawler.crawl.frontier.scheduler.SharedScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": run.queue_key,
        "SCHEDULER_DUPEFILTER_KEY": run.seen_key,
        "REDIS_URL": settings.redis_url,
        "ITEM_PIPELINES": {
            "crawler.crawl.pipelines.CapturePipeline": None,
            "crawler.crawl.frontier.pipeline.SharedCapturePipeline": 300,
        },
        "EXTENSIONS": {"crawler.crawl.frontier.watch.FrontierWatch": 490},
        "DOWNLOADER_MIDDLEWARES": {"crawler.crawl.frontier.politeness.SharedPoliteness": 960},
    }


def remaining(catalogue: Any, crawl_id: str, max_duration: float) -> float:
    """Seconds left of the run's ``max_duration``, counted from when the run opened, so a worker
    that joins late stops with the others instead of starting its own clock."""
    row = catalogue.get_crawl(crawl_id)
    started = row.started_at if row is not None else datetime.now(UTC)
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    left = max_duration - (datetime.now(UTC) - started).total_seconds()
    # CLOSESPIDER_TIMEOUT 0 means no limit: a run out of time stops at once instead
    return max(left, 0.01)


def run_shared_crawl(
    settings: Settings,
    crawl: CrawlDef,
    *,
    fresh: bool = False,
    join_only: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``run_crawl`` for a Redis-shared crawl: open (or join) the run, work on it until the
    frontier is drained, and finish the run if this worker is the one that sees it drained."""
    from crawler.archive import Archiver
    from crawler.crawl.progress import crawl_counts
    from crawler.crawl.settings import scrapy_settings
    from crawler.crawl.spiders import run_spider

    client = connect(settings.redis_url)
    archiver = Archiver.from_settings(settings)
    try:
        catalogue = archiver.catalogue
        crawl_id = open_run(client, catalogue, crawl, join_only=join_only, fresh=fresh)
        if crawl_id is None:
            return {"name": crawl.name, "crawl_id": None, "counts": {}, "reason": "no open run",
                    "complete": True, "resumed": False, "seconds": 0.0}
        values = {**crawl.scrapy, **(overrides or {})}
        ttl = float(values.get("DECLUTTER_WORKER_TTL", DEFAULT_TTL))
        run = SharedRun(client, crawl.name, crawl_id, ttl=ttl)
        context = CrawlContext(crawl=crawl, job=run, crawl_id=crawl_id, archiver=archiver,  # type: ignore[arg-type]
                               catalogue=catalogue, resumed=True, base_counts={})
        limits = {}
        if crawl.max_duration:
            limits["CLOSESPIDER_TIMEOUT"] = remaining(catalogue, crawl_id, crawl.max_duration)
        scrapy_values = scrapy_settings(settings, crawl, **{**frontier_settings(settings, run),
                                                            **limits, **(overrides or {})})
        stats, elapsed = run_spider(scrapy_values, crawl.spider, context)
        reason = str(stats.get("finish_reason", "unknown"))
        mine = crawl_counts(stats)
        run.leave()
        complete = run.close(catalogue, mine, stop=reason in LIMITS)
        totals = run.totals()
    finally:
        archiver.close()
        client.close()
    return {"name": crawl.name, "crawl_id": crawl_id, "counts": totals, "worker_counts": mine,
            "reason": reason, "complete": complete, "resumed": False, "seconds": elapsed,
            "worker": run.worker}
