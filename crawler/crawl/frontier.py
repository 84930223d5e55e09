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
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections import deque
from collections.abc import Iterable
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.scheduler import Scheduler as RedisScheduler
from twisted.internet import task

from crawler.config import Settings
from crawler.crawl.definitions import CrawlContext, CrawlDef
from crawler.crawl.pipelines import CapturePipeline

log = logging.getLogger(__name__)

TOKEN = "declutter_frontier_token"
ACTIVE_KEY = "declutter:active"
EXACT = ("captured", "deduplicated", "rendered", "no_article")
DEFAULT_TTL = 30.0
FINISHED_TTL = 86400  # a finished run stays inspectable for a day
LIMITS = {"max_pages", "closespider_timeout", "closespider_pagecount"}

# Move the best request from the queue to this worker's in-flight hash, in one step.
_POP = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
local token = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], token, item[2] .. '|' .. item[1])
return {token, item[1]}
"""

# Give a (dead or departing) worker's in-flight requests back to the queue and drop its claims
# on URLs that were never captured.
_RECOVER = """
local entries = redis.call('HVALS', KEYS[2])
for _, v in ipairs(entries) do
  local sep = string.find(v, '|', 1, true)
  redis.call('ZADD', KEYS[1], tonumber(string.sub(v, 1, sep - 1)), string.sub(v, sep + 1))
end
for _, url in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if redis.call('HGET', KEYS[3], url) == ARGV[1] and redis.call('HEXISTS', KEYS[6], url) == 0 then
    redis.call('HDEL', KEYS[3], url)
  end
end
redis.call('DEL', KEYS[2], KEYS[4], KEYS[7])
redis.call('SREM', KEYS[5], ARGV[1])
if #entries > 0 then redis.call('HINCRBY', KEYS[8], 'requeued', #entries) end
return #entries
"""

# All of a page's URLs are claimed by one worker, or none are.
_CLAIM = """
for i = 2, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if owner and owner ~= ARGV[1] then return 0 end
end
for i = 2, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
  redis.call('SADD', KEYS[2], ARGV[i])
end
return 1
"""

# (queued, in flight anywhere, workers) in one consistent look.
_STATE = """
local inflight = 0
local workers = redis.call('SMEMBERS', KEYS[2])
for _, w in ipairs(workers) do
  inflight = inflight + redis.call('HLEN', ARGV[1] .. w)
