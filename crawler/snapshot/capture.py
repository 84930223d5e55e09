"""The Capture record: one page as it was exchanged and, when rendered, as a browser showed it.

Every path that keeps a page (crawl, server fetch, the extension's save) builds one of these and
hands it to ``crawler.archive``; nothing else decides how a page is stored.
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
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

READER = "reader"
READER_CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass
class Capture:
    url: str
    status: int
    body: bytes
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    method: str = "GET"
    http_version: str = "HTTP/1.1"
    reason: str = ""
    captured_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    rendered_html: str | None = None
    screenshot: bytes | None = None
    reader_html: str | None = None
    crawl_id: str | None = None
    source: str = "server"
    fetch_error: str | None = None

    @classmethod
    def from_reader(
        cls, url: str, html: str, fetch_error: str, *, captured_at: datetime | None = None
    ) -> Capture:
        """The page as only the reader's browser had it, because the server's own fetch failed.

        No HTTP exchange happened, so there is no status (0), no request and no response headers:
        the DOM is the body, archived as a WARC ``resource`` record, never as a response.
        """
        return cls(
            url=url,
            status=0,
            body=html.encode("utf-8", "replace"),
            response_headers=[("Content-Type", READER_CONTENT_TYPE)],
            method="",
            http_version="",
            captured_at=captured_at or datetime.now(UTC),
            source=READER,
            fetch_error=fetch_error,
        )

    @property
    def from_reader_only(self) -> bool:
        return self.source == READER

    @property
    def content_type(self) -> str:
        for name, value in self.response_headers:
            if name.lower() == "content-type":
                return value
        return ""

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def html_for_extraction(self) -> bytes | str:
        """The richest view of the page: the reader's DOM, else the rendered DOM, else the body."""
        return self.reader_html or self.rendered_html or self.body


# --- WARC form -------------------------------------------------------------------------------
# One gzip'd WARC 1.1 object per capture: warcinfo, request, response (or revisit), metadata,
# and resource records for what a browser showed. Record ids derive from the capture id, so a
# later revisit can name the original response without a lookup.

SOFTWARE = "Declutter/0.1 (warcio)"
_ID_NAMESPACE = uuid.UUID("6f1d7c2e-7a4b-4d55-9a43-5b1f0c1b9e10")
_ENCODINGS = {"gzip", "x-gzip", "deflate", "br"}


def payload_digest(data: bytes) -> str:
    """The WARC-Payload-Digest form (``sha1:BASE32``), also kept in the catalogue."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def record_id(capture_id: str, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(_ID_NAMESPACE, f'{capture_id}/{kind}')}>"


def warc_date(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class RevisitOf:
    """The earlier capture whose response payload this one repeats."""

    capture_id: str
    url: str
    captured_at: datetime


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
    kept under ``X-Archive-Orig-`` (the pywb/warcprox convention) so nothing is lost.
    """
    headers: list[tuple[str, str]] = []
    length_seen = False
    for name, value in capture.response_headers:
        lower = name.lower()
        if lower == "transfer-encoding":
            headers.append((f"X-Archive-Orig-{name}", value))
        elif lower == "content-encoding" and (
            value.strip().lower() not in _ENCODINGS
            or not _looks_encoded(value.strip().lower(), capture.body)
        ):
            headers.append((f"X-Archive-Orig-{name}", value))
        elif lower == "content-length":
            length_seen = True
            if value.strip() != str(len(capture.body)):
                headers.append((f"X-Archive-Orig-{name}", value))
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


def resource_digests(capture: Capture) -> dict[str, str]:
    """Digests of the browser-side resources, used to skip unchanged ones in a revisit."""
    found = {}
    for kind, data in _resources(capture):
        found[kind] = payload_digest(data)
    return found


def _resources(capture: Capture) -> list[tuple[str, bytes]]:
    out = []
    if capture.rendered_html is not None:
        out.append(("rendered", capture.rendered_html.encode("utf-8")))
    if capture.reader_html is not None:
        out.append(("reader", capture.reader_html.encode("utf-8")))
    if capture.screenshot is not None:
        out.append(("screenshot", capture.screenshot))
    return out


RESOURCE_URIS = {"rendered": "urn:dom:", "reader": "urn:reader:", "screenshot": "urn:screenshot:"}
RESOURCE_TYPES = {
    "rendered": "text/html; charset=utf-8",
    "reader": "text/html; charset=utf-8",
    "screenshot": "image/png",
}


