"""The export form: a selection checked on the form, then streamed by the API's export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from crawler.research.export import FORMATS, ExportError, Selection
from server import actions
from server.auth import signed_in
from server.errors import BadRequest, NotFound, Unauthorized
from server.params import parse_time, require_url
from server.state import TOKENS
from server.web.pages import PAGE_HEADERS, page, render, require_write_token, same_origin_post

EXPORT_FORMATS = [
    ("wacz", "WACZ (web archive collection, for ReplayWeb.page and pywb)"),
    ("warc", "WARC"),
    ("jsonl", "JSON Lines (metadata and clean text)"),
    ("csv", "CSV (metadata and clean text)"),
]
EXPORT_FIELDS = ("url", "site", "from", "to", "format", "sign")


def export_context(
    request: web.Request,
    error: str = "",
    query: Mapping[str, Any] | None = None,
    *,
    need_token: bool = False,
) -> dict[str, Any]:
    query = request.query if query is None else query
    return {
        "nav": "export",
        "formats": EXPORT_FORMATS,
        "error": error,
        "need_token": need_token,
        "form": {
            "url": query.get("url", ""), "site": query.get("site", ""),
            "since": query.get("from", ""), "until": query.get("to", ""),
            "format": query.get("format", "wacz"), "sign": bool(query.get("sign")),
        },
    }


@page
async def export_form(request: web.Request) -> web.Response:
    return render("export.html", request, export_context(request))


async def export_selection(request: web.Request, params: dict[str, str]) -> tuple[Selection, str, int]:
    """The form's selection, format and capture count; the form's mistakes raise BadRequest/NotFound."""
    if params.get("format") not in FORMATS:
        raise BadRequest("choose a format")
    if params.get("url") and params.get("site"):
        raise BadRequest("fill in either one address or a site, not both")
    if params.get("sign") and params["format"] != "wacz":
        raise BadRequest("only a WACZ can be signed: choose WACZ, or untick signing")
    try:
        selection = Selection(
            url=require_url(params["url"]) if params.get("url") else None,
            site=params.get("site"),
            since=parse_time(params.get("from"), "from"),
            until=parse_time(params.get("to"), "to", end=True),
        )
    except (ExportError, ValueError) as exc:
        raise BadRequest(str(exc)) from exc
    return selection, params["format"], await actions.count_selection(request, selection)


def export_params(source: Mapping[str, Any]) -> dict[str, str]:
    params = {k: str(source.get(k, "")).strip() for k in EXPORT_FIELDS}
    return {k: v for k, v in params.items() if v}


@page
async def export_download(request: web.Request) -> web.StreamResponse:
    """Check the form, then hand over to ``GET /api/v1/export``, which streams the file.

    The form's mistakes (no URL or site, dates the wrong way round, nothing captured) come back
    on the form itself instead of as the API's JSON. A selection over the open limit needs a token:
    signed-in visitors go on to the API (it reads the sign-in cookie); others get the form back
    with a token field, which posts here (a token never goes into a URL).
    """
    source: Mapping[str, Any]
    if request.method == "POST":
        same_origin_post(request)
        source = await request.post()
    else:
        source = request.query
    params = export_params(source)
    try:
        selection, fmt, count = await export_selection(request, params)
    except (BadRequest, NotFound) as exc:
        return render("export.html", request, export_context(request, exc.detail, source), status=exc.status)
    needed_for = actions.over_open_limit(request, count)
    if needed_for and not signed_in(request, request.app[TOKENS]):
        if request.method != "POST":
            message = f"{needed_for[0].upper()}{needed_for[1:]} needs an API token: sign in, or paste one below."
            context = export_context(request, message, source, need_token=True)
            return render("export.html", request, context, status=401)
        try:
            require_write_token(request, source, needed_for=needed_for)
        except Unauthorized as exc:
            context = export_context(request, exc.detail, source, need_token=True)
            return render("export.html", request, context, status=401)
    if request.method == "POST":
        return await actions.stream_export(
            request, selection, fmt, headers=PAGE_HEADERS, sign=bool(params.get("sign"))
        )
    raise web.HTTPSeeOther("/api/v1/export?" + urlencode(params))