end
return {redis.call('ZCARD', KEYS[1]), inflight, #workers}
"""


# Politeness across workers: at most ARGV[1] requests in flight to one host, ARGV[2] ms apart.
# A lease expires on its own (ARGV[3] ms), so a dead worker's slots come back.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('SET', KEYS[2], tostring(now + tonumber(ARGV[2])), 'PX', tonumber(ARGV[2]) + 1000)
return 1
"""


class FrontierError(RuntimeError):
    """Redis is unreachable or the shared run cannot be used; the message says what to do."""


def worker_name() -> str:
    """Host and pid: readable in Redis, unique across pods and processes."""
    return f"{socket.gethostname()}:{os.getpid()}"


def crawl_prefix(name: str) -> str:
    # The braces keep every key of one crawl in one Redis Cluster slot (Lua scripts need that).
    return f"declutter:{{{name}}}"


def connect(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10,
                                  health_check_interval=30)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise FrontierError(
            f"cannot reach Redis at {_redact(url)}: {exc}; start it or fix DECLUTTER_REDIS_URL"
        ) from exc
    return client


def _redact(url: str) -> str:
    head, at, tail = url.rpartition("@")
    return f"{head.split('//')[0]}//***@{tail}" if at else url


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class CapturedIndex:
    """``url in run.captured``: the shared record of URLs this run has captured."""

    def __init__(self, client: Any, key: str) -> None:
        self.client = client
        self.key = key

    def __contains__(self, url: object) -> bool:
        return bool(self.client.hexists(self.key, str(url)))

    def values(self) -> list[str]:
        """Capture ids recorded so far (a spider counts them against ``max_pages``)."""
        return [_text(v) for v in self.client.hvals(self.key)]


class SharedRun:
    """One run of a crawl in Redis, seen from one worker.

    It stands in for ``CrawlJob`` in the ``CrawlContext`` (``captured``, ``record``,
    ``save_counts``, ``totals``), so the spiders, middlewares and pipeline run unchanged.
    """

    def __init__(self, client: Any, crawl: str, crawl_id: str, worker: str | None = None,
                 ttl: float = DEFAULT_TTL) -> None:
        self.client = client
        self.crawl = crawl
        self.crawl_id = crawl_id
        self.worker = worker or worker_name()
        self.ttl = ttl
        self.base = f"{crawl_prefix(crawl)}:{crawl_id}"
        self.captured = CapturedIndex(client, self.key("captured"))
        self._pop = client.register_script(_POP)
        self._recover = client.register_script(_RECOVER)
        self._claim = client.register_script(_CLAIM)
        self._state = client.register_script(_STATE)

    def key(self, *parts: str) -> str:
        return ":".join([self.base, *parts])

    def keys(self) -> list[bytes]:
        """Every Redis key this run has made."""
        pattern = self.base.replace("{", "\\{").replace("}", "\\}") + ":*"
        return list(self.client.scan_iter(match=pattern))

    @property
    def queue_key(self) -> str:
        return self.key("requests")

    @property
    def seen_key(self) -> str:
        return self.key("seen")

    # workers

    def join(self) -> None:
        self.beat()

    def beat(self) -> None:
        """Alive first, then registered: nobody may see a worker listed and not alive. A worker
        that was paused past its TTL and recovered by another registers again here."""
        pipe = self.client.pipeline()
        pipe.set(self.key("alive", self.worker), b"1", px=int(self.ttl * 1000))
        pipe.sadd(self.key("workers"), self.worker)
        pipe.execute()

    def workers(self) -> list[str]:
        return sorted(_text(w) for w in self.client.smembers(self.key("workers")))

    def recover(self, worker: str) -> int:
        """Requeue ``worker``'s in-flight requests and release its uncaptured claims."""
        keys = [
            self.queue_key, self.key("inflight", worker), self.key("claims"),
            self.key("claims", worker), self.key("workers"), self.key("captured"),
            self.key("alive", worker), self.key("exact"),
        ]
        return int(self._recover(keys=keys, args=[worker]))

    def recover_dead(self) -> int:
        """Recover every registered worker whose alive key has expired."""
        moved = 0
        for worker in self.workers():
            if worker != self.worker and not self.client.exists(self.key("alive", worker)):
                count = self.recover(worker)
                log.warning("worker %s stopped renewing; %d in-flight request(s) back in the queue",
                            worker, count)
                moved += count
        return moved

    def leave(self) -> int:
        """This worker is done: whatever it still holds goes back to the queue."""
        return self.recover(self.worker)

    # the queue

    def pop(self) -> tuple[str, bytes] | None:
        found = self._pop(keys=[self.queue_key, self.key("inflight", self.worker),
                                self.key("tokens")])
        if not found:
            return None
        token, data = found
        return _text(token), data

    def ack(self, tokens: Iterable[str]) -> None:
        tokens = list(tokens)
        if tokens:
            self.client.hdel(self.key("inflight", self.worker), *tokens)

    def state(self) -> tuple[int, int, int]:
        """(queued, in flight across workers, registered workers), read atomically."""
        queued, inflight, workers = self._state(
            keys=[self.queue_key, self.key("workers")], args=[self.key("inflight", "")]
        )
        return int(queued), int(inflight), int(workers)

    def drained(self) -> bool:
        queued, inflight, _ = self.state()
        return queued == 0 and inflight == 0

    # captures

    def claim(self, urls: Iterable[str]) -> bool:
        args = [self.worker, *urls]
        return bool(self._claim(keys=[self.key("claims"), self.key("claims", self.worker)], args=args))

    def release(self, urls: Iterable[str]) -> None:
        urls = list(urls)
        pipe = self.client.pipeline()
        for url in urls:
            pipe.hdel(self.key("claims"), url)
        pipe.srem(self.key("claims", self.worker), *urls)
        pipe.execute()

    def record(self, keys: tuple[str, ...], capture_id: str, **flags: bool) -> None:
        """Like ``CrawlJob.record``: the run's exact capture counts live beside the index."""
        pipe = self.client.pipeline()
        for key in keys:
            pipe.hset(self.key("captured"), key, capture_id)
        pipe.hincrby(self.key("exact"), "deduplicated" if flags.get("revisit") else "captured", 1)
        for flag in ("rendered", "no_article"):
            if flags.get(flag):
                pipe.hincrby(self.key("exact"), flag, 1)
        pipe.execute()

    # counts

    def save_counts(self, counts: dict[str, int]) -> None:
        self.client.hset(self.key("counts"), self.worker, json.dumps(counts))

    def totals(self, counts: dict[str, int] | None = None) -> dict[str, int]:
        """The whole run's counts: every worker's last saved counts, with the capture counts
        taken from the exact record (a dead worker's last few seconds are not lost there)."""
        if counts is not None:
            self.save_counts(counts)
        total: dict[str, int] = {}
        for raw in self.client.hvals(self.key("counts")):
            for name, value in json.loads(raw).items():
                if isinstance(value, int) and not isinstance(value, bool):
                    total[name] = total.get(name, 0) + value
        exact = {_text(k): int(v) for k, v in self.client.hgetall(self.key("exact")).items()}
        for name in (*EXACT, "requeued"):
            total[name] = exact.get(name, 0)
        total["workers"] = int(self.client.hlen(self.key("counts")))
        return total

    def close(self, catalogue: Any, counts: dict[str, int], *, stop: bool = False) -> bool:
        """Save this worker's counts; if the run is drained, finish it (once) in the catalogue.
        ``stop``: a limit of the crawl (pages, duration) was reached, so the queue is dropped
        and the other workers end with their pages in flight. Returns whether the run is over."""
        with self.client.lock(self.key("closing"), timeout=60, blocking_timeout=60):
            if stop:
                self.client.delete(self.queue_key)
            totals = self.totals(counts)
            if not self.drained():
                catalogue.update_crawl(self.crawl_id, totals)
                return False
            if self.client.set(self.key("finished"), b"1", nx=True):
                catalogue.finish_crawl(self.crawl_id, totals)
                self._retire()
            else:
                catalogue.update_crawl(self.crawl_id, totals)
            return True

    def _retire(self) -> None:
        """The run is over: the next ``declutter crawl`` opens a new one; its keys expire."""
        pointer = run_pointer(self.crawl)
        pipe = self.client.pipeline()
        if _text(self.client.get(pointer) or b"") == self.crawl_id:
            pipe.delete(pointer)
            pipe.srem(ACTIVE_KEY, self.crawl)
        for key in self.keys():
            pipe.expire(key, FINISHED_TTL)
        pipe.execute()


class HostGate:
    """Per-host politeness shared by every worker: Scrapy's per-domain concurrency and delay
    hold within one process, so without this N workers would put N times the load on a site."""

    def __init__(self, client: Any, *, concurrency: int, delay: float, lease: float) -> None:
        self.client = client
        self.concurrency = max(1, concurrency)
        self.delay_ms = max(0, int(delay * 1000))
        self.lease_ms = max(1000, int(lease * 1000))
        self._acquire = client.register_script(_ACQUIRE)

    @staticmethod
    def keys(host: str) -> list[str]:
        base = f"declutter:host:{{{host.lower()}}}"
        return [f"{base}:leases", f"{base}:next"]

    def try_acquire(self, host: str, lease_id: str) -> bool:
        args = [self.concurrency, self.delay_ms, self.lease_ms, lease_id]
        return bool(self._acquire(keys=self.keys(host), args=args))

    def release(self, host: str, lease_id: str) -> None:
        self.client.zrem(self.keys(host)[0], lease_id)

    def in_flight(self, host: str) -> int:
        return int(self.client.zcard(self.keys(host)[0]))


class SharedPoliteness:
    """Downloader middleware (closest to the network): wait for a host slot in Redis before each
    download and give it back when the response or error arrives."""

    META = "declutter_host_lease"

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.gate = HostGate(
            connect(settings.get("REDIS_URL")),
            concurrency=settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 2),
            delay=settings.getfloat("DOWNLOAD_DELAY", 0.0),
            lease=settings.getfloat("DOWNLOAD_TIMEOUT", 180.0) + 30,
        )
        self.poll = min(0.1, max(0.01, self.gate.delay_ms / 4000))
        self.stats = crawler.stats
        self._leases = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        import asyncio

        host = urlsplit(request.url).hostname
        if not host or self.META in request.meta:
            return None
        self._leases += 1
        lease_id = f"{worker_name()}:{self._leases}"
        waited = 0.0
        while not self.gate.try_acquire(host, lease_id):
            await asyncio.sleep(self.poll)
            waited += self.poll
        if waited:
            self.stats.inc_value("declutter/host_gate_wait_ms", int(waited * 1000))
        request.meta[self.META] = (host, lease_id)
        return None

    def _release(self, request: Request) -> None:
        lease = request.meta.pop(self.META, None)
        if lease is not None:
            self.gate.release(*lease)

    def process_response(self, request: Request, response: Any) -> Any:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._release(request)
        return None


