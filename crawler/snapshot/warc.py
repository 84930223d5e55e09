"""A capture's WARC form: one gzip'd WARC/1.1 object per capture, written and read back.

The object holds warcinfo, request, response (or revisit), metadata, and resource records for
what a browser showed (rendered DOM, the reader's DOM, screenshot). Record ids are uuid5 of the
capture id and the record's kind, so a later revisit names the original response without a lookup.
A reader-only capture (no HTTP exchange happened) is a ``resource`` record of the page's own URL,
never an invented response.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.snapshot.capture import READER, READER_CONTENT_TYPE, Capture

# --- the format's vocabulary --------------------------------------------------------------------

WARC_VERSION = "1.1"
FORMAT = "WARC File Format 1.1"
SOFTWARE = "Declutter/0.1 (warcio)"

WARCINFO = "warcinfo"
REQUEST = "request"
RESPONSE = "response"
REVISIT = "revisit"
METADATA = "metadata"
RESOURCE = "resource"

RECORD_ID = "WARC-Record-ID"
DATE = "WARC-Date"
TARGET_URI = "WARC-Target-URI"
CONCURRENT_TO = "WARC-Concurrent-To"
WARCINFO_ID = "WARC-Warcinfo-ID"
REFERS_TO = "WARC-Refers-To"
PAYLOAD_DIGEST = "WARC-Payload-Digest"
WARC_FIELDS = "application/warc-fields"

# Response headers that no longer describe the stored body keep their value under this prefix
# (the pywb/warcprox convention), so nothing the server sent is lost.
ORIGINAL_PREFIX = "X-Archive-Orig-"
CONTENT_ENCODINGS = {"gzip", "x-gzip", "deflate", "br"}

# The browser-side resources: each is a ``resource`` record under its own URI scheme.
RESOURCE_URIS = {"rendered": "urn:dom:", "reader": "urn:reader:", "screenshot": "urn:screenshot:"}
RESOURCE_TYPES = {
    "rendered": "text/html; charset=utf-8",
    "reader": "text/html; charset=utf-8",
    "screenshot": "image/png",
}

ID_NAMESPACE = uuid.UUID("6f1d7c2e-7a4b-4d55-9a43-5b1f0c1b9e10")


def payload_digest(data: bytes) -> str:
    """The WARC-Payload-Digest form (``sha1:BASE32``), also kept in the catalogue."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def record_id(capture_id: str, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(ID_NAMESPACE, f'{capture_id}/{kind}')}>"


