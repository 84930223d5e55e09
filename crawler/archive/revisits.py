"""Which earlier capture a new one repeats: the revisit a WARC records instead of a second copy.

A revisit names the newest capture of the same URL with the same payload digest and source,
looked up in the catalogue and, while storage is down, in the spool too, so dedup holds across an
outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from crawler.catalogue import CaptureRow, Catalogue
from crawler.snapshot.capture import Capture
from crawler.snapshot.store import Spool
from crawler.snapshot.warc import RevisitOf

log = logging.getLogger(__name__)

# How many of a URL's newest captures are searched for one holding the same payload. The newest
# capture is not always the one to compare with: a reader snapshot (the reader's DOM) sits between
# two identical server fetches. A page whose bytes change on every fetch finds none and pays one
# bounded query per capture, never a walk of its whole history.
REVISIT_LOOKBACK = 50


@dataclass
class Previous:
    """The last capture of a URL, from the catalogue or still in the spool."""

    row: CaptureRow
    text: str | None
    original: RevisitOf | None


class Revisits:
    """Finds what a new capture repeats; ``on_outage`` is told when the catalogue cannot answer."""

    def __init__(self, catalogue: Catalogue, spool: Spool, *, on_outage: Callable[[], None]) -> None:
        self.catalogue = catalogue
        self.spool = spool
        self._on_outage = on_outage

    def previous(self, url: str, key: str) -> Previous | None:
        """The URL's newest capture, from the catalogue or still in the spool."""
        found: Previous | None = None
        try:
            row = self.catalogue.latest_capture(url)
            if row is not None:
                stored = self.catalogue.capture_text(row.id)
                found = Previous(row, stored[1] if stored else None, self.original(row))
        except Exception:
            # The catalogue is unreachable: keep the page whole (no revisit) and let it spool.
            log.exception("catalogue lookup failed for %s; archiving it as a new capture", url)
            self._on_outage()
        if not self.spool.is_empty():
            record = self.spool.latest_for(key)
            if record is not None:
                spooled = CaptureRow.from_dict(record["capture"])
                if found is None or (spooled.captured_at, spooled.id) > (found.row.captured_at, found.row.id):
                    found = Previous(spooled, record.get("text") or None, self.original(spooled))
        return found

    def same_payload(
        self, capture: Capture, digest: str, previous: Previous | None
    ) -> RevisitOf | None:
        """The record a revisit of ``capture`` points at: the newest capture of the URL with the
        same payload digest and source, or None (then the payload is stored whole).

        The same source, because a revisit names a record of its kind: a reader's DOM (a
        ``resource``) never stands in for a server's ``response``. Not only the newest capture:
        after a reader snapshot, the next crawl of an unchanged page is still a revisit.
        """

        def same(row: CaptureRow) -> bool:
            return row.payload_digest == digest and row.source == capture.source

        if previous is None:
            return None
        if same(previous.row):
            return previous.original
        try:
            rows, _ = self.catalogue.list_captures(
                capture.url, limit=REVISIT_LOOKBACK, newest_first=True
            )
            match = next((row for row in rows if same(row)), None)
            return self.original(match) if match is not None else None
        except Exception:
            log.exception("catalogue lookup failed for %s; keeping its payload whole", capture.url)
            return None

    def original(self, row: CaptureRow) -> RevisitOf | None:
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

    def resource_digests(self, capture_id: str, previous: Previous | None) -> dict[str, str]:
        if previous is not None and previous.row.id == capture_id:
            return previous.row.resource_digests
        row = self.catalogue.get_capture(capture_id)
        return row.resource_digests if row else {}
