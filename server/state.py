"""What every handler reaches through the application: settings, backends, guard, tokens, caches.

Storage and the catalogue are opened lazily and re-tried after a failure, so the server starts and
serves posted HTML while they are down, and the endpoints that need them come back on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from aiohttp import web

from crawler.catalogue import BadQuery, CaptureNotFound, CaptureRow, CatalogueUnavailable
from crawler.config import Settings
from crawler.fetch import AddressGuard
from crawler.snapshot.store import StorageUnavailable
from server.auth import TokenStore
from server.errors import BadRequest, NotFound, ServiceUnavailable
from server.metrics import Metrics
from server.render import Renderer
from server.security import CorsPolicy, HostPolicy, RateLimiter

T = TypeVar("T")
log = logging.getLogger("declutter.server")


class Backends:
    """The catalogue and the archiver, opened on first use and re-opened after they fail."""

    def __init__(
        self,
        settings: Settings,
        *,
        archiver: Any = None,
        catalogue: Any = None,
        retry_interval: float = 5.0,
        open_wait: float = 2.0,
    ) -> None:
        self.settings = settings
        self._archiver = archiver
        self._catalogue = catalogue if catalogue is not None else getattr(archiver, "catalogue", None)
        self._owned = archiver is None and catalogue is None
        self._retry_interval = retry_interval
        self._open_wait = open_wait
        self._failures: dict[str, tuple[float, str]] = {}
        self._store_probe: Any = None
        self._locks = {name: asyncio.Lock() for name in ('catalogue', 'storage')}

    def _recent_failure(self, name: str) -> str | None:
        failure = self._failures.get(name)
        if failure and time.monotonic() - failure[0] < self._retry_interval:
            return failure[1]
        return None

    async def _open(self, name: str, opener: Callable[[], T], advice: str) -> T:
        message = self._recent_failure(name)
        if message is None:
            try:
                value = await asyncio.to_thread(opener)
            except Exception as exc:  # any failure to open means "down": say why and retry later
                message = f"{type(exc).__name__}: {exc}"
                self._failures[name] = (time.monotonic(), message)
            else:
                self._failures.pop(name, None)
                return value
        raise ServiceUnavailable(f"the {name} is unavailable ({message}); {advice}")

    @contextlib.asynccontextmanager
    async def _opening(self, name: str) -> AsyncIterator[None]:
        """One opener at a time; others wait briefly, then get a 503 instead of piling up."""
        lock = self._locks[name]
        try:
            await asyncio.wait_for(lock.acquire(), self._open_wait)
        except TimeoutError as exc:
            raise ServiceUnavailable(f"still connecting to the {name}; try again shortly") from exc
        try:
            yield
        finally:
            lock.release()

    async def catalogue(self) -> Any:
        if self._catalogue is None:
            async with self._opening("catalogue"):
                if self._catalogue is None:
                    self._catalogue = await self._open(
                        "catalogue",
                        functools.partial(_open_catalogue, self.settings),
                        "check DECLUTTER_DATABASE_URL and that the database is running",
                    )
        return self._catalogue

    async def archiver(self) -> Any:
        if self._archiver is None:
            catalogue = await self.catalogue()
            async with self._opening("storage"):
                if self._archiver is None:
                    self._archiver = await self._open(
                        "storage",
                        functools.partial(_make_archiver, self.settings, catalogue),
                        "check DECLUTTER_S3_ENDPOINT and that the S3 server is running",
                    )
        return self._archiver

    async def call(self, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking backend call in a thread; an outage becomes a 503, not a 500."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except BadQuery as exc:
            raise BadRequest(str(exc)) from exc
        except CaptureNotFound as exc:
            raise NotFound(str(exc)) from exc
        except Exception as exc:
            if is_unavailable(exc):
                raise ServiceUnavailable(
                    f"the {name} is unavailable ({type(exc).__name__}: {exc}); try again shortly"
                ) from exc
            raise

    async def drain_spool(self) -> Any:
        """Store what waits in the spool once storage answers a ping: the archiver's SyncReport,
        or None when nothing waits or storage is still down.

        The archiver drains its spool only on its next capture and only once its back-off is
        over (up to a minute), so without this a capture made during an outage stayed
        unreadable long after storage came back (issue 21, finding 8).
        """
        archiver = self._archiver
        if archiver is None or not await asyncio.to_thread(archiver.pending):
            return None
        if not await asyncio.to_thread(archiver.store.ping):
            return None
        return await asyncio.to_thread(archiver.sync, None, wait=False)

    async def spooled(self, capture_id: str) -> Any:
        """The catalogue row of a capture still waiting in the spool, or None."""
        archiver = self._archiver
        if archiver is None:
            return None

        def find() -> Any:
            for entry in archiver.spool:
                if entry.capture_id == capture_id:
                    return CaptureRow.from_dict(entry.record["capture"])
            return None

        return await asyncio.to_thread(find)

    async def health(self) -> dict[str, dict[str, Any]]:
        """Each backend pinged on its own, so a down catalogue does not hide the storage's state."""
        checks: dict[str, dict[str, Any]] = {}
        try:
            catalogue = await self.catalogue()
            checks["catalogue"] = await self._ping("catalogue", catalogue)
        except ServiceUnavailable as exc:
            checks["catalogue"] = {"ok": False, "detail": exc.detail}
        store = getattr(self._archiver, "store", None)
        if store is None:
            if self._store_probe is None:
                self._store_probe = await asyncio.to_thread(_make_store, self.settings)
            store = self._store_probe
        checks["storage"] = await self._ping("storage", store)
        return checks

    async def _ping(self, name: str, backend: Any) -> dict[str, Any]:
        try:
            answered = await self.call(name, backend.ping)
        except ServiceUnavailable as exc:
            return {"ok": False, "detail": exc.detail}
        if answered is False:
            return {"ok": False, "detail": f"the {name} did not answer its ping; is it running?"}
        return {"ok": True}

    async def close(self) -> None:
        if not self._owned:
            return
        for backend in (self._archiver, self._catalogue):
            closer = getattr(backend, "close", None)
            if closer is not None:
                try:
                    await asyncio.to_thread(closer)
                except Exception:  # closing a broken backend must not stop shutdown
                    pass


