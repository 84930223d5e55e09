"""``GET /api/v1/export``: the captures of a URL or a site as WARC, WACZ, JSONL or CSV, streamed.

The bytes come from ``crawler.research.export`` (the same exporter as ``declutter export``), pulled a block
at a time in a worker thread, so a large export neither blocks the event loop nor fills memory.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from crawler.research.export import (
    FORMATS,
    MEDIA_TYPES,
    ExportError,
    Selection,
)
from server import actions, state
from server.auth import request_token, require_valid_token
from server.errors import BadRequest
from server.params import parse_time, require_url

log = logging.getLogger("declutter.server.export")

BLOCK_BYTES = 256 * 1024
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


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


async def export(request: web.Request) -> web.StreamResponse:
    selection, fmt = _selection(request)
    count = await actions.count_selection(request, selection)
    needed_for = actions.over_open_limit(request, count)
    if needed_for:
        require_valid_token(request.app[state.TOKENS], request_token(request), needed_for=needed_for)
    return await actions.stream_export(request, selection, fmt)


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
