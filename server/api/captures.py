"""``/api/v1/captures``: archive a page now, list a URL's captures, and read one back in any form.

Every read goes through the catalogue and the archiver (the same functions the CLI and the web app
use); this module only turns their answers into HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from crawler.catalogue import CAPTURE_COLUMNS, CaptureRow
from server import actions, state
from server.api import memento
from server.auth import bearer_token, require_valid_token
from server.errors import NotFound
from server.params import json_body, optional_str, parse_int, parse_time, require_url

MAX_LIMIT = 1000


def require_token(request: web.Request) -> None:
    token = bearer_token(request.headers.get("Authorization"))
    require_valid_token(request.app[state.TOKENS], token)


async def create(request: web.Request) -> web.Response:
    """Fetch the page now (guarded) and archive it, with the reader's DOM beside it when sent."""
    require_token(request)
    data = await json_body(request)
    url = require_url(data.get("url"))
    html = optional_str(data, "html")
    capture, result = await actions.capture_now(request, url, reader_html=html)
    location = f"/api/v1/captures/{result.capture_id}"
    payload: dict[str, Any] = {
        "id": result.capture_id,
        "url": capture.url,
        "captured_at": capture.captured_at.isoformat(),
        "revisit": result.revisit,
        "href": location,
        "source": capture.source,
    }
    notes = []
    if capture.from_reader_only:
        notes.append(
            "the server could not fetch the page, so it was kept as the reader's browser showed it "
            f"({capture.fetch_error})"
        )
    if result.article is not None:
        payload["title"] = result.article.title
    if result.spooled:
        payload["spooled"] = True
        notes.append("storage is down: the capture is kept in the spool and stored later")
    if notes:
        payload["detail"] = "; ".join(notes)
    status = 202 if result.spooled else 201
    return web.json_response(payload, status=status, headers={"Location": location})


async def listing(request: web.Request) -> web.Response:
    query = request.query
    url = require_url(query.get("url")) if query.get("url") else None
    since = parse_time(query.get("from"), "from")
    until = parse_time(query.get("to"), "to", end=True)
    limit = parse_int(query.get("limit"), "limit", default=100, low=1, high=MAX_LIMIT)
    cursor = query.get("cursor") or None
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    rows, next_cursor = await backends.call(
        "catalogue",
        catalogue.list_captures,
        url,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )
    headers = {}
    if next_cursor:
        next_url = request.rel_url.update_query(cursor=next_cursor)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return web.json_response(
        {"captures": [_row(row) for row in rows], "next_cursor": next_cursor}, headers=headers
    )


async def _capture_row(request: web.Request) -> Any:
    capture_id = request.match_info["id"]
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    row = await backends.call("catalogue", catalogue.get_capture, capture_id)
    if row is None:
        raise NotFound(f"there is no capture {capture_id!r}")
    return row


async def _read(request: web.Request, method: str, row: Any) -> Any:
    backends = request.app[state.BACKENDS]
    archiver = await backends.archiver()
    try:
        return await backends.call("storage", getattr(archiver, method), row.id)
    except KeyError as exc:
        raise NotFound(f"capture {row.id} has no stored {method.removeprefix('read_')}") from exc


async def detail(request: web.Request) -> web.Response:
    row = await _capture_row(request)
    article = await _read(request, "read_article", row)
    payload = _row(row)
    payload["article"] = article.to_dict() if article is not None else None
    base = f"/api/v1/captures/{row.id}"
    payload["links"] = {
        "raw": f"{base}/raw",
        "text": f"{base}/text",
        "warc": f"{base}/warc",
        "screenshot": f"{base}/screenshot",
        "timemap": f"/timemap/link/{row.url}",
    }
    return web.json_response(payload)


# Sandboxed with an opaque origin, and no fetches: opening a capture must not contact the live site.
RAW_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


async def raw(request: web.Request) -> web.Response:
    """The archived bytes, sandboxed: archived scripts must never run on this origin."""
    row = await _capture_row(request)
    status, headers, body = await _read(request, "read_raw", row)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type or "application/octet-stream"
    response.headers.update(
        {
            "Content-Security-Policy": RAW_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Archive-Status": str(status),
        }
    )
    response.headers.update(memento.memento_headers(request, row))
    return response


async def text(request: web.Request) -> web.Response:
    row = await _capture_row(request)
    article = await _read(request, "read_article", row)
    if article is None or not article.text:
        raise NotFound(f"capture {row.id} has no clean text (no article was found in it)")
    return web.Response(text=article.text, content_type="text/plain", charset="utf-8")


async def warc(request: web.Request) -> web.Response:
    row = await _capture_row(request)
    data = await _read(request, "read_warc", row)
    suffix = ".warc.gz" if data[:2] == b"\x1f\x8b" else ".warc"
    return web.Response(
        body=data,
        content_type="application/warc",
        headers={"Content-Disposition": f'attachment; filename="{row.id}{suffix}"'},
    )


async def screenshot(request: web.Request) -> web.Response:
    row = await _capture_row(request)
    data = await _read(request, "read_screenshot", row)
    if not data:
        raise NotFound(f"capture {row.id} has no screenshot (it was not rendered in a browser)")
    return web.Response(body=data, content_type="image/png")


def _row(row: Any) -> dict[str, Any]:
    """A catalogue row as JSON-ready data.

    Capture rows skip ``to_dict`` (``dataclasses.asdict`` deep-copies every field, which was most
    of a listing's time); the values are already JSON-ready apart from datetimes, written as the
    catalogue writes them (UTC, ``Z``).
    """
    if isinstance(row, CaptureRow):
        return {name: _jsonable(getattr(row, name)) for name in CAPTURE_COLUMNS}
    return {key: _jsonable(value) for key, value in row.to_dict().items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value
