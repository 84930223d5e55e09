"""A URL's history page: ``/web/<url>`` (read by ``wayback``) and ``/web/history?url=`` (the form's).

The calendar and the counts cover the whole history and are counted in SQL; the timeline under
them is one page of captures. So a URL with 100,000 captures costs about what one with 1,000 does
(``make bench``, webapp rows), and older captures are a cursor link or a calendar month away.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web

from crawler.catalogue import Catalogue, history
from server.errors import BadRequest
from server.web import views
from server.web.pages import catalogue_of, from_catalogue, page, render

# One page of a history's timeline: what a reader scrolls through before reaching for the
# calendar; the rest is one link away, and the page's cost stays that of 200 lines.
HISTORY_PAGE = 200
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@page
async def history_form(request: web.Request) -> web.Response:
    """``/web/history?url=``: the home page's form, older pages of a long history, and its months."""
    url = request.query.get("url", "").strip()
    if not url:
        raise BadRequest("give the address whose captures you want to see")
    if url.startswith("*.") or url.endswith("*"):  # a prefix or a domain: its listing
        raise web.HTTPSeeOther("/web/list?" + urlencode({"url": url}))
    cursor = request.query.get("cursor")
    month = request.query.get("month")
    if not cursor and not month:
        raise web.HTTPSeeOther(views.history_href(url))
    return await history_page(request, url, cursor, before=_month_end(month) if month else None)


def _month_end(month: str) -> datetime:
    """The first instant after ``YYYY-MM``: a month's page starts at its newest capture."""
    found = _MONTH.fullmatch(month.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise BadRequest(f"month={month!r} is not a month; write it as YYYY-MM, e.g. 2025-03")
    year, number = int(found.group(1)), int(found.group(2))
    return datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)


def _month_href(url: str) -> Callable[[int, int], str]:
    def href(year: int, month: int) -> str:
        return "/web/history?" + urlencode({"url": url, "month": f"{year:04d}-{month:02d}"})

    return href


def _read(
    catalogue: Catalogue, url: str, cursor: str | None, before: datetime | None
) -> tuple[history.HistorySummary, list[history.TimelineEntry], str | None]:
    """The summary and one page, in one trip off the event loop."""
    summary = history.summary(catalogue, url)
    if not summary.total:
        return summary, [], None
    entries, next_cursor = history.page(
        catalogue, url, limit=HISTORY_PAGE, cursor=cursor, before=before
    )
    return summary, entries, next_cursor


async def history_page(
    request: web.Request, url: str, cursor: str | None, *, before: datetime | None = None
) -> web.Response:
    catalogue = await catalogue_of(request)
    summary, entries, next_cursor = await from_catalogue(request, _read, catalogue, url, cursor, before)
    timeline = views.history_timeline(summary, entries, _month_href(url))
    context = {
        "url": url,
        "years": timeline.years,
        "total": timeline.total,
        "counts": timeline.counts,
        "first": timeline.first,
        "last": timeline.last,
        "older_href": None,
        "newest_href": views.history_href(url) if cursor or before else None,
    }
    if next_cursor:
        context["older_href"] = "/web/history?" + urlencode({"url": url, "cursor": next_cursor})
    return render("history.html", request, context, status=200 if summary.total else 404)
