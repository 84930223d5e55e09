"""The object store (any S3: MinIO in production, SeaweedFS embedded) and the local spool.

Objects are written whole and never changed, so every put can be retried safely. When the store
cannot be reached, a capture waits in the spool as ready-made objects plus its catalogue record;
``Spool`` keeps those entries and ``Archiver.sync`` (``declutter sync``) finishes them later.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from crawler.config import Settings

log = logging.getLogger(__name__)


class StorageError(Exception):
    """The store answered but refused: wrong credentials, bucket policy, bad endpoint."""


class StorageUnavailable(StorageError):
    """The store could not be reached after retrying; the caller may spool and try later."""


class ObjectMissing(StorageError, KeyError):
    """An object the catalogue names is not in the store."""


_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "NoSuchBucket"}
_UNAVAILABLE_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}


class SnapshotStore:
    """Put and get immutable objects in one bucket, retrying transient failures with backoff."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        attempts: int = 4,
        backoff: float = 0.1,
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.attempts = max(1, attempts)
        self.backoff = backoff
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=False,
            maxsize=16,
        )
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, http_client=http
        )
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> SnapshotStore:
        return cls(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_bucket,
            secure=settings.s3_secure,
        )

    def __repr__(self) -> str:
        return f"SnapshotStore({self.endpoint!r}, bucket={self.bucket!r})"

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        delay = self.backoff
        last: Exception | None = None
        for attempt in range(self.attempts):
            try:
                return fn(*args, **kwargs)
            except S3Error as exc:
                if exc.code in _MISSING_CODES:
                    raise
                if exc.code not in _UNAVAILABLE_CODES:
                    raise StorageError(
                        f"{what} on {self.endpoint}/{self.bucket} failed: {exc.code}: {exc.message}."
                        " Check DECLUTTER_S3_ACCESS_KEY / DECLUTTER_S3_SECRET_KEY / DECLUTTER_S3_BUCKET."
                    ) from exc
                last = exc
            except (urllib3.exceptions.HTTPError, OSError, MinioException) as exc:
                last = exc
            if attempt + 1 < self.attempts:
                time.sleep(delay)
                delay *= 2
        raise StorageUnavailable(
            f"object storage at {self.endpoint} is unavailable ({what}: {last}); start it"
            " (`declutter storage`) or fix DECLUTTER_S3_ENDPOINT"
        ) from last

    def ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            if not self._call("bucket_exists", self.client.bucket_exists, self.bucket):
                try:
                    self._call("make_bucket", self.client.make_bucket, self.bucket)
                except S3Error as exc:
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise StorageError(f"cannot create bucket {self.bucket}: {exc}") from exc
            self._bucket_ready = True

    def ping(self) -> bool:
        try:
            self.client.bucket_exists(self.bucket)
        except (urllib3.exceptions.HTTPError, OSError, MinioException):
            return False
        return True

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.ensure_bucket()
        self._call(
            f"put {key}",
            lambda: self.client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=content_type
            ),
        )

    def get(self, key: str) -> bytes:
        def read() -> bytes:
            response = self.client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        try:
            return self._call(f"get {key}", read)
        except S3Error as exc:
            raise ObjectMissing(f"object {key} is not in bucket {self.bucket}") from exc

    def exists(self, key: str) -> bool:
        try:
            self._call(f"stat {key}", self.client.stat_object, self.bucket, key)
        except S3Error:
            return False
        return True

    def size(self, key: str) -> int:
        try:
            return int(self._call(f"stat {key}", self.client.stat_object, self.bucket, key).size)
        except S3Error as exc:
            raise ObjectMissing(f"object {key} is not in bucket {self.bucket}") from exc

    def delete(self, key: str) -> None:
        self._call(f"delete {key}", self.client.remove_object, self.bucket, key)

    def keys(self, prefix: str = "") -> Iterator[str]:
        try:
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                yield obj.object_name
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                return
            raise


@dataclass
class SpoolEntry:
    """One capture waiting for the store: its objects (key -> file) and its catalogue record."""

    capture_id: str
    path: Path
    record: dict[str, Any] = field(default_factory=dict)

    def objects(self) -> Iterator[tuple[str, str, bytes]]:
        """(key, content_type, bytes) of every object still to upload."""
        for item in self.record.get("objects", []):
            yield item["key"], item["content_type"], (self.path / item["file"]).read_bytes()


class Spool:
    """A folder of complete capture entries; an entry exists only once fully written (rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._latest: dict[str, dict] | None = None
        self._lock = threading.Lock()

    def put(self, capture_id: str, objects: list[tuple[str, str, bytes]], record: dict) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{capture_id}-{os.getpid()}-{threading.get_ident()}"
        tmp.mkdir()
        listed = []
        for index, (key, content_type, data) in enumerate(objects):
            name = f"{index}-{Path(key).name}"
            with open(tmp / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            listed.append({"key": key, "content_type": content_type, "file": name})
        body = json.dumps({**record, "objects": listed}, ensure_ascii=False, default=str)
        with open(tmp / "record.json", "w", encoding="utf-8") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        final = self.root / capture_id
        os.replace(tmp, final)
        with self._lock:
            if self._latest is not None:
                self._remember(self._latest, {**record, "objects": listed})
        return final

    @staticmethod
    def _remember(index: dict[str, dict], record: dict) -> None:
        row = record.get("capture", {})
        key = row.get("url_key")
        if key is None:
            return
        held = index.get(key)
        if held is None or (held["capture"].get("captured_at"), held["capture"].get("id")) <= (
            row.get("captured_at"),
            row.get("id"),
        ):
            index[key] = record

    def __iter__(self) -> Iterator[SpoolEntry]:
        """Entries oldest first (capture ids sort by time)."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.iterdir()):
            if path.name.startswith(".") or not (path / "record.json").is_file():
                continue
            try:
                record = json.loads((path / "record.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                log.error("spool entry %s is unreadable (%s); left in place", path, exc)
                continue
            yield SpoolEntry(path.name, path, record)

    def __len__(self) -> int:
        if not self.root.is_dir():
            return 0
        return sum(1 for p in self.root.iterdir() if not p.name.startswith("."))

    def is_empty(self) -> bool:
        if not self.root.is_dir():
            return True
        return not any(not p.name.startswith(".") for p in self.root.iterdir())

    def latest_for(self, url_key: str) -> dict | None:
        """The newest spooled record of a URL, so a capture can refer to one not yet uploaded.

        The folder is read once into an index that ``put`` keeps current, so a long outage does
        not make every capture re-read every waiting entry.
        """
        with self._lock:
            if self._latest is None:
                index: dict[str, dict] = {}
                for entry in self:
                    self._remember(index, entry.record)
                self._latest = index
            return self._latest.get(url_key)

    @contextmanager
    def exclusive(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the spool's sync lock (across processes: server, crawls, ``declutter sync``).

        Yields False without waiting when ``wait`` is off and another process holds it. The lock
        is an flock, so a process that dies mid-sync releases it.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".sync.lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def remove(self, entry: SpoolEntry) -> None:
        shutil.rmtree(entry.path, ignore_errors=True)
        with self._lock:
            self._latest = None
