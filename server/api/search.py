"""``GET /api/v1/search``: full-text search over the clean text of every capture."""

from __future__ import annotations

from aiohttp import web

from server import state
from server.api.captures import _row
from server.errors import BadRequest
from server.params import parse_int, parse_time

MAX_QUERY = 500


async def search(request: web.Request) -> web.Response:
    query = request.query
    q = (query.get("q") or "").strip()
    if not q:
        raise BadRequest("'q' is required: the words to search for")
    if len(q) > MAX_QUERY:
        raise BadRequest(f"'q' is longer than {MAX_QUERY} characters")
    site = (query.get("site") or "").strip().lower() or None
    since = parse_time(query.get("from"), "from")
    until = parse_time(query.get("to"), "to", end=True)
    limit = parse_int(query.get("limit"), "limit", default=20, low=1, high=100)
    offset = parse_int(query.get("offset"), "offset", default=0, low=0, high=10_000)
    every = query.get("all", "0").strip().lower()
    if every not in {"0", "1", "true", "false"}:
        raise BadRequest("'all' must be 1 (every capture) or 0 (one hit per URL and text version)")
    collapse = every in {"0", "false"}
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    hits = await backends.call(
        "catalogue",
        catalogue.search,
        q,
        site=site,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
        collapse=collapse,
    )
    results = [_row(hit) for hit in hits]
    return web.json_response(
        {"query": q, "results": results, "limit": limit, "offset": offset, "collapsed": collapse}
    )
