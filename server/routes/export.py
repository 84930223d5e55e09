"""``GET /api/v1/export``: the captures of a URL or a site as WARC, WACZ, JSONL or CSV, streamed.

The bytes come from ``crawler.export`` (the same exporter as ``declutter export``), pulled a block
at a time in a worker thread, so a large export neither blocks the event loop nor fills memory.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from crawler.export import EXTENSIONS, FORMATS, MEDIA_TYPES, Exporter, ExportError, Selection
from server import state
from server.errors import ApiError, BadRequest, NotFound
from server.params import parse_time, require_url
from server.security import request_token, require_valid_token

log = logging.getLogger("declutter.server.export")

BLOCK_BYTES = 256 * 1024
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


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


def _selection(request: web.Request) -> tuple[Selection, str]:
    query = request.query
    fmt = (query.get("format") or "").strip().lower()
    if fmt not in FORMATS:
        raise BadRequest(f"'format' is required: one of {', '.join(FORMATS)}")
    url = require_url(query.get("url")) if query.get("url") else None
    site = (query.get("site") or "").strip().lower() or None
    if site is not None:
        from crawler.catalogue import BadQuery, site_key

        try:
            site_key(site)
        except BadQuery as exc:
            raise BadRequest(str(exc)) from exc
    try:
        selection = Selection(
            url=url,
            site=site,
            since=parse_time(query.get("from"), "from"),
            until=parse_time(query.get("to"), "to", end=True),
        )
    except ExportError as exc:
        raise BadRequest(f"{exc} ('url' or 'site', and 'from' before 'to')") from exc
    return selection, fmt


def _filename(selection: Selection, fmt: str) -> str:
    subject = selection.site or (selection.url or "").split("://", 1)[-1]
    stem = _UNSAFE_NAME.sub("_", subject).strip("_")[:80] or "export"
    return f"declutter-{stem}{EXTENSIONS[fmt]}"


async def count_selection(request: web.Request, selection: Selection) -> int:
    """How many captures the export would hold, counted in the catalogue before anything streams."""
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    count = await backends.call(
        "catalogue",
        catalogue.count_captures,
        selection.url,
        site=selection.site,
        since=selection.since,
        until=selection.until,
    )
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


async def export(request: web.Request) -> web.StreamResponse:
    selection, fmt = _selection(request)
    count = await count_selection(request, selection)
    needed_for = over_open_limit(request, count)
    if needed_for:
        require_valid_token(request.app[state.TOKENS], request_token(request), needed_for=needed_for)
    return await stream(request, selection, fmt)


async def stream(
    request: web.Request, selection: Selection, fmt: str, *, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    """Stream the export; the status line waits for the first block, so early failures are clean."""
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    archiver = await backends.archiver()
    chunks = Exporter(catalogue, archiver).export(selection, fmt)
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


def _close(chunks: Any) -> None:
    chunks.close()


# --- OpenAPI (merged into /api/v1/openapi.json by server.openapi) ----------------------------

def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_DATE = {"type": "string", "description": "ISO 8601 date or time, or a Wayback timestamp."}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/export": {
        "get": {
            "summary": "Export the captures of a URL or a site (WARC, WACZ, JSONL or CSV), streamed",
            "description": "Give exactly one of url and site. WACZ 1.1.1 opens in ReplayWeb.page "
            "and pywb; JSONL and CSV carry the clean articles.",
            "operationId": "export",
            "parameters": [
                {"name": "format", "in": "query", "required": True,
                 "schema": {"enum": list(FORMATS)}},
                {"name": "url", "in": "query",
                 "schema": {"type": "string", "format": "uri", "maxLength": 8192}},
                {"name": "site", "in": "query", "schema": {"type": "string"}},
                {"name": "from", "in": "query", "schema": _DATE},
                {"name": "to", "in": "query", "schema": _DATE},
            ],
            "responses": {
                "200": {
                    "description": "The export, as an attachment",
                    "content": {
                        media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                        for media in MEDIA_TYPES.values()
                    },
                },
                "400": _error("A parameter is missing or malformed."),
                "401": _error(
                    "The selection holds more captures than DECLUTTER_EXPORT_OPEN_LIMIT (default "
                    "1000) and no valid token came with it: send 'Authorization: Bearer <token>' "
                    "(`declutter token create`). The detail gives the count and the limit."
                ),
                "404": _error("No capture matches."),
                "429": _error("Too many requests from this client (see Retry-After)."),
                "500": _error("A stored object of a selected capture could not be read."),
                "503": _error("Storage or the catalogue is unreachable; retry later."),
            },
        }
    },
}
