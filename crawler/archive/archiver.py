"""``archive(capture)``: the one way a page is kept, and the read side of what was kept.

Order matters so nothing is lost: build every object, upload them, then write the catalogue row
(with its search text and any change) in one transaction. If the store (or the catalogue) is
unreachable, the finished objects and the row wait in the spool and ``sync`` completes them, on
the next ``archive`` call once storage answers again or by ``declutter sync``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from crawler.extract import Article, extract
from crawler.snapshot.capture import Capture
from crawler.snapshot.store import (
    ObjectMissing,
    SnapshotStore,
    Spool,
    SpoolEntry,
    StorageError,
    StorageUnavailable,
)
from crawler.snapshot.warc import RevisitOf, payload_digest, read_warc, resource_digests, to_warc

log = logging.getLogger(__name__)

HTML_TYPES = {"text/html", "application/xhtml+xml", ""}


@dataclass
class ArchiveResult:
    capture_id: str
    revisit: bool
    article: Article
    change: ChangeRow | None = None
    spooled: bool = False
    warc_key: str = ""
    bytes_stored: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "capture_id": self.capture_id,
            "revisit": self.revisit,
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


@dataclass
class VerifyResult:
    capture_id: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- clean-text comparison -------------------------------------------------------------------


def text_digest(text: str) -> str | None:
    """Digest of the clean text with whitespace collapsed; None when there is no text."""
    words = " ".join(text.split())
    return "sha256:" + hashlib.sha256(words.encode("utf-8")).hexdigest() if words else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y/%m/%d")


def _extract(capture: Capture) -> Article:
    """The clean article from the richest view that has one; empty when none has (still captured)."""
    views: list[tuple[bytes | str, str | None]] = [
        (view, None) for view in (capture.reader_html, capture.rendered_html) if view
    ]
    if capture.mime in HTML_TYPES:
        views.append((capture.body, capture.content_type or None))
    if not views:
        return Article(url=capture.url)
    for view, content_type in views:
        try:
            article = extract(view, capture.url, content_type=content_type)
        except ValueError as exc:
            log.info("no article in a view of %s: %s", capture.url, exc)
            continue
        except Exception:
            log.exception("extraction failed on %s; capturing without an article", capture.url)
            continue
        if article.text.strip():
            return article
    return Article(url=capture.url)


def _change(previous: _Previous | None, row: CaptureRow, text: str) -> ChangeRow | None:
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
class _Previous:
    """The last capture of a URL, from the catalogue or still in the spool."""

    row: CaptureRow
    text: str | None
    original: RevisitOf | None


class Archiver:
    """Stores captures (objects, then one catalogue transaction) and reads them back."""

    def __init__(
        self,
        store: SnapshotStore,
        catalogue: Catalogue,
        spool_dir: Path,
        *,
        retry_after: float = 5.0,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.spool = Spool(spool_dir)
        self.retry_after = retry_after
        self._down_until = 0.0
        self._failures = 0
        self.sync_batch = 25
        self._sync_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Archiver:
        return cls(SnapshotStore.from_settings(settings), open_catalogue(settings), settings.spool_dir)

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
        if not self.spool.is_empty() and time.monotonic() >= self._down_until:
            self.sync(limit=self.sync_batch, wait=False)
        capture_id = new_capture_id(capture.captured_at)
        key = url_key(capture.url)
        digest = payload_digest(capture.body)
        previous = self._previous(capture.url, key)

        revisit_of = None
        # A revisit names a record of the same kind: a reader's DOM never stands in for a response.
        if (
            previous is not None
            and previous.row.payload_digest == digest
            and previous.row.source == capture.source
        ):
            revisit_of = previous.original
        article = _extract(capture)
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
        skip: set[str] = set()
        if revisit_of is not None:
            original_digests = self._resource_digests(revisit_of.capture_id, previous)
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
            warc_sha256=_sha256(warc),
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
        )
        if time.monotonic() < self._down_until:
            reason = "storage or catalogue was unreachable moments ago"
            return self._spool(result, objects, row, text, change, reason)
        try:
            for object_key, content_type, data in objects:
                self.store.put(object_key, data, content_type)
        except StorageError as exc:
            if not isinstance(exc, StorageUnavailable):
                log.error("storage refused capture %s: %s", capture_id, exc)
            self._mark_down()
            return self._spool(result, objects, row, text, change, str(exc))
        try:
            self.catalogue.record_capture(row, text=text, change=change)
        except Exception as exc:
            log.exception("catalogue write failed for %s", capture_id)
            self._mark_down()
            return self._spool(result, objects, row, text, change, f"catalogue: {exc}")
        return result

    @staticmethod
    def _article_object(
        article: Article,
        capture: Capture,
        capture_id: str,
        previous: _Previous | None,
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
        return key, _sha256(body), (key, "application/gzip", body)

    def _mark_down(self) -> None:
        """Spool without trying for a while; the wait doubles while outages last (max 60 s)."""
        delay = min(self.retry_after * (2 ** min(self._failures, 6)), 60.0)
        self._failures += 1
        self._down_until = time.monotonic() + delay

    def _spool(
        self,
        result: ArchiveResult,
        objects: list[tuple[str, str, bytes]],
        row: CaptureRow,
        text: str,
        change: ChangeRow | None,
        reason: str,
    ) -> ArchiveResult:
        record = {
            "capture": row.to_dict(),
            "text": text,
            "change": change.to_dict() if change else None,
            "reason": reason,
        }
        self.spool.put(row.id, objects, record)
        log.warning("capture %s of %s spooled (%s); `declutter sync` uploads it", row.id, row.url, reason)
        result.spooled = True
        return result

    def _previous(self, url: str, key: str) -> _Previous | None:
        found: _Previous | None = None
        try:
            row = self.catalogue.latest_capture(url)
            if row is not None:
                stored = self.catalogue.capture_text(row.id)
                found = _Previous(row, stored[1] if stored else None, self._original(row))
        except Exception:
            # The catalogue is unreachable: keep the page whole (no revisit) and let it spool.
            log.exception("catalogue lookup failed for %s; archiving it as a new capture", url)
            self._mark_down()
        if not self.spool.is_empty():
            record = self.spool.latest_for(key)
            if record is not None:
                spooled = CaptureRow.from_dict(record["capture"])
                if found is None or (spooled.captured_at, spooled.id) > (found.row.captured_at, found.row.id):
                    found = _Previous(spooled, record.get("text") or None, self._original(spooled))
        return found

    def _original(self, row: CaptureRow) -> RevisitOf | None:
        """The capture holding the payload a revisit of ``row`` should point at."""
        if not row.revisit:
            return RevisitOf(row.id, row.url, row.captured_at)
        original = self.catalogue.get_capture(row.revisit_of or "")
        if original is None and not self.spool.is_empty():
            for entry in self.spool:
                if entry.capture_id == row.revisit_of:
                    original = CaptureRow.from_dict(entry.record["capture"])
        if original is None:
            return None
        return RevisitOf(original.id, original.url, original.captured_at)

    def _resource_digests(self, capture_id: str, previous: _Previous | None) -> dict[str, str]:
        if previous is not None and previous.row.id == capture_id:
            return previous.row.resource_digests
        row = self.catalogue.get_capture(capture_id)
        return row.resource_digests if row else {}

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
                    report.error = str(exc)
                    break
                except Exception as exc:
                    log.exception("spooled capture %s could not be completed", entry.capture_id)
                    self._mark_down()
                    report.error = f"{entry.capture_id}: {exc}"
                    break
                report.synced += 1
            report.remaining = len(self.spool)
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

    def _row(self, capture_id: str) -> CaptureRow:
        return self.catalogue.require_capture(capture_id)

    def read_warc(self, capture_id: str) -> bytes:
        """The capture's own WARC object (a revisit's holds no body: see ``read_raw``)."""
        return self.store.get(self._row(capture_id).warc_key)

    def read_raw(self, capture_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) as exchanged; a revisit's body comes from its original.

        A reader-only capture had no exchange: status 0 and its DOM as ``text/html``.
        """
        row = self._row(capture_id)
        contents = read_warc(self.store.get(row.warc_key))
        body = contents.body
        if contents.revisit and row.revisit_of:
            body = read_warc(self.store.get(self._row(row.revisit_of).warc_key)).body
        return contents.status, contents.headers, body

    def read_article(self, capture_id: str) -> Article:
        """The extracted article; an empty Article (no text) when the page had none."""
        row = self._row(capture_id)
        if not row.article_key:
            return Article(url=row.canonical_url or row.url)
        data = self.store.get(row.article_key)
        if row.article_key.endswith(".gz"):
            data = gzip.decompress(data)
        return Article.from_dict(json.loads(data))

    def read_resource(self, capture_id: str, kind: str) -> bytes | None:
        """A browser-side resource (``rendered``, ``reader``, ``screenshot``) or None."""
        row = self._row(capture_id)
        if kind not in row.resource_digests:
            return None
        found = read_warc(self.store.get(row.warc_key)).resources.get(kind)
        if found is None and row.revisit_of:
            found = read_warc(self.store.get(self._row(row.revisit_of).warc_key)).resources.get(kind)
        return found

    def read_screenshot(self, capture_id: str) -> bytes | None:
        return self.read_resource(capture_id, "screenshot")

    def read_rendered(self, capture_id: str) -> str | None:
        data = self.read_resource(capture_id, "rendered")
        return data.decode("utf-8") if data is not None else None

    # --- verification ---

    def verify(self, capture_ids: Iterable[str] | None = None) -> Iterator[VerifyResult]:
        """Re-read each capture's objects and check them against the catalogue's digests."""
        rows: Iterable[CaptureRow]
        if capture_ids is None:
            rows = self.catalogue.iter_captures()
        else:
            rows = (self._row(i) for i in capture_ids)
        for row in rows:
            yield self._verify_one(row)

    def _verify_one(self, row: CaptureRow) -> VerifyResult:
        result = VerifyResult(row.id)
        try:
            warc = self.store.get(row.warc_key)
        except ObjectMissing:
            result.problems.append(f"WARC object {row.warc_key} is missing")
            return result
        except StorageError as exc:
            result.problems.append(str(exc))
            return result
        if _sha256(warc) != row.warc_sha256:
            result.problems.append(f"{row.warc_key}: SHA-256 differs from the catalogue")
        try:
            contents = read_warc(warc)
        except Exception as exc:
            result.problems.append(f"{row.warc_key}: not a readable WARC ({exc})")
            return result
        result.problems.extend(f"{row.warc_key}: {p}" for p in contents.problems)
        if contents.payload_digest != row.payload_digest:
            result.problems.append(f"{row.warc_key}: payload digest differs from the catalogue")
        if contents.revisit != row.revisit:
            result.problems.append(f"{row.warc_key}: revisit flag differs from the catalogue")
        if contents.source != row.source:
            result.problems.append(f"{row.warc_key}: source ({contents.source}) differs from the catalogue")
        if row.article_key:
            try:
                article = self.store.get(row.article_key)
            except ObjectMissing:
                result.problems.append(f"article object {row.article_key} is missing")
            else:
                if _sha256(article) != row.article_sha256:
                    result.problems.append(f"{row.article_key}: SHA-256 differs from the catalogue")
        return result


__all__ = [
    "ArchiveResult",
    "Archiver",
    "BadCapture",
    "CaptureNotFound",
    "SyncReport",
    "VerifyResult",
    "text_digest",
]
