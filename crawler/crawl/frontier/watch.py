"""The shared run's Scrapy extension: heartbeat, rescue of dead workers, and when to close."""

from __future__ import annotations

import logging
from typing import Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from crawler.crawl.frontier.run import DEFAULT_TTL, SharedRun
from crawler.crawl.frontier.scheduler import SharedScheduler

log = logging.getLogger(__name__)


class FrontierWatch:
    """Keeps this worker alive in Redis, rescues dead workers' requests, and keeps an idle worker
    open while others may still add links; lets it close when the whole run is drained."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.ttl = crawler.settings.getfloat("DECLUTTER_WORKER_TTL", DEFAULT_TTL)
        self.interval = min(1.0, self.ttl / 3)
        self.loop: task.LoopingCall | None = None
        self.closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    @property
    def run(self) -> SharedRun:
        return self.crawler.spider.context.job

    @property
    def scheduler(self) -> SharedScheduler:
        return self.crawler.engine._slot.scheduler  # type: ignore[union-attr]

    def spider_opened(self) -> None:
        self.run.join()
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(self.interval, now=False)

    def tick(self) -> None:
        try:
            self.run.beat()
            self.scheduler.release_done()
            self.run.recover_dead()
            engine = self.crawler.engine
            if self.closing or not engine.spider_is_idle():
                return
            if len(self.scheduler.queue):
                request = self.scheduler.next_request()
                if request is not None:
                    engine.crawl(request)  # back through enqueue_request: it keeps its token
            elif self.run.drained():
                # Scrapy re-checks an idle spider only every 5 s; the run is over now.
                self.closing = True
                deferred_from_coro(engine.close_spider_async(reason="finished"))
        except Exception:  # Redis hiccup: the next tick tries again; the TTL allows for several
            log.warning("frontier heartbeat failed", exc_info=True)

    def spider_idle(self) -> None:
        self.scheduler.release_done()
        self.run.recover_dead()
        queued, inflight, _ = self.run.state()
        if queued or inflight:
            raise DontCloseSpider

    def spider_closed(self, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
