"""The read side of what was kept: a capture's objects read back, and verified against the catalogue.

A revisit holds no body of its own, so its raw page and resources are read from the capture it
repeats; a reader-only capture had no HTTP exchange, so its raw page is status 0 and its DOM.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from crawler.catalogue import CaptureRow, Catalogue
from crawler.extract import Article
from crawler.snapshot.store import ObjectMissing, SnapshotStore, StorageError
from crawler.snapshot.warc import read_warc


def sha256(data: bytes) -> str:
    """The hex digest the catalogue keeps for every stored object."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class VerifyResult:
    capture_id: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ReadBack:
    """Reads captures back from the store, by the catalogue's row; ``Archiver`` adds the write side."""

    def __init__(self, store: SnapshotStore, catalogue: Catalogue) -> None:
        self.store = store
        self.catalogue = catalogue

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
        if sha256(warc) != row.warc_sha256:
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
                if sha256(article) != row.article_sha256:
                    result.problems.append(f"{row.article_key}: SHA-256 differs from the catalogue")
        return result
