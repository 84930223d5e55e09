"""What the API and the web app both do: fetch guarded, capture now, count and stream an export.

A handler in ``server.api`` or ``server.web`` reads its request its own way, then calls one of
these, so a page and an endpoint can never disagree on how a page is kept or an export is sized.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from crawler.archive import ArchiveResult
from crawler.extract import NoArticleError
from crawler.fetch import FetchError, FetchResult, fetch
from crawler.research.export import EXTENSIONS, MEDIA_TYPES, Exporter, ExportError, Selection
from crawler.research.signing import Signer, SigningError, signer_for
from crawler.snapshot.capture import Capture
from server import state
from server.errors import ApiError, NotFound, fetch_error
from server.render import RenderError

log = logging.getLogger("declutter.server.export")

BLOCK_BYTES = 256 * 1024
RECENT_FILE_BYTES = 64 * 1024 * 1024
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


async def guarded_fetch(request: web.Request, url: str) -> FetchResult:
    """Fetch ``url`` the one way the server does: SSRF guard on every hop, size and time caps."""
    app = request.app
    settings = app[state.SETTINGS]
    counter = app[state.METRICS].fetches
    try:
        page = await fetch(
            url,
            timeout=settings.fetch_timeout,
            max_bytes=settings.max_page_bytes,
            guard=app[state.GUARD],
            resolver=app[state.RESOLVER],
        )
    except Exception as exc:
        error = fetch_error(exc)
        if error is None:
            raise
        counter.labels("refused" if error.status == 403 else "error").inc()
        raise error from exc
    counter.labels("ok").inc()
    return page


async def capture_now(
    request: web.Request, url: str, *, reader_html: str | None = None
) -> tuple[Capture, ArchiveResult]:
    """The server's one way to keep a page (API and web app alike): guarded fetch, then archive.

    When the fetch fails but the reader sent the page their browser showed, that DOM is kept alone,
    marked as the reader's (no HTTP exchange is invented); without it the fetch error stands.
    """
    backends = request.app[state.BACKENDS]
    archiver = await backends.archiver()
    try:
        page = await guarded_fetch(request, url)
    except ApiError as exc:
        if reader_html is None or not isinstance(exc.__cause__, FetchError):
            raise
        capture = Capture.from_reader(url, reader_html, f"{exc.error}: {exc.detail}")
        return capture, await backends.call("storage", archiver.archive, capture)
    capture = Capture(
        url=page.final_url,
        status=page.status,
        body=page.body,
        response_headers=page.headers,
        request_headers=page.request_headers,
        http_version=page.http_version,
        reason=page.reason,
        rendered_html=await _rendered_if_needed(request, page),
        reader_html=reader_html,
    )
    return capture, await backends.call("storage", archiver.archive, capture)


async def _rendered_if_needed(request: web.Request, page: FetchResult) -> str | None:
    """The server's own rendered DOM of a page whose served HTML holds no article, else None.

    The article must come from what the server fetched (a posted reader DOM is never used), so a
    page built by script is rendered by the server's Chromium, as ``/clean`` does; when that
    fails or every slot is busy, the capture is kept without an article rather than refused.
    """
    if "html" not in page.content_type.lower():
        return None
    extract = request.app[state.EXTRACT]
    try:
        await asyncio.to_thread(extract, page.body, page.final_url, content_type=page.content_type)
        return None
    except NoArticleError:
        pass
    except Exception:  # any other extraction failure is the archive's to record, not a render's
        return None
    try:
        return await request.app[state.RENDERER].render(page, request.remote or "")
    except RenderError as exc:
        log.info("capture of %s kept without a rendered DOM: %s", page.final_url, exc)
        return None


async def count_selection(request: web.Request, selection: Selection) -> int:
    """How many captures the export would hold, counted in the catalogue before anything streams."""
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    count = await backends.call("catalogue", selection.count, catalogue)
    if not count:
        raise NotFound(f"no {selection.describe()} in the archive; nothing to export")
    return count


def over_open_limit(request: web.Request, count: int) -> str:
    """What a token is needed for when ``count`` captures exceed the open limit; "" when it is not.

    Small exports stay open to anyone; a large one is a heavy read of the whole archive, so like
    saving a page it needs a token (issue 9).
    """
    limit = request.app[state.SETTINGS].export_open_limit
    if count <= limit:
        return ""
    return (
        f"this export selects {count} captures, more than the {limit} "
        "anyone may export without a token (DECLUTTER_EXPORT_OPEN_LIMIT); it"
    )


def _next_block(chunks: Iterator[bytes]) -> bytes | None:
    """Up to about BLOCK_BYTES from the exporter; None once it is done."""
    block = bytearray()
    for chunk in chunks:
        block += chunk
        if len(block) >= BLOCK_BYTES:
            break
    else:
        if not block:
            return None
    return bytes(block)


def _filename(selection: Selection, fmt: str) -> str:
    subject = selection.site or selection.capture or (selection.url or "").split("://", 1)[-1]
    stem = _UNSAFE_NAME.sub("_", subject).strip("_")[:80] or "export"
    return f"declutter-{stem}{EXTENSIONS[fmt]}"


async def stream_export(
    request: web.Request, selection: Selection, fmt: str, *, headers: dict[str, str] | None = None,
    sign: bool = False,
) -> web.StreamResponse:
    """Stream the export; the status line waits for the first block, so early failures are clean."""
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    archiver = await backends.archiver()
    signer = await asyncio.to_thread(export_signer, request) if sign else None
    chunks = Exporter(catalogue, archiver, signer=signer).export(selection, fmt)
    try:
        block = await backends.call("storage", _next_block, chunks)
    except ExportError as exc:
        raise ApiError(str(exc), status=500, error="export_failed") from exc
    response = web.StreamResponse(
        headers={
            "Content-Type": MEDIA_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{_filename(selection, fmt)}"',
            "X-Content-Type-Options": "nosniff",
            **(headers or {}),
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        while block is not None:
            await response.write(block)
            block = await asyncio.to_thread(_next_block, chunks)
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        # The status line is gone; ending the stream without its last chunk tells the client.
        log.exception("export of %s failed part way", selection.describe())
        if request.transport is not None:
            request.transport.close()
        return response
    finally:
        await asyncio.to_thread(_close, chunks)
    await response.write_eof()
    return response


class _RecentFiles:
    """One-capture exports built lately, least recently used dropped first, bounded in bytes.

    ReplayWeb.page reads its source twice (once for its size, once for the bytes) and needs the
    same bytes both times, while each export is made afresh (its creation time differs); so one
    capture's file is built once and kept for the reads that follow.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def get(self, key: str) -> bytes | None:
        data = self._files.get(key)
        if data is not None:
            self._files.move_to_end(key)
        return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes or key in self._files:
            return
        self._files[key] = data
        self._size += len(data)
        while self._size > self.max_bytes:
            _, dropped = self._files.popitem(last=False)
            self._size -= len(dropped)


