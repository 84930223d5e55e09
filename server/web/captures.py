"""One capture's pages: its clean article (``/web/capture/{id}``), its raw page, and two compared."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from crawler.catalogue.diff import diff_captures
from crawler.extract import Article
from server.errors import BadRequest, NotFound, ServiceUnavailable
from server.web import replay, views
from server.web.pages import (
    archiver_of,
    capture_row,
    catalogue_of,
    from_catalogue,
    from_storage,
    page,
    render,
)


async def neighbours(
    request: web.Request, view: views.CaptureView
) -> tuple[views.CaptureView | None, views.CaptureView | None]:
    """The captures of the same URL just before and just after this one."""
    if view.captured is None:
        return None, None
    catalogue = await catalogue_of(request)
    older, _ = await from_catalogue(
        request, catalogue.list_captures, view.url, until=view.captured, limit=1, newest_first=True
    )
    newer, _ = await from_catalogue(
        request, catalogue.list_captures, view.url,
        since=view.captured + timedelta(microseconds=1), limit=1,
    )
    return (
        views.capture_view(older[0]) if older else None,
        views.capture_view(newer[0]) if newer else None,
    )


@page
async def capture(request: web.Request) -> web.Response:
    capture_id = request.match_info["id"]
    row = await capture_row(request, capture_id)
    view = views.capture_view(row)
    context: dict[str, Any] = {"c": view, "api": f"/api/v1/captures/{view.id}"}
    article: Article | None
    try:
        archiver = await archiver_of(request)
        article = await from_storage(request, archiver.read_article, view.id)
    except ServiceUnavailable:
        raise
    except Exception as exc:  # a capture without a readable article still has metadata and raw
        article = None
        context["article_error"] = f"No clean text for this capture: {exc}. The raw page is below."
    if article is not None and not article.text and "article_error" not in context:
        context["article_error"] = no_article_message(view)
    context["crawl_name"] = await crawl_name(request, view.crawl_id)
    context["article"] = article_context(article, view)
    context["article_html"] = views.reader_html(article.html) if article is not None else ""
    context["prev"], context["next"] = await neighbours(request, view)
    context["replay_src"], context["no_replay"] = replay.replay_or_reason(request, view)
    return render("capture.html", request, context)


def no_article_message(view: views.CaptureView) -> str:
    """What is known when a capture has no article: which view of the page held none.

    Not a guess at why (a list page, a page built by script): only what was looked at.
    """
    if view.source == "reader":
        where = "in the page as the reader's browser showed it"
    elif view.rendered:
        where = "in the served HTML, nor in the page as rendered in Chromium"
    else:
        where = "in the HTML the site served (the page was not rendered in a browser)"
    return f"No article text was found {where}, so there is no clean text; the raw page shows what was captured."


async def crawl_name(request: web.Request, crawl_id: str | None) -> str:
    """The name of the crawl run that made a capture ("" when none, or when it is unknown)."""
    if not crawl_id:
        return ""
    catalogue = await catalogue_of(request)
    run = await from_catalogue(request, catalogue.get_crawl, crawl_id)
    return run.name if run is not None else ""


def article_context(article: Article | None, view: views.CaptureView) -> dict[str, Any]:
    data = article.to_dict() if article is not None else {}
    data.setdefault("title", view.title or view.url)
    data["published_label"] = views.date_label(data.get("published"))
    return data


@page
async def raw(request: web.Request) -> web.Response:
    row = await capture_row(request, request.match_info["id"])
    view = views.capture_view(row)
    context = {"c": view, "raw_src": f"/api/v1/captures/{view.id}/raw"}
    return render("raw.html", request, context)


def chosen_pair(request: web.Request) -> None:
    """Two captures ticked on a history page (``?c=X&c=Y``) become ``?a=OLDER&b=NEWER``.

    Ids sort as their capture times (ULIDs), so the older is the smaller; the canonical address
    keeps the view switch and links working.
    """
    chosen = sorted({value.strip() for value in request.query.getall("c", []) if value.strip()})
    if len(chosen) != 2:
        raise BadRequest(
            f"choose two captures to compare (you chose {len(chosen)}); tick two boxes on the "
            "address's history page"
        )
    raise web.HTTPSeeOther("/web/compare?" + urlencode({"a": chosen[0], "b": chosen[1]}))


@page
async def compare(request: web.Request) -> web.Response:
    if "c" in request.query:
        chosen_pair(request)
    a_id, b_id = request.query.get("a", "").strip(), request.query.get("b", "").strip()
    if not a_id or not b_id:
        raise BadRequest("compare needs two capture ids: /web/compare?a=OLDER&b=NEWER")
    catalogue = await catalogue_of(request)
    try:
        result = await from_catalogue(request, diff_captures, catalogue, a_id, b_id)
    except KeyError as exc:
        raise NotFound(f"{exc.args[0] if exc.args else exc}; open a URL's history to pick two") from exc
    view = request.query.get("view", "side")
    context = {
        "a": views.capture_view(result.before),
        "b": views.capture_view(result.after),
        "view": view if view in {"side", "inline"} else "side",
        "diff": {
            "spans": result.text.spans,
            "added": result.text.words_added,
            "removed": result.text.words_removed,
            "title_a": result.before.title or "",
            "title_b": result.after.title or "",
        },
    }
    return render("compare.html", request, context)
