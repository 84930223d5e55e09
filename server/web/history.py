"""A URL's history page: ``/web/<url>`` (read by ``wayback``) and ``/web/history?url=`` (the form's)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from server.errors import BadRequest
from server.web import views
from server.web.pages import catalogue_of, from_catalogue, page, render

# One page of a history: a thousand captures keep a busy URL's page under a second.
HISTORY_PAGE = 1000


@page
async def history_form(request: web.Request) -> web.Response:
    """``/web/history?url=``: the home page's form, and older pages of a long history."""
    url = request.query.get("url", "").strip()
    if not url:
        raise BadRequest("give the address whose captures you want to see")
    if url.startswith("*.") or url.endswith("*"):  # a prefix or a domain: its listing
        raise web.HTTPSeeOther("/web/list?" + urlencode({"url": url}))
    cursor = request.query.get("cursor")
    if not cursor:
        raise web.HTTPSeeOther(views.history_href(url))
    return await history_page(request, url, cursor)


async def history_page(request: web.Request, url: str, cursor: str | None) -> web.Response:
    catalogue = await catalogue_of(request)
    rows, next_cursor = await from_catalogue(
        request, catalogue.list_captures, url, limit=HISTORY_PAGE, cursor=cursor, newest_first=True
    )
    changes = (
        await from_catalogue(request, catalogue.changes, url, limit=10 * HISTORY_PAGE) if rows else []
    )
    timeline = views.build_timeline(rows, changes, complete=next_cursor is None)
    context = {
        "url": url,
        "years": timeline.years,
        "total": timeline.total,
        "counts": timeline.counts,
        "first": timeline.first,
        "last": timeline.last,
        "older_href": None,
    }
    if next_cursor:
        context["older_href"] = "/web/history?" + urlencode({"url": url, "cursor": next_cursor})
    return render("history.html", request, context, status=200 if rows else 404)