def to_warc(
    capture: Capture,
    capture_id: str,
    *,
    revisit_of: RevisitOf | None = None,
    skip_resources: frozenset[str] | set[str] = frozenset(),
    metadata: dict[str, str] | None = None,
) -> bytes:
    """The capture as one gzip-per-record WARC/1.1 file."""
    date = warc_date(capture.captured_at)
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    filename = f"{capture_id}.warc.gz"
    info = writer.create_warcinfo_record(
        filename, {"software": SOFTWARE, "format": "WARC File Format 1.1", "isPartOf": capture.crawl_id or ""}
    )
    info.rec_headers.replace_header("WARC-Date", date)
    info.rec_headers.replace_header("WARC-Record-ID", record_id(capture_id, "warcinfo"))
    writer.write_record(info)

    response_id = record_id(capture_id, "response")
    if capture.from_reader_only:
        writer.write_record(_reader_record(writer, capture, capture_id, response_id, date, revisit_of))
    else:
        _write_exchange(writer, capture, capture_id, response_id, date, revisit_of)

    fields = {"capture-id": capture_id, "rendered": "yes" if capture.rendered_html else "no"}
    if capture.from_reader_only:
        fields["source"] = READER
        fields["server-fetch"] = "failed: " + " ".join((capture.fetch_error or "unknown error").split())
    if capture.crawl_id:
        fields["crawl-id"] = capture.crawl_id
    if revisit_of is not None:
        fields["revisit-of"] = revisit_of.capture_id
    fields.update(metadata or {})
    body = "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v).encode("utf-8")
    writer.write_record(
        writer.create_warc_record(
            capture.url,
            "metadata",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Record-ID": record_id(capture_id, "metadata"),
                "WARC-Date": date,
                "WARC-Concurrent-To": response_id,
            },
        )
    )
    for kind, data in _resources(capture):
        if kind in skip_resources:
            continue
        writer.write_record(
            writer.create_warc_record(
                RESOURCE_URIS[kind] + capture.url,
                "resource",
                payload=io.BytesIO(data),
                length=len(data),
                warc_content_type=RESOURCE_TYPES[kind],
                warc_headers_dict={
                    "WARC-Record-ID": record_id(capture_id, kind),
                    "WARC-Date": date,
                    "WARC-Concurrent-To": response_id,
                },
            )
        )
    return out.getvalue()


def _write_exchange(
    writer: WARCWriter,
    capture: Capture,
    capture_id: str,
    response_id: str,
    date: str,
    revisit_of: RevisitOf | None,
) -> None:
    """The HTTP exchange the archive made: response (or revisit) and request records."""
    request_headers = list(capture.request_headers)
    if not any(n.lower() == "host" for n, _ in request_headers):
        request_headers.insert(0, ("Host", urlsplit(capture.url).netloc))
    request = writer.create_warc_record(
        capture.url,
        "request",
        http_headers=StatusAndHeaders(
            f"{capture.method} {_request_target(capture.url)} {capture.http_version}",
            request_headers,
            is_http_request=True,
        ),
        warc_headers_dict={
            "WARC-Record-ID": record_id(capture_id, "request"),
            "WARC-Date": date,
            "WARC-Concurrent-To": response_id,
            "WARC-Warcinfo-ID": record_id(capture_id, "warcinfo"),
        },
    )
    http = StatusAndHeaders(
        f"{capture.status} {capture.reason or _status_phrase(capture.status)}".strip(),
        warc_http_headers(capture),
        protocol=capture.http_version,
    )
    common = {
        "WARC-Record-ID": response_id,
        "WARC-Date": date,
        "WARC-Warcinfo-ID": record_id(capture_id, "warcinfo"),
    }
    if revisit_of is None:
        response = writer.create_warc_record(
            capture.url,
            "response",
            payload=io.BytesIO(capture.body),
            length=len(capture.body),
            http_headers=http,
            warc_headers_dict=common,
        )
    else:
        response = writer.create_revisit_record(
            capture.url,
            payload_digest(capture.body),
            revisit_of.url,
            warc_date(revisit_of.captured_at),
            http_headers=http,
            warc_headers_dict={
                **common,
                "WARC-Refers-To": record_id(revisit_of.capture_id, "response"),
            },
        )
    writer.write_record(response)
    writer.write_record(request)


def _reader_record(
    writer: WARCWriter, capture: Capture, capture_id: str, response_id: str, date: str,
    revisit_of: RevisitOf | None,
) -> ArcWarcRecord:
    """The reader's DOM as a ``resource`` record of the page's own URL (or a revisit of one)."""
    headers = {
        "WARC-Record-ID": response_id,
        "WARC-Date": date,
        "WARC-Warcinfo-ID": record_id(capture_id, "warcinfo"),
    }
    if revisit_of is None:
        return writer.create_warc_record(
            capture.url,
            "resource",
            payload=io.BytesIO(capture.body),
            length=len(capture.body),
            warc_content_type=READER_CONTENT_TYPE,
            warc_headers_dict=headers,
        )
    record = writer.create_revisit_record(
        capture.url,
        payload_digest(capture.body),
        revisit_of.url,
        warc_date(revisit_of.captured_at),
        warc_headers_dict={**headers, "WARC-Refers-To": record_id(revisit_of.capture_id, "response")},
    )
    record.rec_headers.remove_header("Content-Type")  # no HTTP message follows: the block is empty
    return record

def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


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
                f"{kind} {record.rec_headers.get_header('WARC-Record-ID')}: {p}"
                for p in record.digest_checker.problems
            )
        uri = record.rec_headers.get_header("WARC-Target-URI") or ""
        page_resource = kind == "resource" and not uri.startswith(tuple(kinds))
        if kind in {"response", "revisit"} or page_resource:
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
            found.payload_digest = record.rec_headers.get_header("WARC-Payload-Digest")
            if kind == "revisit":
                found.revisit = True
                found.refers_to = record.rec_headers.get_header("WARC-Refers-To")
            elif kind == "response":
                found.body = content
        elif kind == "request":
            found.request_headers = list(record.http_headers.headers)
        elif kind == "metadata":
            for line in content.decode("utf-8", "replace").splitlines():
                name, sep, value = line.partition(":")
                if sep:
                    found.metadata[name.strip()] = value.strip()
        elif kind == "resource":
            for prefix, name in kinds.items():
                if uri.startswith(prefix):
                    found.resources[name] = content
    if found.payload_digest and not found.revisit and payload_digest(found.body) != found.payload_digest:
        found.problems.append("response payload does not match WARC-Payload-Digest")
    return found
