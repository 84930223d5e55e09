"""A URL's history page: ``/web/<url>`` (the Wayback form) and ``/web/history?url=`` (the form's)."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlencode

from aiohttp import web

from server.errors import BadRequest
from server.web import views
from server.web.pages import catalogue_of, from_catalogue, page, render

# One page of a history: a thousand captures keep a busy URL's page under a second.
HISTORY_PAGE = 1000


def archived_url(request: web.Request) -> str:
    """The address after ``/web/``, exactly as given, its own query string included."""
    raw = request.raw_path.split("?", 1)[0]
    url = raw[len("/web/"):]
    if "%" in url and "://" not in url:
        url = unquote(url)
    url = re.sub(r"^(https?):/+", r"\1://", url)
    if request.query_string:
        url += "?" + request.query_string
    return url


@page
async def history_form(request: web.Request) -> web.Response:
    """``/web/history?url=``: the home page's form, and older pages of a long history."""
    url = request.query.get("url", "").strip()
    if not url:
        raise BadRequest("give the address whose captures you want to see")
    cursor = request.query.get("cursor")
    if not cursor:
        raise web.HTTPSeeOther(views.history_href(url))
    return await history_page(request, url, cursor)


@page
async def history(request: web.Request) -> web.Response:
    url = archived_url(request)
    if not re.match(r"^https?://", url):
        raise web.HTTPSeeOther(views.history_href("https://" + url))
    return await history_page(request, url, None)


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
