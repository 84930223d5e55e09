"""The home page: the newest captures, what is crawling now, the last run and the next ones."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.auth import signed_in
from server.errors import ServiceUnavailable
from server.state import SETTINGS, TOKENS
from server.web import views
from server.web.crawls import LIVE_URL, crawl_runs, schedule
from server.web.pages import catalogue_of, from_catalogue, page, render

HOME_CAPTURES = 12


async def to_home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/")


@page
async def home(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    context: dict[str, Any] = {
        "nav": "home",
        "crawls_file": settings.crawls_file,
        "signed_in": signed_in(request, request.app[TOKENS]),
        "live_url": LIVE_URL,
        "origin": f"{request.scheme}://{request.host}",
    }
    try:
        catalogue = await catalogue_of(request)
        rows, _ = await from_catalogue(
            request, catalogue.list_captures, limit=HOME_CAPTURES, newest_first=True
        )
        runs = await crawl_runs(request)
    except ServiceUnavailable as exc:
        context.update(unavailable=exc.detail, captures=[], running=[], last_run=None, next_runs=[])
        return render("home.html", request, context, status=503)
    context["captures"] = [views.capture_view(row) for row in rows]
    context["running"] = [run for run in runs if run["state"] == "running"]
    context["last_run"] = next((run for run in runs if run["state"] != "running"), None)
    context["next_runs"] = [s for s in schedule(settings) if s["at_iso"]][:3]
    return render("home.html", request, context)