# How often the server looks for spooled captures to store, and the longest pause after a failed
# sync (the catalogue still down, say): doubling from DRAIN_INTERVAL, so a long outage is not
# logged every second.
DRAIN_INTERVAL = 1.0
DRAIN_MAX_PAUSE = 30.0


async def drain_spool_while_running(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: drain the spool in the background as soon as storage answers."""
    backends = app[BACKENDS]

    async def loop() -> None:
        pause = DRAIN_INTERVAL
        while True:
            await asyncio.sleep(pause)
            try:
                report = await backends.drain_spool()
            except Exception:  # a broken entry or backend must not end the loop
                log.exception("draining the spool failed")
                report = None
                pause = min(pause * 2, DRAIN_MAX_PAUSE)
                continue
            failed = report is not None and report.error and not report.synced
            pause = min(pause * 2, DRAIN_MAX_PAUSE) if failed else DRAIN_INTERVAL

    task = asyncio.create_task(loop(), name="declutter-spool-drain")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _open_catalogue(settings: Settings) -> Any:
    from crawler.catalogue import open_catalogue

    return open_catalogue(settings)


def _make_archiver(settings: Settings, catalogue: Any) -> Any:
    from crawler.archive import Archiver
    from crawler.archive.checkpoints import Checkpoints

    store = _make_store(settings)
    checkpoints = Checkpoints.from_settings(store, catalogue, settings)  # the capture log's
    return Archiver(store, catalogue, settings.spool_dir, checkpoints=checkpoints)


def _make_store(settings: Settings) -> Any:
    from crawler.snapshot.store import SnapshotStore

    return SnapshotStore.from_settings(settings)


# The typed outages of our backends; ConnectionError (refused, reset) for any other socket.
_OUTAGES = (CatalogueUnavailable, StorageUnavailable, ConnectionError)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or its cause) means a backend is down rather than a bug or bad input."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _OUTAGES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ResponseCache:
    """A least-recently-used map from a request digest to a ready response body, bounded in bytes."""

    def __init__(self, max_entries: int, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def get(self, key: str) -> bytes | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: bytes) -> None:
        if self.max_entries <= 0 or len(value) > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._size -= len(old)
        self._items[key] = value
        self._size += len(value)
        while len(self._items) > self.max_entries or self._size > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)


SETTINGS = web.AppKey("settings", Settings)
CORS = web.AppKey("cors", CorsPolicy)
HOSTS = web.AppKey("hosts", HostPolicy)
BACKENDS = web.AppKey("backends", Backends)
GUARD = web.AppKey("guard", AddressGuard)
TOKENS = web.AppKey("tokens", TokenStore)
LIMITER = web.AppKey("limiter", RateLimiter)
CLEAN_CACHE = web.AppKey("clean_cache", ResponseCache)
METRICS = web.AppKey("metrics", Metrics)
RESOLVER = web.AppKey("resolver", object)  # an aiohttp AbstractResolver, or None for the system's
EXTRACT = web.AppKey("extract", object)
RENDERER = web.AppKey("renderer", Renderer)  # the extraction function (crawler.extract.extract)

def public_base(request: web.Request) -> str:
    """Where links to this server start (``DECLUTTER_PUBLIC_URL``, else the checked Host)."""
    return request.app[HOSTS].base(request)


__all__ = [
    "BACKENDS",
    "Backends",
    "CLEAN_CACHE",
    "CORS",
    "EXTRACT",
    "GUARD",
    "HOSTS",
    "LIMITER",
    "METRICS",
    "RENDERER",
    "RESOLVER",
    "ResponseCache",
    "SETTINGS",
    "TOKENS",
    "is_unavailable",
    "public_base",
]