def warc_date(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class RevisitOf:
    """The earlier capture whose response payload this one repeats."""

    capture_id: str
    url: str
    captured_at: datetime


# --- response headers ---------------------------------------------------------------------------


def _looks_encoded(encoding: str, body: bytes) -> bool:
    if encoding in {"gzip", "x-gzip"}:
        return body[:2] == b"\x1f\x8b"
    if encoding == "deflate":
        try:
            zlib.decompressobj().decompress(body[:4096])
            return True
        except zlib.error:
            try:
                zlib.decompressobj(-zlib.MAX_WBITS).decompress(body[:4096])
                return True
            except zlib.error:
                return False
    if encoding == "br":
        try:
            import brotli

            brotli.Decompressor().process(body[:4096])
            return True
        except Exception:
            return False
    return True


def warc_http_headers(capture: Capture) -> list[tuple[str, str]]:
    """Response headers that truthfully describe ``capture.body`` for replay.

    HTTP clients hand us de-chunked and usually decoded bodies; headers that no longer apply are
    kept under ``X-Archive-Orig-`` so nothing is lost.
    """
    headers: list[tuple[str, str]] = []
    length_seen = False
    for name, value in capture.response_headers:
        lower = name.lower()
        if lower == "transfer-encoding":
            headers.append((f"{ORIGINAL_PREFIX}{name}", value))
        elif lower == "content-encoding" and (
            value.strip().lower() not in CONTENT_ENCODINGS
            or not _looks_encoded(value.strip().lower(), capture.body)
        ):
            headers.append((f"{ORIGINAL_PREFIX}{name}", value))
        elif lower == "content-length":
            length_seen = True
            if value.strip() != str(len(capture.body)):
                headers.append((f"{ORIGINAL_PREFIX}{name}", value))
                headers.append(("Content-Length", str(len(capture.body))))
            else:
                headers.append((name, value))
        else:
            headers.append((name, value))
    if not length_seen:
        headers.append(("Content-Length", str(len(capture.body))))
    return headers


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# --- writing ------------------------------------------------------------------------------------


def resource_digests(capture: Capture) -> dict[str, str]:
    """Digests of the browser-side resources, used to skip unchanged ones in a revisit."""
    return {kind: payload_digest(data) for kind, data in _resources(capture)}


def _resources(capture: Capture) -> list[tuple[str, bytes]]:
    out = []
    if capture.rendered_html is not None:
        out.append(("rendered", capture.rendered_html.encode("utf-8")))
    if capture.reader_html is not None:
        out.append(("reader", capture.reader_html.encode("utf-8")))
    if capture.screenshot is not None:
        out.append(("screenshot", capture.screenshot))
    return out


def to_warc(
    capture: Capture,
    capture_id: str,
    *,
    revisit_of: RevisitOf | None = None,
    skip_resources: frozenset[str] | set[str] = frozenset(),
    metadata: dict[str, str] | None = None,
) -> bytes:
    """The capture as one gzip-per-record WARC/1.1 file."""
    warc = _CaptureWarc(capture, capture_id, revisit_of)
    warc.write_warcinfo()
    if capture.from_reader_only:
        warc.write_reader_page()
    else:
        warc.write_exchange()
    warc.write_metadata(metadata or {})
    warc.write_resources(skip_resources)
    return warc.out.getvalue()


class _CaptureWarc:
    """The records of one capture's WARC, in order; they share its ids, its date and one writer."""

    def __init__(self, capture: Capture, capture_id: str, revisit_of: RevisitOf | None) -> None:
        self.capture = capture
        self.capture_id = capture_id
        self.revisit_of = revisit_of
        self.date = warc_date(capture.captured_at)
        self.response_id = record_id(capture_id, RESPONSE)
        self.warcinfo_id = record_id(capture_id, WARCINFO)
        self.out = io.BytesIO()
        self.writer = WARCWriter(self.out, gzip=True, warc_version=WARC_VERSION)

    def _ids(self, kind: str) -> dict[str, str]:
        """A record that accompanies the page's own record: its id, the date, and what it goes with."""
        return {RECORD_ID: record_id(self.capture_id, kind), DATE: self.date, CONCURRENT_TO: self.response_id}

    def write_warcinfo(self) -> None:
        info = self.writer.create_warcinfo_record(
            f"{self.capture_id}.warc.gz",
            {"software": SOFTWARE, "format": FORMAT, "isPartOf": self.capture.crawl_id or ""},
        )
        info.rec_headers.replace_header(DATE, self.date)
        info.rec_headers.replace_header(RECORD_ID, self.warcinfo_id)
        self.writer.write_record(info)

    def write_exchange(self) -> None:
        """The HTTP exchange the archive made: response (or revisit), then request."""
        capture, revisit_of = self.capture, self.revisit_of
        request_headers = list(capture.request_headers)
        if not any(n.lower() == "host" for n, _ in request_headers):
            request_headers.insert(0, ("Host", urlsplit(capture.url).netloc))
        request = self.writer.create_warc_record(
            capture.url,
            REQUEST,
            http_headers=StatusAndHeaders(
                f"{capture.method} {_request_target(capture.url)} {capture.http_version}",
                request_headers,
                is_http_request=True,
            ),
            warc_headers_dict={**self._ids(REQUEST), WARCINFO_ID: self.warcinfo_id},
        )
        http = StatusAndHeaders(
            f"{capture.status} {capture.reason or _status_phrase(capture.status)}".strip(),
            warc_http_headers(capture),
            protocol=capture.http_version,
        )
        common = {RECORD_ID: self.response_id, DATE: self.date, WARCINFO_ID: self.warcinfo_id}
        if revisit_of is None:
            response = self.writer.create_warc_record(
                capture.url,
                RESPONSE,
                payload=io.BytesIO(capture.body),
                length=len(capture.body),
                http_headers=http,
                warc_headers_dict=common,
            )
        else:
            response = self.writer.create_revisit_record(
                capture.url,
                payload_digest(capture.body),
                revisit_of.url,
                warc_date(revisit_of.captured_at),
                http_headers=http,
                warc_headers_dict={**common, REFERS_TO: record_id(revisit_of.capture_id, RESPONSE)},
            )
        self.writer.write_record(response)
        self.writer.write_record(request)

    def write_reader_page(self) -> None:
        """The reader's DOM as a ``resource`` record of the page's own URL (or a revisit of one)."""
        capture, revisit_of = self.capture, self.revisit_of
        headers = {RECORD_ID: self.response_id, DATE: self.date, WARCINFO_ID: self.warcinfo_id}
        if revisit_of is None:
            record = self.writer.create_warc_record(
                capture.url,
                RESOURCE,
                payload=io.BytesIO(capture.body),
                length=len(capture.body),
                warc_content_type=READER_CONTENT_TYPE,
                warc_headers_dict=headers,
            )
        else:
            record = self.writer.create_revisit_record(
                capture.url,
                payload_digest(capture.body),
                revisit_of.url,
                warc_date(revisit_of.captured_at),
                warc_headers_dict={**headers, REFERS_TO: record_id(revisit_of.capture_id, RESPONSE)},
            )
            record.rec_headers.remove_header("Content-Type")  # no HTTP message follows: the block is empty
        self.writer.write_record(record)

    def write_metadata(self, extra: dict[str, str]) -> None:
        """What the archive knows about the capture, as ``application/warc-fields``."""
        capture = self.capture
        fields = {"capture-id": self.capture_id, "rendered": "yes" if capture.rendered_html else "no"}
        if capture.from_reader_only:
            fields["source"] = READER
            fields["server-fetch"] = "failed: " + " ".join((capture.fetch_error or "unknown error").split())
        if capture.crawl_id:
            fields["crawl-id"] = capture.crawl_id
        if self.revisit_of is not None:
            fields["revisit-of"] = self.revisit_of.capture_id
        fields.update(extra)
        body = "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v).encode("utf-8")
        self.writer.write_record(
            self.writer.create_warc_record(
                capture.url,
                METADATA,
                payload=io.BytesIO(body),
                length=len(body),
                warc_content_type=WARC_FIELDS,
                warc_headers_dict=self._ids(METADATA),
            )
        )

    def write_resources(self, skip: frozenset[str] | set[str]) -> None:
        """What a browser showed (rendered DOM, reader's DOM, screenshot), unless ``skip`` names it."""
        for kind, data in _resources(self.capture):
            if kind in skip:
                continue
            self.writer.write_record(
                self.writer.create_warc_record(
                    RESOURCE_URIS[kind] + self.capture.url,
                    RESOURCE,
                    payload=io.BytesIO(data),
                    length=len(data),
                    warc_content_type=RESOURCE_TYPES[kind],
                    warc_headers_dict=self._ids(kind),
                )
            )


# --- reading ------------------------------------------------------------------------------------


@dataclass
class WarcContents:
    """What one capture's WARC holds, read back."""

    url: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    revisit: bool = False
    refers_to: str | None = None
    payload_digest: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    resources: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    source: str = "server"


def read_warc(data: bytes) -> WarcContents:
    """Parse a capture WARC, checking every record's block and payload digest."""
    found = WarcContents()
    kinds = {v: k for k, v in RESOURCE_URIS.items()}
    for record in ArchiveIterator(io.BytesIO(data), check_digests=True):
        kind = record.rec_type
        content = record.raw_stream.read()
        if record.digest_checker.passed is False:
            found.problems.extend(
                f"{kind} {record.rec_headers.get_header(RECORD_ID)}: {p}"
                for p in record.digest_checker.problems
            )
        uri = record.rec_headers.get_header(TARGET_URI) or ""
        page_resource = kind == RESOURCE and not uri.startswith(tuple(kinds))
        if kind in {RESPONSE, REVISIT} or page_resource:
            found.url = uri
            if record.http_headers is not None:
                found.status = int(record.http_headers.get_statuscode() or 0)
                found.reason = record.http_headers.statusline.partition(" ")[2]
                found.headers = list(record.http_headers.headers)
            else:
                found.source = READER
                found.headers = [("Content-Type", READER_CONTENT_TYPE)]
            if page_resource:
                found.body = content
            found.payload_digest = record.rec_headers.get_header(PAYLOAD_DIGEST)
            if kind == REVISIT:
                found.revisit = True
                found.refers_to = record.rec_headers.get_header(REFERS_TO)
            elif kind == RESPONSE:
                found.body = content
        elif kind == REQUEST:
            found.request_headers = list(record.http_headers.headers)
        elif kind == METADATA:
            for line in content.decode("utf-8", "replace").splitlines():
                name, sep, value = line.partition(":")
                if sep:
                    found.metadata[name.strip()] = value.strip()
        elif kind == RESOURCE:
            for prefix, name in kinds.items():
                if uri.startswith(prefix):
                    found.resources[name] = content
    if found.payload_digest and not found.revisit and payload_digest(found.body) != found.payload_digest:
        found.problems.append("response payload does not match WARC-Payload-Digest")
    return found
