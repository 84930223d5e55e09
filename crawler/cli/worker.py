"""`declutter worker`: join the open runs of shared crawls (crawler/crawl/frontier/) from any machine.

Kept apart from the frontier so that every other `declutter` command starts without importing
Scrapy and scrapy-redis.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from crawler.config import Settings
from crawler.errors import DeclutterError

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    worker = subparsers.add_parser(
        "worker",
        help="join the open runs of shared crawls (needs DECLUTTER_REDIS_URL)",
        description="Work on every crawl that has an open run in Redis (opened by `declutter "
        "crawl NAME` or the scheduler), one run at a time, each in a child process; wait for "
        "new runs when there are none. Run as many workers as you like, on any machine.",
    )
    worker.add_argument("--file", type=Path, help="crawls file (default: DECLUTTER_CRAWLS_FILE)")
    worker.add_argument("--crawl", metavar="NAME",
                        help="join NAME's open run in this process and exit when it is drained")
    worker.add_argument("--poll", type=float, default=2.0, help="seconds between looks for runs")
    worker.add_argument("--once", action="store_true", help="one pass over the open runs, then exit")
    worker.add_argument("--log-level", default="WARNING", help="Scrapy log level on stderr")
    worker.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from crawler import config
    from crawler.cli.crawl import _load, print_summary
    from crawler.crawl.frontier import FrontierError, run_shared_crawl

    settings = config.load()
    if not settings.redis_url:
        raise DeclutterError("workers share crawls through Redis: set DECLUTTER_REDIS_URL "
                             "(e.g. redis://127.0.0.1:6379/0)")
    path = args.file or settings.crawls_file
    crawls = _load(settings, path)
    if args.crawl:
        if args.crawl not in crawls:
            raise DeclutterError(f"no crawl named {args.crawl!r} in {path}")
        try:
            result = run_shared_crawl(settings, crawls[args.crawl], join_only=True,
                                      overrides={"LOG_LEVEL": args.log_level.upper()})
        except FrontierError as exc:
            raise DeclutterError(str(exc)) from exc
        if result["crawl_id"] is not None:
            print_summary(result, sys.stdout)
        return 0 if result["complete"] else 3
    return supervise(settings, Path(path), poll=args.poll, once=args.once,
                     log_level=args.log_level)


def supervise(settings: Settings, crawls_file: Path, *, poll: float, once: bool,
              log_level: str) -> int:
    """Twisted runs one crawl per process, so each run a worker joins is a child process."""
    from crawler.crawl.definitions import CrawlConfigError, load_crawls
    from crawler.crawl.frontier import ACTIVE_KEY, FrontierError, connect

    try:
        client = connect(settings.redis_url)
    except FrontierError as exc:
        raise DeclutterError(str(exc)) from exc
    child: subprocess.Popen | None = None
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)  # Scrapy finishes its pages; the rest is requeued

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        try:
            known = load_crawls(crawls_file)
        except CrawlConfigError as exc:
            log.error("%s; waiting for a good crawls file", exc)
            known = {}
        active = (n.decode() if isinstance(n, bytes) else n for n in client.smembers(ACTIVE_KEY))
        for name in sorted(n for n in active if n in known):
            if stopping:
                break
            child = subprocess.Popen([sys.executable, "-m", "crawler.cli", "worker", "--crawl", name,
                                      "--file", str(crawls_file), "--log-level", log_level])
            child.wait()
            child = None
        if once:
            break
        time.sleep(poll)
    client.close()
    return 0
