"""The object store against a real SeaweedFS, and the WARC form read back by warcio."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.cli.services import free_port, temp_dir
from crawler.snapshot.capture import Capture
from crawler.snapshot.store import (
    ObjectMissing,
    SnapshotStore,
    Spool,
    StorageError,
    StorageUnavailable,
)
from crawler.snapshot.warc import RevisitOf, payload_digest, read_warc, to_warc, warc_http_headers


def _store(s3_server, **kwargs) -> SnapshotStore:
    return SnapshotStore(
        s3_server.endpoint, s3_server.access_key, s3_server.secret_key, s3_server.bucket, **kwargs
    )


def test_put_get_exists_round_trip(s3_server):
    store = _store(s3_server)
    data = bytes(range(256)) * 50
    key = f"test/{time.time_ns()}/blob.bin"
    assert not store.exists(key)
    store.put(key, data)
    assert store.exists(key)
    assert store.get(key) == data
    assert store.size(key) == len(data)
    assert key in list(store.keys(key.rsplit("/", 1)[0]))
    assert store.ping()


def test_missing_object_is_object_missing(s3_server):
    with pytest.raises(ObjectMissing):
        _store(s3_server).get("test/never/written")


def test_new_bucket_is_created_on_first_put(s3_server):
    store = SnapshotStore(
        s3_server.endpoint, s3_server.access_key, s3_server.secret_key, f"fresh-{time.time_ns()}"
    )
    store.put("a/b", b"x")
    assert store.get("a/b") == b"x"


def test_wrong_credentials_are_a_storage_error_not_an_outage(s3_server):
    store = SnapshotStore(s3_server.endpoint, "nobody", "wrong-secret", s3_server.bucket)
    with pytest.raises(StorageError) as info:
        store.put("test/x", b"x")
    assert not isinstance(info.value, StorageUnavailable)
    assert "DECLUTTER_S3_ACCESS_KEY" in str(info.value)


def test_unreachable_store_fails_fast_as_unavailable():
    port = free_port()
    store = SnapshotStore(f"127.0.0.1:{port}", "a", "b", "bucket", attempts=3, backoff=0.05)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as info:
        store.put("k", b"v")
    assert time.monotonic() - started < 5
    assert "declutter storage" in str(info.value)
    assert not store.ping()


def test_spool_entries_are_complete_and_ordered(tmp_path):
    spool = Spool(tmp_path / "spool")
    assert spool.is_empty()
    spool.put("01B", [("warc/b.warc.gz", "application/warc", b"B")], {"capture": {"url_key": "k"}})
    spool.put("01A", [("warc/a.warc.gz", "application/warc", b"A")], {"capture": {"url_key": "k"}})
    (tmp_path / "spool" / ".tmp-half-written").mkdir()
    entries = list(spool)
    assert [e.capture_id for e in entries] == ["01A", "01B"]
    assert list(entries[0].objects()) == [("warc/a.warc.gz", "application/warc", b"A")]
    assert len(spool) == 2
    spool.remove(entries[0])
    assert [e.capture_id for e in spool] == ["01B"]


# --- WARC form -------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _capture(**overrides) -> Capture:
    values = dict(
        url="https://news.example/politics/story?id=7",
        status=200,
        body=b"<html><body><p>Body bytes \xe2\x80\x94 exactly.</p></body></html>",
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("X-Custom", "kept")],
        request_headers=[("User-Agent", "Declutter-test"), ("Accept", "text/html")],
        captured_at=datetime(2026, 11, 24, 8, 30, 1, 123456, tzinfo=UTC),
        rendered_html="<html><body><p>Rendered</p></body></html>",
        screenshot=PNG,
    )
    values.update(overrides)
    return Capture(**values)


def test_warc_has_every_record_with_verified_digests():
    capture = _capture(reader_html="<article>Reader</article>")
    data = to_warc(capture, "01JDEMO0000000000000000000")
    kinds = []
    stream = io.BytesIO(data)
    for record in ArchiveIterator(stream, check_digests=True):
        record.content_stream().read()
        assert record.rec_headers.protocol == "WARC/1.1"
        if record.rec_type != "warcinfo":
            assert record.rec_headers.get_header("WARC-Block-Digest")
        assert record.digest_checker.passed is not False, record.digest_checker.problems
        kinds.append(record.rec_type)
    assert kinds == ["warcinfo", "response", "request", "metadata", "resource", "resource", "resource"]
    contents = read_warc(data)
    assert contents.problems == []
    assert contents.body == capture.body
    assert contents.payload_digest == payload_digest(capture.body)
    assert ("X-Custom", "kept") in contents.headers
    assert contents.resources == {
        "rendered": capture.rendered_html.encode(),
        "reader": b"<article>Reader</article>",
        "screenshot": PNG,
    }
    assert contents.metadata["capture-id"] == "01JDEMO0000000000000000000"


def test_warc_is_gzip_per_record():
    data = to_warc(_capture(), "01JDEMO0000000000000000000")
    members = 0
    rest = data
    while rest:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        d.decompress(rest)
        rest = d.unused_data
        members += 1
    assert members == 6
    assert gzip.decompress(data).startswith(b"WARC/1.1\r\n")


def test_revisit_record_refers_to_the_original_and_holds_no_body():
    original = _capture()
    first = to_warc(original, "01JORIG0000000000000000000")
    again = _capture(captured_at=datetime(2026, 11, 25, tzinfo=UTC))
    second = to_warc(
        again,
        "01JAGAIN000000000000000000",
        revisit_of=RevisitOf("01JORIG0000000000000000000", original.url, original.captured_at),
        skip_resources={"screenshot"},
    )
    response_id = None
    for record in ArchiveIterator(io.BytesIO(first)):
        if record.rec_type == "response":
            response_id = record.rec_headers.get_header("WARC-Record-ID")
    revisit = [r for r in ArchiveIterator(io.BytesIO(second)) if r.rec_type == "revisit"]
    assert len(revisit) == 1
    headers = revisit[0].rec_headers
    assert headers.get_header("WARC-Refers-To") == response_id
    assert headers.get_header("WARC-Refers-To-Target-URI") == original.url
    assert headers.get_header("WARC-Refers-To-Date") == "2026-11-24T08:30:01.123456Z"
    assert headers.get_header("WARC-Profile").endswith("/warc/1.1/revisit/identical-payload-digest")
    assert headers.get_header("WARC-Payload-Digest") == payload_digest(original.body)
    contents = read_warc(second)
    assert contents.revisit and contents.body == b""
    assert original.body not in gzip.decompress(second)
    assert "screenshot" not in contents.resources and "rendered" in contents.resources


def test_warcio_command_line_indexes_and_checks(tmp_path: Path):
    path = tmp_path / "one.warc.gz"
    path.write_bytes(to_warc(_capture(), "01JDEMO0000000000000000000"))
    warcio = Path(sys.executable).with_name("warcio")
    index = subprocess.run([str(warcio), "index", str(path)], capture_output=True, text=True, check=True)
    types = [json.loads(line)["warc-type"] for line in index.stdout.splitlines()]
    assert types == ["warcinfo", "response", "request", "metadata", "resource", "resource"]
    check = subprocess.run([str(warcio), "check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def test_decoded_body_headers_are_made_truthful():
    body = b"plain text body"
    capture = _capture(
        body=body,
        response_headers=[
            ("Content-Type", "text/plain"),
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "9"),
        ],
    )
    headers = warc_http_headers(capture)
    assert ("X-Archive-Orig-Content-Encoding", "gzip") in headers
    assert ("X-Archive-Orig-Transfer-Encoding", "chunked") in headers
    assert ("Content-Length", str(len(body))) in headers
    assert not any(n.lower() in {"content-encoding", "transfer-encoding"} for n, _ in headers)


def test_still_encoded_body_keeps_its_content_encoding():
    body = gzip.compress(b"hello")
    capture = _capture(body=body, response_headers=[("Content-Encoding", "gzip")])
    assert ("Content-Encoding", "gzip") in warc_http_headers(capture)
    assert read_warc(to_warc(capture, "01JDEMO0000000000000000000")).body == body


# --- the embedded servers stay on loopback ---------------------------------------------------


def _listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] != "0A" or cols[9] not in inodes:
                continue
            address, port = cols[1].split(":")
            found.add((address if len(address) == width else "?", int(port, 16)))
    return found


LOOPBACK4 = "0100007F"


def test_seaweedfs_listens_on_loopback_only(s3_server):
    sockets = _listening(s3_server.process.pid)
    assert sockets, "weed listens on nothing?"
    assert {address for address, _ in sockets} == {LOOPBACK4}, sockets
    assert {port for _, port in sockets} <= set(s3_server.ports.all())


def test_postgres_listens_on_loopback_only(postgres_server):
    sockets = _listening(postgres_server.process.pid)
    assert sockets == {(LOOPBACK4, postgres_server.port)}


def test_declutter_storage_serves_s3_and_postgres_until_stopped():
    from crawler.cli.services import SeaweedPorts, _port_open

    tmp_path = temp_dir("declutter-storage-cli-")  # the postgres user must reach it
    for s3_port in random.sample(range(20000, 30000), 50):
        ports = SeaweedPorts.beside(s3_port)
        if not any(_port_open(p) for p in ports.all()):
            break
    pg_port = next(p for p in iter(free_port, None) if p not in ports.all())
    env = {
        **os.environ,
        "DECLUTTER_DATA_DIR": str(tmp_path / "data"),
        "DECLUTTER_S3_ENDPOINT": f"127.0.0.1:{s3_port}",
        "DECLUTTER_S3_BUCKET": "foreground",
    }
    declutter = Path(sys.executable).with_name("declutter")
    errors = open(tmp_path / "stderr", "w+")  # noqa: SIM115
    process = subprocess.Popen(
        [str(declutter), "storage", "--postgres", str(pg_port)],
        env=env, stdout=subprocess.PIPE, stderr=errors, text=True,
    )

    def said() -> str:
        errors.seek(0)
        return errors.read()[-2000:]

    try:
        line = process.stdout.readline()
        assert f"127.0.0.1:{s3_port}" in line, said()
        url = process.stdout.readline().rpartition("DECLUTTER_DATABASE_URL=")[2].strip()
        assert url == f"postgresql://postgres@127.0.0.1:{pg_port}/declutter", said()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        store = SnapshotStore(f"127.0.0.1:{s3_port}", "declutter", "declutter-secret", "foreground")
        store.put("hello/world", b"kept")
        assert store.get("hello/world") == b"kept"
        assert (tmp_path / "data" / "seaweedfs").is_dir()
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, said()
        assert not _port_open(s3_port) and not _port_open(pg_port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        errors.close()
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_redis_fixture_is_a_private_loopback_server(redis_server):
    import redis

    assert redis_server.startswith("redis://127.0.0.1:")
    client = redis.Redis.from_url(redis_server)
    client.set("declutter-test", b"v")
    assert client.get("declutter-test") == b"v"
    assert client.config_get("bind")["bind"] == "127.0.0.1"
    client.close()


def test_spool_sync_lock_is_exclusive_across_processes(tmp_path):
    spool = Spool(tmp_path / "spool")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from crawler.snapshot.store import Spool\n"
         f"with Spool(Path({str(tmp_path / 'spool')!r})).exclusive() as held:\n"
         "    print(held, flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "True"
        with spool.exclusive(wait=False) as held:
            assert held is False
    finally:
        holder.kill()
        holder.wait()
    with spool.exclusive(wait=False) as held:
        assert held is True
    assert spool.is_empty()
