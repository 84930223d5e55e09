"""Captures out of the archive, in the formats researchers' tools read: WARC, WACZ, JSONL, CSV.

Every exporter is a generator of byte chunks: the CLI writes them to a file, the server to an HTTP
response, and memory stays flat however many captures are selected, because catalogue rows are read
a page at a time, objects one at a time, and the WACZ index is sorted through temporary files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import threading
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from crawler.catalogue import CaptureRow
from crawler.research.signing import Signer
from crawler.research.wacz import (
    WACZ_INDEX,
    WACZ_PAGES,
    WACZ_VERSION,
    WACZ_WARC,
    HashingEntry,
    OffsetIndexer,
    ScratchSortingWriter,
    rfc3339,
    sha256_of,
    zip_info,
)

FORMATS = ("warc", "wacz", "jsonl", "csv")
MEDIA_TYPES = {
    "warc": "application/warc",
    "wacz": "application/wacz",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
}
EXTENSIONS = {"warc": ".warc.gz", "wacz": ".wacz", "jsonl": ".jsonl", "csv": ".csv"}
CSV_COLUMNS = [
    "id",
    "url",
    "captured_at",
    "status",
    "mime",
    "title",
    "byline",
    "published",
    "site_name",
    "lang",
    "word_count",
    "revisit",
    "crawl_id",
    "payload_digest",
    "text_digest",
    "text",
]
# Objects read ahead, in order, while the previous one is written: storage latency overlaps.
READ_AHEAD = 8

T = TypeVar("T")
R = TypeVar("R")

Progress = Callable[[int, int], None]
"""Called after each capture with (captures written, bytes written)."""


class ExportError(ValueError):
    """An export that cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class Selection:
    """Which captures to export: those of one URL or of one site, optionally in a time range, or
    one capture by id (what the web app's replay opens, its revisit's original beside it)."""

    url: str | None = None
    site: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    capture: str | None = None

    def __post_init__(self) -> None:
        if [self.url, self.site, self.capture].count(None) != 2:
            raise ExportError(
                "choose the captures to export with exactly one of a URL or a site (or a capture id)"
            )
        if self.capture is not None and (self.since or self.until):
            raise ExportError("one capture has no time range; leave the range out")
        if self.since and self.until and self.since >= self.until:
            raise ExportError("the start of the time range must come before its end")

    def rows(self, catalogue: Any) -> Iterator[CaptureRow]:
        if self.capture is not None:
            row = catalogue.get_capture(self.capture)
            return iter([row] if row is not None else [])
        return catalogue.iter_captures(
            self.url, site=self.site, since=self.since, until=self.until
        )

    def count(self, catalogue: Any) -> int:
        """The catalogue's own count (one COUNT over the index; a lookup for one capture)."""
        if self.capture is not None:
            return 1 if catalogue.get_capture(self.capture) is not None else 0
        return int(
            catalogue.count_captures(self.url, site=self.site, since=self.since, until=self.until)
        )

    def precedes(self, original: CaptureRow) -> bool:
        """Whether a revisit's original falls outside the selection, so it must be added."""
        if self.capture is not None:
            return True
        return self.since is not None and original.captured_at < self.since

    def describe(self) -> str:
        if self.capture is not None:
            return f"capture {self.capture}"
        what = f"captures of {self.url}" if self.url else f"captures on {self.site}"
        if self.since:
            what += f" from {self.since.isoformat()}"
        if self.until:
            what += f" until {self.until.isoformat()}"
        return what


