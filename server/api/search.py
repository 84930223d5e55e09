"""``GET /api/v1/search``: full-text search over the clean text of every capture."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from server import state
from server.api.captures import row_json
from server.api.models import SearchResults
from server.declare import LOWER, Params, Reply, Since, Site, Until, declare

MAX_QUERY = 500
MAX_LIMIT = 100
MAX_OFFSET = 10_000


class SearchQuery(Params):
    q: str = Field(min_length=1, max_length=MAX_QUERY, description="The words to search for.")
    site: Site = Field(None, description="Only captures on this host and its subdomains.")
    since: Since = Field(None, alias="from")
    until: Until = Field(None, alias="to")
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    all: Annotated[Literal["0", "1", "true", "false"], LOWER] = Field(
        "0",
        description="1: every matching capture. By default one hit per URL and text version: its "
        "newest capture, with capture_count and first_captured_at.",
    )


@declare(
    "GET", "/api/v1/search", "search", "Full-text search over clean text",
    {200: Reply("Hits, best first", SearchResults)},
    params=SearchQuery,
    errors=(503,),
    description='Words must all match; "exact phrases"; -excluded words.',
)
async def search(request: web.Request, params: SearchQuery) -> web.Response:
    collapse = params.all in {"0", "false"}
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    hits = await backends.call(
        "catalogue",
        catalogue.search,
        params.q,
        site=params.site,
        since=params.since,
        until=params.until,
        limit=params.limit,
        offset=params.offset,
        collapse=collapse,
    )
    total = await backends.call(
        "catalogue",
        catalogue.count_search,
        params.q,
        site=params.site,
        since=params.since,
        until=params.until,
        collapse=collapse,
    )
    results = [row_json(hit) for hit in hits]
    return web.json_response(
        {"query": params.q, "results": results, "total": total, "limit": params.limit,
         "offset": params.offset, "collapsed": collapse}
    )
