"""Per-host politeness across every worker of a shared crawl, kept in Redis.

Scrapy's per-domain concurrency and delay hold within one process; without a shared gate N
workers would put N times the load on a site.
"""

from __future__ import annotations

import asyncio
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.crawl.frontier.run import connect, worker_name

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