class _Sink(io.RawIOBase):
    """An unseekable write buffer that the generator drains after each capture."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def drain(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


class Exporter:
    """Turns a selection of captures into one of ``FORMATS``, chunk by chunk."""

    def __init__(self, catalogue: Any, archiver: Any, *, signer: Signer | None = None) -> None:
        """With ``signer``, WACZ exports are signed, and other formats refused, never unsigned."""
        self.catalogue = catalogue
        self.archiver = archiver
        self.signer = signer

    def count(self, selection: Selection) -> int:
        """The catalogue's own count (one COUNT over the index), as the API reports it."""
        return selection.count(self.catalogue)

    def export(
        self, selection: Selection, fmt: str, *, progress: Progress | None = None
    ) -> Iterator[bytes]:
        if fmt not in FORMATS:
            raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
        if self.signer is not None and fmt != "wacz":
            raise ExportError(
                f"only a WACZ export can be signed (its datapackage-digest.json holds the "
                f"signature); ask for the wacz format, or leave signing off for {fmt}"
            )
        writer = getattr(self, f"_{fmt}")
        written = 0
        for count, chunk in writer(selection):
            if chunk:
                written += len(chunk)
                yield chunk
            if progress is not None and count:
                progress(count, written)

    def export_to(
        self, selection: Selection, fmt: str, path: Path, *, progress: Progress | None = None
    ) -> int:
        """Write the export to ``path`` through a temporary file, so a failure leaves no half file.

        The file gets the usual mode under the umask (0644), not mkstemp's 0600: an export is
        made to be shared.
        """
        path = Path(path)
        temp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.part")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in self.export(selection, fmt, progress=progress):
                    out.write(chunk)
                    size += len(chunk)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return size

    # --- formats: each yields (captures done so far, bytes) --------------------------------

    def _warc_of(self, row: CaptureRow) -> bytes:
        try:
            return self.archiver.read_warc(row.id)
        except KeyError as exc:
            raise ExportError(
                f"the WARC of capture {row.id} ({row.url}) is missing from storage; check the"
                " S3 bucket, or narrow the export to leave it out"
            ) from exc

    def _with_originals(self, selection: Selection) -> Iterator[tuple[int, CaptureRow, bool]]:
        """(count, row, selected) in time order, preceded where needed by a revisit's original.

        A revisit record holds no body; replay tools resolve it to the earlier response. Originals
        inside the selection come first anyway (oldest first); one from before ``since`` (or, for
        a one-capture selection, any) is added.
        """
        added: set[str] = set()
        count = 0
        for row in selection.rows(self.catalogue):
            original_id = row.revisit_of if row.revisit else None
            if original_id and original_id not in added and (selection.since or selection.capture):
                original = self.catalogue.get_capture(original_id)
                if original is not None and selection.precedes(original):
                    added.add(original_id)
                    yield count, original, False
            count += 1
            yield count, row, True

    def _warc(self, selection: Selection) -> Iterator[tuple[int, bytes]]:
        rows = self._with_originals(selection)
        for (count, _, _), data in _read_ahead(rows, lambda item: self._warc_of(item[1])):
            yield count, data

    def _jsonl(self, selection: Selection) -> Iterator[tuple[int, bytes]]:
        def article(row: CaptureRow) -> Any:
            return self.archiver.read_article(row.id) if row.article_key else None

        rows = enumerate(selection.rows(self.catalogue), 1)
        for (count, row), found in _read_ahead(rows, lambda item: article(item[1])):
            record = row.to_dict()
            record["article"] = found.to_dict() if found is not None else None
            line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
            yield count, line.encode("utf-8")

    def _csv(self, selection: Selection) -> Iterator[tuple[int, bytes]]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        yield 0, buffer.getvalue().encode("utf-8")
        for count, row in enumerate(selection.rows(self.catalogue), 1):
            buffer.seek(0)
            buffer.truncate()
            record = row.to_dict()
            record["text"] = self._text_of(row)[1]
            writer.writerow(record)
            yield count, buffer.getvalue().encode("utf-8")

    def _text_of(self, row: CaptureRow) -> tuple[str, str]:
        found = self.catalogue.capture_text(row.id)
        return found if found is not None else (row.title or "", "")

    def _wacz(self, selection: Selection) -> Iterator[tuple[int, bytes]]:
        sink = _Sink()
        resources: list[dict[str, Any]] = []
        with (
            tempfile.TemporaryDirectory(prefix="declutter-wacz-") as scratch_dir,
            zipfile.ZipFile(sink, "w", allowZip64=True) as archive,
        ):
            scratch = Path(scratch_dir)
            index_path, pages_path = scratch / "index.cdx", scratch / "pages.jsonl"
            index = ScratchSortingWriter(index_path.open("w", encoding="utf-8"), scratch)
            indexer = OffsetIndexer(WACZ_WARC.rsplit("/", 1)[1])
            first_page: dict[str, Any] | None = None
            count = 0
            with (
                HashingEntry(archive, WACZ_WARC, zipfile.ZIP_STORED, resources) as warc,
                pages_path.open("w", encoding="utf-8") as pages,
            ):
                header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
                pages.write(json.dumps(header) + "\n")
                def objects(item: tuple[int, CaptureRow, bool]) -> tuple[bytes, Any]:
                    _, row, selected = item
                    return self._warc_of(row), self._page(row) if selected else None

                rows = self._with_originals(selection)
                for (count, _, _), (data, page) in _read_ahead(rows, objects):
                    indexer.index(data, base=warc.size, out=index)
                    warc.write(data)
                    if page is not None:
                        first_page = first_page or page
                        pages.write(json.dumps(page, ensure_ascii=False) + "\n")
                    yield count, sink.drain()
            index.flush()
            index.out.close()
            for source, name in ((index_path, WACZ_INDEX), (pages_path, WACZ_PAGES)):
                with HashingEntry(archive, name, zipfile.ZIP_DEFLATED, resources) as entry:
                    with source.open("rb") as data:
                        while chunk := data.read(1024 * 1024):
                            entry.write(chunk)
                            yield count, sink.drain()

            created = rfc3339(datetime.now(UTC))
            package = self._datapackage(selection, resources, first_page, created)
            archive.writestr(zip_info("datapackage.json", zipfile.ZIP_DEFLATED), package)
            digest: dict[str, Any] = {"path": "datapackage.json", "hash": sha256_of(package)}
            if self.signer is not None:
                # A signer that fails raises SigningError: no unsigned file when one was asked for.
                digest["signedData"] = self.signer.sign(digest["hash"], created)
            archive.writestr(
                zip_info("datapackage-digest.json", zipfile.ZIP_DEFLATED),
                json.dumps(digest, indent=2).encode("utf-8"),
            )
        yield count, sink.drain()

    def _page(self, row: CaptureRow) -> dict[str, Any]:
        title, text = self._text_of(row)
        page: dict[str, Any] = {
            "id": row.id,
            "url": row.url,
            "ts": rfc3339(row.captured_at),
            "title": title or row.title or row.url,
        }
        if text:
            page["text"] = text
        return page

    @staticmethod
    def _datapackage(
        selection: Selection, resources: list[dict[str, Any]], first: dict[str, Any] | None,
        created: str,
    ) -> bytes:
        package: dict[str, Any] = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": f"Declutter export: {selection.describe()}",
            "created": created,
            "software": "Declutter export",
            "resources": resources,
        }
        if first is not None:
            package["mainPageURL"] = first["url"]
            package["mainPageDate"] = first["ts"]
        return json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")


_readers: ThreadPoolExecutor | None = None
_readers_lock = threading.Lock()


def _reader_pool() -> ThreadPoolExecutor:
    """One long-lived pool: backends keep a connection per thread, so threads must be reused."""
    global _readers
    with _readers_lock:
        if _readers is None:
            _readers = ThreadPoolExecutor(READ_AHEAD, thread_name_prefix="export-read")
        return _readers


def _read_ahead(items: Iterable[T], read: Callable[[T], R]) -> Iterator[tuple[T, R]]:
    """``(item, read(item))`` in order, with up to READ_AHEAD reads running ahead in threads."""
    pool = _reader_pool()
    pending: deque[tuple[T, Any]] = deque()
    try:
        for item in items:
            pending.append((item, pool.submit(read, item)))
            if len(pending) > READ_AHEAD:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            first, future = pending.popleft()
            yield first, future.result()
    finally:
        for _, future in pending:
            future.cancel()
