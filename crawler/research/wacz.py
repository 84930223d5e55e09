"""The WACZ package's parts: its vocabulary, its CDXJ index and the zip entries it is written in.

The exporter (``crawler.research.export``) streams a WACZ through these: cdxj-indexer's indexer
and external sort extended (not copied) to index each capture where it lands in the one WARC, and
zip members hashed as they are written, for ``datapackage.json``.
"""

from __future__ import annotations

import hashlib
import io
import struct
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cdxj_indexer.main import CDXJIndexer, SortingWriter

WACZ_VERSION = "1.1.1"
WACZ_WARC = "archive/data.warc.gz"
# CDXJ, named .cdx: the WACZ spec allows any name, and pywb's WACZ import only picks up *.cdx(.gz).
WACZ_INDEX = "indexes/index.cdx"
WACZ_PAGES = "pages/pages.jsonl"
SORT_BUFFER_BYTES = 4 * 1024 * 1024


class OffsetIndexer(CDXJIndexer):
    """cdxj-indexer over one capture's WARC, with offsets moved to where it lands in the export."""

    def __init__(self, filename: str) -> None:
        super().__init__(output=None, inputs=[], filename=filename)
        self._base = 0

    def index(self, data: bytes, *, base: int, out: SortingWriter) -> None:
        self._base = base
        self.process_one(io.BytesIO(data), out, self.force_filename)

    def get_field(self, record: Any, name: str, it: Any, filename: str) -> Any:
        value = super().get_field(record, name, it, filename)
        if name == "offset" and value is not None:
            return str(int(value) + self._base)
        return value


class ScratchSortingWriter(SortingWriter):
    """cdxj-indexer's external sort, spilling into the export's own scratch directory."""

    def __init__(self, out: IO[str], scratch: Path) -> None:
        super().__init__(out, SORT_BUFFER_BYTES)
        self._scratch = scratch

    def write_to_temp(self) -> str:
        self.sortedlist.sort()
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=self._scratch, suffix=".cdx", delete=False
        ) as out:
            self.write_to_file(self.sortedlist, out)
        return out.name


class HashingEntry:
    """A zip member written as a stream, with the size and sha256 datapackage.json lists."""

    def __init__(
        self, archive: zipfile.ZipFile, name: str, method: int, resources: list[dict[str, Any]]
    ) -> None:
        self._archive = archive
        self._name = name
        self._method = method
        self._resources = resources
        self._hash = hashlib.sha256()
        self.size = 0
        self._out: IO[bytes] | None = None

    def __enter__(self) -> HashingEntry:
        self._out = self._archive.open(zip_info(self._name, self._method), "w", force_zip64=True)
        return self

    def write(self, data: bytes) -> None:
        assert self._out is not None
        self._out.write(data)
        self._hash.update(data)
        self.size += len(data)

    def __exit__(self, *exc: object) -> None:
        assert self._out is not None
        self._out.close()
        self._resources.append(
            {
                "name": self._name.rsplit("/", 1)[-1],
                "path": self._name,
                "hash": "sha256:" + self._hash.hexdigest(),
                "bytes": self.size,
            }
        )


def zip_info(name: str, method: int) -> zipfile.ZipInfo:
    now = datetime.now(UTC)
    info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
    info.compress_type = method
    # An extended-timestamp field (0x5455) in both headers. ReplayWeb.page (wabac.js) takes an
    # entry's data offset from the central directory alone when its extra field there is empty;
    # a streamed entry's local header holds a zip64 field (force_zip64) that the central one
    # lacks, so it read 20 bytes early and could open no export. With an extra field in the
    # central directory it reads the local header, as every other reader does.
    info.extra = struct.pack("<HHBI", 0x5455, 5, 1, int(now.timestamp()))
    return info


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def rfc3339(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