def run_pointer(crawl: str) -> str:
    return f"{crawl_prefix(crawl)}:run"


def open_run(client: Any, catalogue: Any, crawl: CrawlDef, *, join_only: bool = False,
             fresh: bool = False) -> str | None:
    """The id of the crawl's open run, opening one (catalogue row, Redis pointer) if there is
    none; with ``join_only``, None instead of opening."""
    pointer = run_pointer(crawl.name)
    with client.lock(f"{crawl_prefix(crawl.name)}:opening", timeout=60, blocking_timeout=60):
        current = _text(client.get(pointer) or b"")
        if current and not fresh:
            row = catalogue.get_crawl(current)
            if row is not None and row.finished_at is None:
                client.sadd(ACTIVE_KEY, crawl.name)
                return current
        if join_only:
            client.srem(ACTIVE_KEY, crawl.name)
            return None
        crawl_id = catalogue.start_crawl(crawl.name)
        client.set(pointer, crawl_id)
        client.sadd(ACTIVE_KEY, crawl.name)
        return crawl_id


def frontier_settings(settings: Settings, run: SharedRun) -> dict[str, Any]:
    """The Scrapy settings that make a crawl shared: everything else stays as configured."""
    return {
        "SCHEDULER": "crawler.crawl.frontier.SharedScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": run.queue_key,
        "SCHEDULER_DUPEFILTER_KEY": run.seen_key,
        "REDIS_URL": settings.redis_url,
        "ITEM_PIPELINES": {
            "crawler.crawl.pipelines.CapturePipeline": None,
            "crawler.crawl.frontier.SharedCapturePipeline": 300,
        },
        "EXTENSIONS": {"crawler.crawl.frontier.FrontierWatch": 490},
        "DOWNLOADER_MIDDLEWARES": {"crawler.crawl.frontier.SharedPoliteness": 960},
    }


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


class SharedCapturePipeline(CapturePipeline):
    """The capture pipeline, claiming a page's URLs in Redis first: two workers that reach one
    page (say, through a redirect and a direct link) archive it once."""

    def _archive(self, context: CrawlContext, item: Any) -> Any:
        run: SharedRun = context.job
        if not run.claim(item.keys):
            return None
        try:
            return super()._archive(context, item)
        except BaseException:
            run.release(item.keys)
            raise


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
        scrapy_values = scrapy_settings(settings, crawl, **{**frontier_settings(settings, run),
                                                            **(overrides or {})})
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
