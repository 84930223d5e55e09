"""One run of a shared crawl in Redis: its keys, its queue with in-flight bookkeeping, its claims.

A pop atomically moves a request into the worker's in-flight hash, and it leaves that hash only
when Scrapy is done with it (``ack``); a worker that stops renewing its "alive" key is recovered
by any other: its in-flight requests go back in the queue and its unfinished URL claims are
dropped. Each step that must be atomic is one of the small Lua scripts below.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterable
from typing import Any

from crawler.crawl.definitions import CrawlDef

log = logging.getLogger(__name__)

ACTIVE_KEY = "declutter:active"
EXACT = ("captured", "deduplicated", "rendered", "no_article", "new", "changed", "unchanged")
DEFAULT_TTL = 30.0
FINISHED_TTL = 86400  # a finished run stays inspectable for a day

# Move the best request from the queue to this worker's in-flight hash, in one step.
_POP = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
local token = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], token, item[2] .. '|' .. item[1])
return {token, item[1]}
"""

# Give a (dead or departing) worker's in-flight requests back to the queue, drop its claims
# on URLs that were never captured and the pages it took against max_pages but never captured.
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
redis.call('HDEL', KEYS[9], ARGV[1])
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

# Take one of the run's max_pages for this worker, if any is left. A page is either captured
# (counted in the exact record) or taken and not yet captured (pending, per worker); together
# they never pass the limit, whichever worker asks.
_TAKE = """
local exact = redis.call('HMGET', KEYS[1], 'captured', 'deduplicated')
local used = tonumber(exact[1] or '0') + tonumber(exact[2] or '0')
for _, n in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(n) end
if used >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return 1
"""

# Give back a taken page that was not captured (claimed elsewhere, failed, or recorded).
_GIVE_BACK = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
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
        self._take = client.register_script(_TAKE)
        self._give_back = client.register_script(_GIVE_BACK)

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
            self.key("alive", worker), self.key("exact"), self.key("pending"),
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

    def take_page(self, limit: int) -> bool:
        """Like ``CrawlJob.take_page``, for the whole run: ``max_pages`` holds across workers."""
        if not limit:
            return True
        keys = [self.key("exact"), self.key("pending")]
        return bool(self._take(keys=keys, args=[self.worker, limit]))

    def give_back_page(self) -> None:
        """A taken page was not captured after all (or is now in the exact record)."""
        self._give_back(keys=[self.key("pending")], args=[self.worker])

    def note(self, url: str, keys: Iterable[str]) -> dict[str, int]:
        """Like ``CrawlJob.note``, but a shared run's counts are each worker's own (a page a dead
        worker counted and another fetched again is in both), except the exact capture counts."""
        return {}

    def record(self, keys: tuple[str, ...], capture_id: str, *, counted: Iterable[str] = (),
               **flags: bool) -> dict[str, int]:
        """Like ``CrawlJob.record``: the run's exact capture counts live beside the index."""
        pipe = self.client.pipeline()  # MULTI/EXEC: a take never sees the page twice or not at all
        for key in keys:
            pipe.hset(self.key("captured"), key, capture_id)
        pipe.hincrby(self.key("exact"), "deduplicated" if flags.get("revisit") else "captured", 1)
        for flag in ("rendered", "no_article"):
            if flags.get(flag):
                pipe.hincrby(self.key("exact"), flag, 1)
        for name in counted:
            if name in ("new", "changed", "unchanged"):
                pipe.hincrby(self.key("exact"), name, 1)
        self._give_back(keys=[self.key("pending")], args=[self.worker], client=pipe)
        pipe.execute()
        return {}

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
        and the other workers end with their pages in flight. Returns whether the run is over,
        or over for this worker: a worker that reached a limit of the run has nothing left to
        resume even while others finish their pages (the last of them finishes the run)."""
        with self.client.lock(self.key("closing"), timeout=60, blocking_timeout=60):
            if stop:
                self.client.delete(self.queue_key)
            totals = self.totals(counts)
            if not self.drained():
                catalogue.update_crawl(self.crawl_id, totals)
                return stop
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
