"""The home page: articles by their latest news, what is crawling now, the last run and the next ones.

A crawl re-captures the same articles every few minutes, mostly unchanged: listed capture by
capture, the home page filled with revisits and the one changed version scrolled off. So it lists
articles (one entry per URL: its newest state, how often it was captured, its last change), the
most recently changed or first captured first; an unchanged revisit moves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from crawler.catalogue import Catalogue
from server.auth import signed_in
from server.errors import ServiceUnavailable
from server.state import SETTINGS, TOKENS
from server.web import views
from server.web.crawls import LIVE_URL, crawl_runs, schedule
from server.web.pages import catalogue_of, from_catalogue, page, render

HOME_ARTICLES = 12
# The newest captures looked through for articles: a crawl's revisits of a few pages repeat
# within it, and the recorded changes add the articles whose news is older.
HOME_WINDOW = 300


@dataclass
class ArticleEntry:
    """One article on the home page."""

    newest: views.CaptureView
    count: int
    first: views.CaptureView
    changed: datetime | None = None
    added: int = 0
    removed: int = 0
    change_href: str = ""

    @property
    def latest_news(self) -> datetime:
        """When this article last had news: its last recorded change, else its first capture."""
        floor = datetime(1970, 1, 1, tzinfo=UTC)
        return max(self.changed or floor, self.first.captured or floor)

    @property
    def changed_label(self) -> str:
        return views.time_label(self.changed, seconds=True)

    @property
    def changed_iso(self) -> str:
        return self.changed.isoformat() if self.changed else ""


def home_articles(catalogue: Catalogue, limit: int = HOME_ARTICLES) -> list[ArticleEntry]:
    """The articles with the latest news, newest news first (one catalogue thread, few queries)."""
    urls: dict[str, str] = {}
    for change in catalogue.changes(limit=limit):
        urls.setdefault(change.url_key, change.url)
    rows, _ = catalogue.list_captures(limit=HOME_WINDOW, newest_first=True)
    for row in rows:
        urls.setdefault(row.url_key, row.url)
    entries = [_entry(catalogue, url) for url in urls.values()]
    found = [entry for entry in entries if entry is not None]
    found.sort(key=lambda entry: entry.latest_news, reverse=True)
    return found[:limit]


def _entry(catalogue: Catalogue, url: str) -> ArticleEntry | None:
    newest = catalogue.latest_capture(url)
    first, _ = catalogue.list_captures(url, limit=1)
    if newest is None or not first:
        return None
    entry = ArticleEntry(
        newest=views.capture_view(newest),
        count=catalogue.count_captures(url),
        first=views.capture_view(first[0]),
    )
    changes = catalogue.changes(url, limit=1)
    if changes:
        change = changes[0]
        # when the changed version was captured (a Wayback import finds old changes today)
        changed = newest if newest.id == change.to_id else catalogue.get_capture(change.to_id)
        entry.changed = views.as_datetime(changed.captured_at if changed else change.detected_at)
        entry.added, entry.removed = int(change.words_added or 0), int(change.words_removed or 0)
        entry.change_href = f"/web/compare?a={change.from_id}&b={change.to_id}"
    return entry


async def to_home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/")


async def home_page(request: web.Request, *, save_url: str = "", save_error: str = "", status: int = 200) -> web.Response:
    """The home page; the save form's own errors come back on it, its address still filled in."""
    settings = request.app[SETTINGS]
    context: dict[str, Any] = {
        "nav": "home",
        "crawls_file": settings.crawls_file,
        "signed_in": signed_in(request, request.app[TOKENS]),
        "live_url": LIVE_URL,
        "origin": f"{request.scheme}://{request.host}",
        "save_url": save_url,
        "save_error": save_error,
    }
    try:
        catalogue = await catalogue_of(request)
        articles = await from_catalogue(request, home_articles, catalogue)
        runs = await crawl_runs(request)
    except ServiceUnavailable as exc:
        context.update(unavailable=exc.detail, articles=[], running=[], last_run=None, next_runs=[])
        return render("home.html", request, context, status=503)
    context["articles"] = articles
    context["running"] = [run for run in runs if run["state"] == "running"]
    context["last_run"] = next((run for run in runs if run["state"] != "running"), None)
    context["next_runs"] = [s for s in schedule(settings) if s["at_iso"]][:3]
    return render("home.html", request, context, status=status)


@page
async def home(request: web.Request) -> web.Response:
    return await home_page(request)
