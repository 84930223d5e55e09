"""A crawl shared by many processes: its frontier and duplicate filter live in Redis (scrapy-redis).

When ``DECLUTTER_REDIS_URL`` is set, ``declutter crawl NAME`` (what the scheduler and CronJobs
run) opens a run of NAME in Redis and crawls it; ``declutter worker`` processes on any machine
join every open run. They share one request queue and one duplicate filter, so a seed or a link is
fetched by one worker only. It is the same crawler with other Scrapy settings
(``frontier_settings``): the scrapy-redis scheduler, our queue bookkeeping, and a pipeline that
claims each URL before archiving it.

Why the bookkeeping: scrapy-redis pops requests destructively, so a worker killed mid-page would
take its requests with it. Here a pop atomically moves the request into the worker's in-flight
hash (a Lua script), and it leaves that hash only when Scrapy is done with it: downloaded,
parsed, its links queued, its capture archived. Every worker renews a short-lived "alive" key;
when one stops renewing, any other worker puts its in-flight requests back in the queue and drops
its unfinished URL claims. Capturing is idempotent against Redis (a URL is claimed once per run)
and the catalogue (a page this run already holds is recorded, not archived again), so a page
re-fetched after a death is never captured twice.

A run is finished when, in one atomic look, the queue is empty and no live worker holds anything
in flight; the worker that sees it first closes the run in the catalogue.

The package, by job: ``run`` (the Redis model of one run and its Lua scripts), ``scheduler``,
``pipeline``, ``politeness`` (the per-host gate) and ``watch`` (heartbeat and closing) as the
Scrapy components, and ``shared`` (their settings and one worker's run of a crawl).
"""

from crawler.crawl.frontier.pipeline import SharedCapturePipeline
from crawler.crawl.frontier.politeness import HostGate, SharedPoliteness
from crawler.crawl.frontier.run import (
    ACTIVE_KEY,
    DEFAULT_TTL,
    CapturedIndex,
    FrontierError,
    SharedRun,
    connect,
    crawl_prefix,
    open_run,
    run_pointer,
    worker_name,
)
from crawler.crawl.frontier.scheduler import TOKEN, SharedScheduler
from crawler.crawl.frontier.shared import frontier_settings, run_shared_crawl
from crawler.crawl.frontier.watch import FrontierWatch

__all__ = [
    "ACTIVE_KEY",
    "DEFAULT_TTL",
    "TOKEN",
    "CapturedIndex",
    "FrontierError",
    "FrontierWatch",
    "HostGate",
    "SharedCapturePipeline",
    "SharedPoliteness",
    "SharedRun",
    "SharedScheduler",
    "connect",
    "crawl_prefix",
    "frontier_settings",
    "open_run",
    "run_pointer",
    "run_shared_crawl",
    "worker_name",
]
