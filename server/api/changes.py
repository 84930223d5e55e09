"""How articles change: ``/api/v1/changes``, ``/api/v1/diff`` and the Atom feed of what is kept.

Silent edits to a story are news, so each recorded change links to its word-level diff, and the
feed carries the full clean text so any feed reader can follow the archive. The diff is the one in
``crawler.catalogue.diff``; the catalogue supplies the rows and the indexed text, so no object is read here.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from aiohttp import web

from crawler.catalogue.diff import diff_captures
from server import state
from server.errors import BadRequest, NotFound
from server.params import parse_int, parse_time, require_url

ATOM = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
MAX_QUERY = 500
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

ET.register_namespace("", ATOM)


def _links(change: Any) -> dict[str, str]:
    query = f"a={change.from_id}&b={change.to_id}"
    return {
        "diff": f"/api/v1/diff?{query}",
        "diff_html": f"/api/v1/diff?{query}&format=html",
        "before": f"/api/v1/captures/{change.from_id}",
        "after": f"/api/v1/captures/{change.to_id}",
    }


async def changes(request: web.Request) -> web.Response:
    """Recorded text changes (newest first), of one URL or of the whole archive."""
    query = request.query
    url = require_url(query.get("url")) if query.get("url") else None
    since = parse_time(query.get("from"), "from")
    limit = parse_int(query.get("limit"), "limit", default=100, low=1, high=1000)
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    rows = await backends.call("catalogue", catalogue.changes, url, since=since, limit=limit)
    return web.json_response(
        {"url": url, "changes": [{**row.to_dict(), "links": _links(row)} for row in rows]}
    )


def _wants_html(request: web.Request) -> bool:
    fmt = (request.query.get("format") or "").strip().lower()
    if fmt:
        if fmt not in {"json", "html"}:
            raise BadRequest(f"'format' must be json or html, not {fmt!r}")
        return fmt == "html"
    best = ("application/json", 0.0)
    for position, item in enumerate(request.headers.get("Accept", "").split(",")):
        media, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.strip().lower()
        if media in {"text/html", "application/json"} and quality - position * 1e-6 > best[1]:
            best = (media, quality - position * 1e-6)
    return best[0] == "text/html"


async def diff(request: web.Request) -> web.Response:
    """The word-level diff of two captures' clean text, as JSON operations or marked-up HTML."""
    ids = []
    for name in ("a", "b"):
        value = (request.query.get(name) or "").strip()
        if not value:
            raise BadRequest(f"{name!r} is required: the id of the {'earlier' if name == 'a' else 'later'} capture")
        if len(value) > 64:
            raise BadRequest(f"{name!r} is not a capture id (longer than 64 characters)")
        ids.append(value)
    as_html = _wants_html(request)
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    for capture_id in ids:
        if await backends.call("catalogue", catalogue.get_capture, capture_id) is None:
            raise NotFound(f"there is no capture {capture_id!r}")
    result = await backends.call("catalogue", diff_captures, catalogue, ids[0], ids[1])
    if not as_html:
        return web.json_response(result.to_dict(), headers={"Vary": "Accept"})
    return web.Response(
        text=_diff_page(result),
        content_type="text/html",
        charset="utf-8",
        headers={
            "Vary": "Accept",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _diff_page(result: Any) -> str:
    before, after = result.before, result.after
    esc = html.escape
    title = after.title or before.title or after.url
    heading = f"{esc(title)}"
    times = (
        f"{esc(before.captured_at.strftime('%Y-%m-%d %H:%M UTC'))} → "
        f"{esc(after.captured_at.strftime('%Y-%m-%d %H:%M UTC'))}"
    )
    title_line = (
        f"<p>Title: <del>{esc(before.title or '')}</del> <ins>{esc(after.title or '')}</ins></p>"
        if result.title_changed
        else ""
    )
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Changes: {heading}</title>"
        "<style>body{font:16px/1.6 Georgia,serif;max-width:42rem;margin:2rem auto;padding:0 1rem}"
        "ins{background:#d4f7d4;text-decoration:none}del{background:#fbd6d6;color:#7a1f1f}"
        ".meta{font:14px system-ui,sans-serif;color:#444}</style></head><body>"
        f"<h1>{heading}</h1>"
        f"<p class=\"meta\"><a href=\"{esc(after.url)}\">{esc(after.url)}</a><br>{times}<br>"
        f"{result.text.words_added} words added, {result.text.words_removed} removed</p>"
        f"{title_line}{result.text.to_html()}</body></html>"
    )


# --- Atom feed -----------------------------------------------------------------------------


async def feed(request: web.Request) -> web.Response:
    """The newest captured articles (optionally of one site or matching a query), full text."""
    query = request.query
    site = (query.get("site") or "").strip().lower() or None
    q = (query.get("q") or "").strip() or None
    if q and len(q) > MAX_QUERY:
        raise BadRequest(f"'q' is longer than {MAX_QUERY} characters")
    limit = parse_int(query.get("limit"), "limit", default=20, low=1, high=100)
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    entries = await backends.call("catalogue", _feed_entries, catalogue, site, q, limit)
    body = _atom(request, entries, site=site, q=q)
    return web.Response(body=body, content_type=ATOM_TYPE, charset="utf-8")


def _feed_entries(
    catalogue: Any, site: str | None, q: str | None, limit: int
) -> list[tuple[Any, str, Any]]:
    """(row, clean text, change or None) of the newest captures that brought an article or a new
    version of one; a new version carries the change that links to its diff."""
    from crawler.catalogue import BadQuery

    if q:
        try:
            rows = [hit.capture for hit in catalogue.search(q, site=site, limit=limit * 2)]
        except BadQuery as exc:
            raise BadRequest(str(exc)) from exc
        rows.sort(key=lambda row: row.captured_at, reverse=True)
    else:
        rows, _ = catalogue.list_captures(site=site, limit=limit * 4, newest_first=True)
    entries: list[tuple[Any, str, Any]] = []
    for row in rows:
        if row.revisit or not row.text_digest:
            continue
        found = catalogue.capture_text(row.id)
        if not found or not found[1]:
            continue
        change = next((c for c in catalogue.changes(row.url, limit=50) if c.to_id == row.id), None)
        entries.append((row, found[1], change))
        if len(entries) == limit:
            break
    return entries


def _xml_text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _atom(
    request: web.Request, entries: list[tuple[Any, str, Any]], *, site: str | None, q: str | None
) -> bytes:
    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            node.text = _xml_text(text)
        return node

    base = f"{request.scheme}://{request.host}"
    root = ET.Element(f"{{{ATOM}}}feed")
    what = " ".join(part for part in (site and f"on {site}", q and f"matching “{q}”") if part)
    el(root, "title", f"Declutter archive: articles {what}".strip() if what else "Declutter archive: articles")
    el(root, "id", f"{base}{request.rel_url}")
    el(root, "link", rel="self", href=f"{base}{request.rel_url}", type=ATOM_TYPE)
    newest = max((row.captured_at for row, _, _ in entries), default=datetime.now(UTC))
    el(root, "updated", _stamp(newest))
    author = el(root, "author")
    el(author, "name", "Declutter archive")
    el(root, "generator", "Declutter")
    for row, text, change in entries:
        entry = el(root, "entry")
        el(entry, "id", f"urn:declutter:capture:{row.id}")
        el(entry, "title", row.title or row.url)
        el(entry, "updated", _stamp(row.captured_at))
        if row.byline:
            el(el(entry, "author"), "name", row.byline)
        el(entry, "link", rel="alternate", href=row.url)
        el(entry, "link", rel="related", href=f"{base}/api/v1/captures/{row.id}", type="application/json")
        if change is not None:
            el(entry, "link", rel="related", type="text/html", title="What changed",
               href=f"{base}{_links(change)['diff_html']}")
            el(entry, "summary", f"A new version: {change.words_added} words added, "
               f"{change.words_removed} removed since capture {change.from_id}.")
        if row.site_name:
            el(entry, "category", term=_xml_text(row.site_name))
        el(entry, "content", text, type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- OpenAPI (merged into /api/v1/openapi.json by server.openapi) ----------------------------

def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_COMMON_ERRORS = {
    "400": _error("A parameter is missing or malformed."),
    "429": _error("Too many requests from this client (see Retry-After)."),
    "503": _error("Storage or the catalogue is unreachable; retry later (see Retry-After)."),
}
_DATE = {"type": "string", "description": "ISO 8601 date or time, or a Wayback timestamp."}
_CAPTURE_SIDE = {
    "type": "object",
    "required": ["id", "url", "captured_at"],
    "properties": {
        "id": {"type": "string"},
        "url": {"type": "string"},
        "captured_at": {"type": "string", "format": "date-time"},
        "title": {"type": ["string", "null"]},
        "text_digest": {"type": ["string", "null"]},
    },
}
_CHANGE = {
    "type": "object",
    "required": ["url", "from_id", "to_id", "words_added", "words_removed", "detected_at"],
    "properties": {
        "id": {"type": ["integer", "null"]},
        "url": {"type": "string"},
        "url_key": {"type": "string"},
        "from_id": {"type": "string"},
        "to_id": {"type": "string"},
        "words_added": {"type": "integer", "minimum": 0},
        "words_removed": {"type": "integer", "minimum": 0},
        "title_before": {"type": ["string", "null"]},
        "title_after": {"type": ["string", "null"]},
        "title_changed": {"type": "boolean"},
        "detected_at": {"type": "string", "format": "date-time"},
        "links": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
_DIFF = {
    "type": "object",
    "required": ["a", "b", "title_changed", "changed", "words_added", "words_removed", "ops"],
    "properties": {
        "a": _CAPTURE_SIDE,
        "b": _CAPTURE_SIDE,
        "title_changed": {"type": "boolean"},
        "changed": {"type": "boolean"},
        "words_added": {"type": "integer", "minimum": 0},
        "words_removed": {"type": "integer", "minimum": 0},
        "ops": {
            "type": "array",
            "description": "Spans in reading order; joining the non-delete spans gives text b.",
            "items": {
                "type": "object",
                "required": ["op", "text"],
                "properties": {
                    "op": {"enum": ["equal", "insert", "delete"]},
                    "text": {"type": "string"},
                },
            },
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/changes": {
        "get": {
            "summary": "Recorded changes of clean text between captures, newest first",
            "operationId": "listChanges",
            "parameters": [
                {"name": "url", "in": "query", "schema": {"type": "string", "format": "uri",
                                                           "maxLength": 8192},
                 "description": "Only changes of this URL (default: the whole archive)."},
                {"name": "from", "in": "query", "schema": _DATE},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
            ],
            "responses": {
                "200": {
                    "description": "Changes",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["url", "changes"],
                        "properties": {
                            "url": {"type": ["string", "null"]},
                            "changes": {"type": "array", "items": _CHANGE},
                        },
                    }}},
                },
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/v1/diff": {
        "get": {
            "summary": "Word-level diff of two captures' clean text (JSON, or HTML with ins/del)",
            "description": "HTML when format=html or when Accept prefers text/html.",
            "operationId": "diffCaptures",
            "parameters": [
                {"name": "a", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                {"name": "b", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                {"name": "format", "in": "query", "schema": {"enum": ["json", "html"]}},
            ],
            "responses": {
                "200": {
                    "description": "The diff",
                    "content": {
                        "application/json": {"schema": _DIFF},
                        "text/html": {"schema": {"type": "string"}},
                    },
                },
                "404": _error("No such capture."),
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/v1/feed.atom": {
        "get": {
            "summary": "Atom feed of the newest captured articles with their full clean text",
            "operationId": "feed",
            "parameters": [
                {"name": "site", "in": "query", "schema": {"type": "string"}},
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 500},
                 "description": "Only articles matching this search query."},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
            ],
            "responses": {
                "200": {
                    "description": "Atom 1.0 feed (RFC 4287)",
                    "content": {"application/atom+xml": {"schema": {"type": "string"}}},
                },
                **_COMMON_ERRORS,
            },
        }
    },
}
