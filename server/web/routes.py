"""The web app's one route table, its templates and its static files, added to the server's app."""

from __future__ import annotations

import hashlib

import aiohttp_jinja2
import jinja2
from aiohttp import web

from server.auth import PAGE_REFUSAL
from server.web import (
    captures,
    crawls,
    export,
    history,
    home,
    replay,
    search,
    session,
    views,
    wayback,
)
from server.web.pages import JINJA, STATIC, TEMPLATES, sign_in_page


def _static_versions() -> dict[str, str]:
    """A digest per static file, so a changed stylesheet is never served from a stale cache."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC.iterdir()
        if path.is_file()
    }


async def favicon(request: web.Request) -> web.FileResponse:
    """``/favicon.ico``, which browsers and feed readers ask for whatever the page links."""
    return web.FileResponse(STATIC / "favicon.ico", headers={"Cache-Control": "public, max-age=86400"})


def setup(app: web.Application) -> None:
    """Add the web app's routes, templates and static files to the server's application."""
    versions = _static_versions()
    env = aiohttp_jinja2.setup(
        app,
        app_key=JINJA,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        default_helpers=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda name: f"/web/static/{name}?v={versions.get(name, '0')}"
    env.globals["month_names"] = views.MONTH_NAMES
    env.globals["month_abbr"] = views.MONTH_ABBR
    app[PAGE_REFUSAL] = sign_in_page
    app.router.add_routes(
        [
            web.get("/", home.home, name="web-home"),
            web.get("/favicon.ico", favicon, name="favicon"),
            web.get("/web", home.to_home),
            web.get("/web/", home.to_home),
            web.static("/web/static", STATIC, append_version=False),
            web.get("/web/search", search.search, name="web-search"),
            web.get("/web/history", history.history_form, name="web-history-form"),
            web.get("/web/list", wayback.listing_form, name="web-list"),
            web.get("/web/capture/{id}", captures.capture, name="web-capture"),
            web.get("/web/capture/{id}/raw", captures.raw, name="web-raw"),
            web.get("/web/compare", captures.compare, name="web-compare"),
            web.get(replay.PREFIX, replay.replay_app, name="web-replay"),
            web.get(replay.PREFIX + "{name}", replay.replay_file, name="web-replay-file"),
            web.get("/web/crawls", crawls.crawls, name="web-crawls"),
            web.get("/web/crawls/live.json", crawls.crawls_live, name="web-crawls-live"),
            web.get("/web/export", export.export_form, name="web-export"),
            web.get("/web/export/download", export.export_download, name="web-export-download"),
            web.post("/web/export/download", export.export_download, name="web-export-download-post"),
            web.post("/web/save", session.save, name="web-save"),
            web.get("/web/login", session.login_form, name="web-login"),
            web.post("/web/login", session.login, name="web-login-post"),
            web.get("/web/{url:.+}", wayback.wayback, name="web-history"),
        ]
    )