_recent_files = _RecentFiles(RECENT_FILE_BYTES)


async def capture_file(request: web.Request, capture_id: str, fmt: str) -> bytes:
    """One capture's export as whole bytes, for a reader that needs its length (ReplayWeb.page).

    Bounded by one capture (its page, DOM and screenshot, and a revisit's original), unlike the
    streamed exports of a URL or a site.
    """
    key = f"{capture_id}.{fmt}"
    data = _recent_files.get(key)
    if data is None:
        backends = request.app[state.BACKENDS]
        exporter = Exporter(await backends.catalogue(), await backends.archiver())
        chunks = exporter.export(Selection(capture=capture_id), fmt)
        try:
            data = await backends.call("storage", b"".join, chunks)
        except ExportError as exc:
            raise ApiError(str(exc), status=500, error="export_failed") from exc
        _recent_files.put(key, data)
    return data


def export_signer(request: web.Request) -> Signer:
    """The archive's signer (its key, made on first use, or DECLUTTER_SIGNING_URL's authsign)."""
    settings = request.app[state.SETTINGS]
    try:
        return signer_for(settings.data_dir, settings.signing_url)
    except SigningError as exc:
        raise ApiError(str(exc), status=500, error="signing_failed") from exc


def _close(chunks: Any) -> None:
    chunks.close()
