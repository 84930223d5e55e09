"""``archive(capture)``: the one way a page is kept (``readback`` reads it back).

Order matters so nothing is lost: build every object, upload them, then write the catalogue row
(with its search text and any change) in one transaction. If the store (or the catalogue) is
unreachable, the finished objects and the row wait in the spool and ``sync`` completes them, on
the next ``archive`` call once storage answers again or by ``declutter sync``.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.archive.article import article_of, text_digest
from crawler.archive.checkpoints import Checkpoints
from crawler.archive.pixels import pixel_digest
from crawler.archive.readback import ReadBack, VerifyResult, sha256
from crawler.archive.revisits import Previous, Revisits
from crawler.catalogue import (
    CaptureNotFound,
    CaptureRow,
    Catalogue,
    ChangeRow,
    new_capture_id,
    open_catalogue,
    url_key,
)
from crawler.catalogue.diff import count_changes
from crawler.config import Settings
from crawler.extract import Article
from crawler.snapshot.capture import Capture
from crawler.snapshot.store import (
    SnapshotStore,
    Spool,
    SpoolEntry,
    StorageError,
    StorageUnavailable,
)
from crawler.snapshot.warc import payload_digest, resource_digests, to_warc

log = logging.getLogger(__name__)

# While storage is down, how often ``archive`` asks it whether it is back (seconds).
PROBE_INTERVAL = 1.0


@dataclass
class ArchiveResult:
    """What ``archive`` did with one capture.

    ``first``: the catalogue held no capture of this URL before (a crawl counts it as new);
    ``change`` is set when the clean text differs from the previous capture's.
    """

    capture_id: str
    revisit: bool
    article: Article
    change: ChangeRow | None = None
    spooled: bool = False
    warc_key: str = ""
    bytes_stored: int = 0
    first: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "capture_id": self.capture_id,
            "revisit": self.revisit,
            "first": self.first,
            "spooled": self.spooled,
            "warc_key": self.warc_key,
            "bytes_stored": self.bytes_stored,
            "article": self.article.to_dict(),
            "change": self.change.to_dict() if self.change else None,
        }


@dataclass
class SyncReport:
    synced: int = 0
    remaining: int = 0
    error: str | None = None


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y/%m/%d")


def _change(previous: Previous | None, row: CaptureRow, text: str) -> ChangeRow | None:
    """A text change against the previous capture of the URL, when both had an article."""
    if previous is None or not previous.text or not text or previous.row.text_digest == row.text_digest:
        return None
    added, removed = count_changes(previous.text, text)
    return ChangeRow(
        url=row.url,
        url_key=row.url_key,
        from_id=previous.row.id,
        to_id=row.id,
        words_added=added,
        words_removed=removed,
        title_before=previous.row.title,
        title_after=row.title,
        detected_at=datetime.now(UTC),
    )


class BadCapture(ValueError):
    """A capture that cannot be archived as given; nothing was stored."""


def _check(capture: Capture) -> None:
    parts = urlsplit(capture.url or "")
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise BadCapture(f"capture URL {capture.url!r} must be an absolute http(s) URL with a host")
    if capture.from_reader_only:
        if capture.status != 0 or not capture.fetch_error:
            raise BadCapture(
                "a reader-only capture has no HTTP status (0) and must say why the server's fetch "
                "failed; build it with Capture.from_reader"
            )
    elif not isinstance(capture.status, int) or not 100 <= capture.status <= 599:
        raise BadCapture(f"capture status {capture.status!r} is not an HTTP status code (100-599)")
    if not isinstance(capture.body, bytes | bytearray):
        raise BadCapture("capture body must be bytes as received; encode text before archiving")


@dataclass
class _Entry:
    """One capture ready to keep: its objects in upload order, its catalogue row, text and change."""

    result: ArchiveResult
    objects: list[tuple[str, str, bytes]]
    row: CaptureRow
    text: str
    change: ChangeRow | None


class Archiver(ReadBack):
    """Stores captures (objects, then one catalogue transaction); ``ReadBack`` reads them back."""

    def __init__(
        self,
        store: SnapshotStore,
        catalogue: Catalogue,
        spool_dir: Path,
        *,
        retry_after: float = 5.0,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        super().__init__(store, catalogue)
        # Signs the capture log's head now and then; None (tests' bare archivers) signs nothing.
        self.checkpoints = checkpoints
        self.spool = Spool(spool_dir)
        self.revisits = Revisits(catalogue, self.spool, on_outage=self._mark_down)
        self.retry_after = retry_after
        self._down_until = 0.0
        self._failures = 0
        self._storage_down = False  # the last outage was the store's (a ping can tell it is back)
        self._probed = 0.0
        self.sync_batch = 25
        self._sync_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Archiver:
        store, catalogue = SnapshotStore.from_settings(settings), open_catalogue(settings)
        checkpoints = Checkpoints.from_settings(store, catalogue, settings)
        return cls(store, catalogue, settings.spool_dir, checkpoints=checkpoints)

    def close(self) -> None:
        self.catalogue.close()

    def __enter__(self) -> Archiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- write side ---

    def archive(self, capture: Capture) -> ArchiveResult:
        """Keep one capture; returns its id even when it had to wait in the spool."""
        _check(capture)
        if capture.captured_at.tzinfo is None:
            capture.captured_at = capture.captured_at.replace(tzinfo=UTC)
        if not self.spool.is_empty() and self._may_sync():
            self.sync(limit=self.sync_batch, wait=False)
        entry = self._prepare(capture)
        if time.monotonic() < self._down_until:
            return self._spool(entry, "storage or catalogue was unreachable moments ago")
        try:
            for object_key, content_type, data in entry.objects:
                self.store.put(object_key, data, content_type)
        except StorageError as exc:
            if not isinstance(exc, StorageUnavailable):
                log.error("storage refused capture %s: %s", entry.row.id, exc)
            self._mark_down()
            self._storage_down = isinstance(exc, StorageUnavailable)
            return self._spool(entry, str(exc))
        try:
            self.catalogue.record_capture(entry.row, text=entry.text, change=entry.change)
        except Exception as exc:
            log.exception("catalogue write failed for %s", entry.row.id)
            self._mark_down()
            return self._spool(entry, f"catalogue: {exc}")
        if self.checkpoints is not None:
            self.checkpoints.after_capture()
        return entry.result

    def _prepare(self, capture: Capture) -> _Entry:
        """Every object and the catalogue row of ``capture``, built before anything is written."""
        capture_id = new_capture_id(capture.captured_at)
        key = url_key(capture.url)
        digest = payload_digest(capture.body)
        previous = self.revisits.previous(capture.url, key)

        revisit_of = self.revisits.same_payload(capture, digest, previous)
        article = article_of(capture)
        text = article.text or ""
        t_digest = text_digest(text)
        day = _day(capture.captured_at)

        objects: list[tuple[str, str, bytes]] = []
        article_key, article_sha, article_object = self._article_object(
            article, capture, capture_id, previous, t_digest, day
        )
        if article_object is not None:
            objects.append(article_object)

        digests = resource_digests(capture)
        if capture.screenshot is not None:  # same image, other PNG bytes: still the same
            digests["screenshot"] = pixel_digest(capture.screenshot) or digests["screenshot"]
        skip: set[str] = set()
        if revisit_of is not None:
            original_digests = self.revisits.resource_digests(revisit_of.capture_id, previous)
            skip = {k for k, d in digests.items() if original_digests.get(k) == d}
        warc = to_warc(capture, capture_id, revisit_of=revisit_of, skip_resources=skip)
        warc_key = f"warc/{day}/{capture_id}.warc.gz"
        objects.insert(0, (warc_key, "application/warc", warc))

        row = CaptureRow(
            id=capture_id,
            url=capture.url,
            url_key=key,
            captured_at=capture.captured_at.astimezone(UTC),
            status=capture.status,
            payload_digest=digest,
            warc_key=warc_key,
            warc_sha256=sha256(warc),
            warc_size=len(warc),
            canonical_url=article.url or capture.url,
            mime=capture.mime,
            text_digest=t_digest,
            article_key=article_key,
            article_sha256=article_sha,
            title=article.title,
            byline=article.byline,
            published=article.published,
            lang=article.lang,
            site_name=article.site_name,
            word_count=article.word_count or len(text.split()),
            rendered=capture.rendered_html is not None,
            crawl_id=capture.crawl_id,
            revisit=revisit_of is not None,
            revisit_of=revisit_of.capture_id if revisit_of else None,
            resource_digests=digests,
            source=capture.source,
            fetch_error=capture.fetch_error,
        )
        change = _change(previous, row, text)
        result = ArchiveResult(
            capture_id,
            revisit_of is not None,
            article,
            change,
            warc_key=warc_key,
            bytes_stored=sum(len(data) for _, _, data in objects),
            first=previous is None,
        )
        return _Entry(result, objects, row, text, change)

    @staticmethod
    def _article_object(
        article: Article,
        capture: Capture,
        capture_id: str,
        previous: Previous | None,
        t_digest: str | None,
        day: str,
    ) -> tuple[str | None, str | None, tuple[str, str, bytes] | None]:
        """(key, sha256, new object or None): an unchanged article reuses the previous object."""
        if (
            t_digest
            and previous is not None
            and previous.row.article_key
            and (previous.row.text_digest, previous.row.title) == (t_digest, article.title)
        ):
            return previous.row.article_key, previous.row.article_sha256, None
        if not (t_digest or article.title):
            return None, None, None
        body = json.dumps(
            {**article.to_dict(), "capture_id": capture_id, "source_url": capture.url},
            ensure_ascii=False,
        ).encode("utf-8")
        body = gzip.compress(body, compresslevel=6, mtime=0)
        key = f"article/{day}/{capture_id}.json.gz"
        return key, sha256(body), (key, "application/gzip", body)

    def _may_sync(self) -> bool:
        """Past the back-off, or storage was what failed and it answers a ping now.

        The back-off (up to a minute) spares a dead store a write per capture; a ping, at most
        once a second, lets the spool drain as soon as storage is back instead of a minute later.
        A catalogue outage waits out its back-off: its connect can take seconds, not a ping's.
        """
        now = time.monotonic()
        if now >= self._down_until:
            return True
        if not self._storage_down or now - self._probed < PROBE_INTERVAL:
            return False
        self._probed = now
        if not self.store.ping():
            return False
        self._down_until, self._storage_down = 0.0, False
        return True

    def _mark_down(self) -> None:
        """Spool without trying for a while; the wait doubles while outages last (max 60 s)."""
        delay = min(self.retry_after * (2 ** min(self._failures, 6)), 60.0)
        self._failures += 1
        self._down_until = time.monotonic() + delay

    def _spool(self, entry: _Entry, reason: str) -> ArchiveResult:
        row = entry.row
        record = {
            "capture": row.to_dict(),
            "text": entry.text,
            "change": entry.change.to_dict() if entry.change else None,
            "reason": reason,
        }
        self.spool.put(row.id, entry.objects, record)
        log.warning("capture %s of %s spooled (%s); `declutter sync` uploads it", row.id, row.url, reason)
        entry.result.spooled = True
        return entry.result

    # --- spool ---

    def pending(self) -> int:
        """Captures waiting in the spool."""
        return len(self.spool)

    def sync(self, limit: int | None = None, *, wait: bool = True) -> SyncReport:
        """Upload spooled captures oldest first and catalogue them; stops at the first outage.

        ``archive`` drains a few (``sync_batch``) per call, and skips the turn when another
        process is syncing, so no single capture waits for a long backlog; ``declutter sync``
        waits for the lock and drains everything.
        """
        report = SyncReport()
        with self._sync_lock, self.spool.exclusive(wait=wait) as held:
            if not held:
                report.remaining = len(self.spool)
                return report
            for entry in self.spool:
                if limit is not None and report.synced >= limit:
                    break
                try:
                    self._sync_one(entry)
                except StorageUnavailable as exc:
                    self._mark_down()
                    self._storage_down = True
                    report.error = str(exc)
                    break
                except Exception as exc:
                    log.exception("spooled capture %s could not be completed", entry.capture_id)
                    self._mark_down()
                    report.error = f"{entry.capture_id}: {exc}"
                    break
                report.synced += 1
            report.remaining = len(self.spool)
        if report.synced and self.checkpoints is not None:
            self.checkpoints.after_capture()
        if report.synced or not report.error:
            self._down_until, self._failures = 0.0, 0
            log.info("synced %d spooled captures, %d remain", report.synced, report.remaining)
        return report

    def _sync_one(self, entry: SpoolEntry) -> None:
        for key, content_type, data in entry.objects():
            self.store.put(key, data, content_type)
        record = entry.record
        row = CaptureRow.from_dict(record["capture"])
        change = ChangeRow.from_dict(record["change"]) if record.get("change") else None
        self.catalogue.record_capture(row, text=record.get("text") or "", change=change)
        self.spool.remove(entry)

    # --- read side ---


__all__ = [
    "ArchiveResult",
    "Archiver",
    "BadCapture",
    "CaptureNotFound",
    "SyncReport",
    "VerifyResult",
    "text_digest",
]
