"""The search page: full-text search of the clean articles, one hit per text version by default."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from crawler.catalogue import SearchHit
from server.errors import ApiError, BadRequest, ServiceUnavailable
from server.params import parse_time
from server.web import views
from server.web.pages import catalogue_of, from_catalogue, page, render

SEARCH_PAGE = 20


def hit_view(hit: SearchHit, q: str) -> dict[str, Any]:
    view = views.capture_view(hit)
    return {
        "id": view.id, "url": view.url, "title": view.title, "site": view.site,
        "captured_iso": view.captured_iso, "captured_label": view.captured_label,
        "history_href": view.history_href,
        "snippet_html": views.mark_snippet(hit.snippet or "", q),
        "same_text": int(hit.capture_count or 1),
        "first_label": views.time_label(views.as_datetime(hit.first_captured_at)),
    }


@page
async def search(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()
    site = request.query.get("site", "").strip()
    since_text, until_text = request.query.get("from", ""), request.query.get("to", "")
    every = request.query.get("all", "") in {"1", "true", "on"}
    context: dict[str, Any] = {
        "nav": "search", "q": q, "site": site, "since": since_text, "until": until_text,
        "every": every, "hits": [], "offset": 0, "prev_href": None, "next_href": None, "error": "",
    }
    if not q:
        return render("search.html", request, context)
    try:
        since = parse_time(since_text, "from")
        until = parse_time(until_text, "to", end=True)
        offset = min(max(0, int(request.query.get("page", "1") or 1) - 1), 500) * SEARCH_PAGE
    except (BadRequest, ValueError) as exc:
        context["error"] = getattr(exc, "detail", str(exc))
        return render("search.html", request, context, status=400)
    try:
        catalogue = await catalogue_of(request)
        hits = await from_catalogue(
            request, catalogue.search, q, site=site or None, since=since, until=until,
            limit=SEARCH_PAGE + 1, offset=offset, collapse=not every,
        )
        total = await from_catalogue(
            request, catalogue.count_search, q, site=site or None, since=since, until=until,
            collapse=not every,
        )
    except ServiceUnavailable:
        raise
    except ApiError as exc:
        context["error"] = exc.detail
        return render("search.html", request, context, status=exc.status)
    except ValueError as exc:
        context["error"] = f"That search could not run: {exc}"
        return render("search.html", request, context, status=400)
    more = len(hits) > SEARCH_PAGE
    page_number = offset // SEARCH_PAGE + 1
    wanted = {"q": q, "site": site, "from": since_text, "to": until_text, "all": "1" if every else ""}
    base = {k: v for k, v in wanted.items() if v}
    context.update(hits=[hit_view(hit, q) for hit in hits[:SEARCH_PAGE]], offset=offset, total=total)
    if page_number > 1:
        context["prev_href"] = "/web/search?" + urlencode({**base, "page": page_number - 1})
    if more:
        context["next_href"] = "/web/search?" + urlencode({**base, "page": page_number + 1})
    return render("search.html", request, context)
