"""The shared run's Scrapy scheduler: scrapy-redis's, with in-flight bookkeeping per popped request."""

from __future__ import annotations

from collections import deque
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from crawler.crawl.frontier.run import SharedRun

# The meta key carrying a popped request's in-flight token to every request derived from it.
TOKEN = "declutter_frontier_token"


class SharedScheduler(RedisScheduler):
    """scrapy-redis's scheduler with in-flight bookkeeping.

    Requests a spider yields go to the shared queue through the shared duplicate filter.
    Requests derived from a popped one by downloader middlewares (redirects, retries, the
    Chromium render) stay in this process and keep the popped request's token: if the worker
    dies, the popped request is redone from the start. A token is acknowledged once neither the
    engine nor the local queue holds a request carrying it.
    """

    crawler: Crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        instance = super().from_crawler(crawler)
        instance.crawler = crawler
        return instance

    def open(self, spider: Any) -> None:
        super().open(spider)
        self.run: SharedRun = spider.context.job
        self.local: deque[Request] = deque()
        self.held: set[str] = set()
        # Take no more than can be downloaded: a request waiting here for a host slot is one
        # another worker could be fetching. A crawl is usually one site, hence the default.
        settings = self.crawler.settings
        self.prefetch = settings.getint(
            "DECLUTTER_WORKER_PREFETCH", settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8)
        )

    def enqueue_request(self, request: Request) -> bool:
        if TOKEN in request.meta:
            self.local.append(request)
            return True
        return super().enqueue_request(request)

    def next_request(self) -> Request | None:
        self.release_done()
        if self.local:
            return self.local.popleft()
        if len(self.held) >= self.prefetch:
            return None
        popped = self.run.pop()
        if popped is None:
            return None
        token, data = popped
        request = self.queue._decode_request(data)
        request.meta[TOKEN] = token
        self.held.add(token)
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.local) or len(self.queue) > 0

    def busy_tokens(self) -> set[str]:
        # The engine's in-progress set spans download, callback, link scheduling and the item
        # pipeline, which is exactly "not done yet". Scrapy has no public accessor for it.
        slot = getattr(self.crawler.engine, "_slot", None)
        requests = [*(slot.inprogress if slot is not None else ()), *self.local]
        return {r.meta[TOKEN] for r in requests if TOKEN in r.meta}

    def release_done(self) -> None:
        done = self.held - self.busy_tokens()
        if done:
            self.run.ack(done)
            self.held -= done

    def close(self, reason: str) -> None:
        self.release_done()
        super().close(reason)
