"""The archive web app's pages: handlers that read the catalogue and archiver the API reads.

Every page is a plain GET with a shareable URL and works without JavaScript; only the crawl page's
live counts poll ``/web/crawls/live.json``. Pages are HTML all the way down, errors included: a
missing capture is a 404 page, an unreachable catalogue a 503 page saying what to start.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from server import actions
from server.auth import (
    PAGE_REFUSAL,
    SIGN_IN_COOKIE,
    require_valid_token,
    signed_in,
)
from server.errors import ApiError, BadRequest, NotFound, ServiceUnavailable, Unauthorized
from server.params import parse_time
from server.state import BACKENDS, SETTINGS, TOKENS, is_unavailable
from server.web import views

log = logging.getLogger("declutter.server.web")

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
JINJA = web.AppKey("web_jinja", jinja2.Environment)
COOKIE = SIGN_IN_COOKIE

HISTORY_PAGE = 1000
HOME_CAPTURES = 12
SEARCH_PAGE = 20

# What the app's own pages may load: nothing but this origin. Archived pages never run here: the
# raw view is an <iframe sandbox> of the API's /raw, itself served with CSP ``sandbox``.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-DNS-Prefetch-Control": "off",
    "Cache-Control": "no-cache",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _static_versions() -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC.iterdir()
        if path.is_file()
    }


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
    app[PAGE_REFUSAL] = _sign_in_page
    app.router.add_routes(
        [
            web.get("/", home, name="web-home"),
            web.get("/web", to_home),
            web.get("/web/", to_home),
            web.static("/web/static", STATIC, append_version=False),
            web.get("/web/search", search, name="web-search"),
            web.get("/web/history", history_form, name="web-history-form"),
            web.get("/web/capture/{id}", capture, name="web-capture"),
            web.get("/web/capture/{id}/raw", raw, name="web-raw"),
            web.get("/web/compare", compare, name="web-compare"),
            web.get("/web/crawls", crawls, name="web-crawls"),
            web.get("/web/crawls/live.json", crawls_live, name="web-crawls-live"),
            web.get("/web/export", export_form, name="web-export"),
            web.get("/web/export/download", export_download, name="web-export-download"),
            web.post("/web/export/download", export_download, name="web-export-download-post"),
            web.post("/web/save", save, name="web-save"),
            web.get("/web/login", login_form, name="web-login"),
            web.post("/web/login", login, name="web-login-post"),
            web.get("/web/{url:.+}", history, name="web-history"),
        ]
    )


def _sign_in_page(request: web.Request) -> web.StreamResponse:
    """How a private archive refuses a page that is not a plain GET: an HTML page, not JSON."""
    return _error_page(request, 401, "Sign in first", "This archive needs an API token.")


async def to_home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/")


# --- access -------------------------------------------------------------------------------------


def _same_origin_post(request: web.Request) -> None:
    """Refuse a form post another site made (the sign-in cookie is SameSite=Strict as well)."""
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin.rstrip("/") != f"{request.scheme}://{request.host}":
        raise ApiError("cross-site form posts are refused", status=403, error="forbidden")


def page(handler: Handler) -> Handler:
    """Wrap a page handler: security headers, and errors as HTML pages instead of JSON."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except ApiError as exc:
            response = _error_page(request, exc.status, _ERROR_HEADINGS.get(exc.status, "Error"), exc.detail)
            response.headers.update(exc.headers)
        except web.HTTPException:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                detail = f"a backend is unavailable ({type(exc).__name__}: {exc}); try again shortly"
                response = _error_page(request, 503, _ERROR_HEADINGS[503], detail)
            else:
                log.exception("unhandled error on %s %s", request.method, request.path)
                response = _error_page(
                    request, 500, "Something went wrong",
                    "The server failed to show this page; the error is logged.",
                )
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return wrapped


_ERROR_HEADINGS = {
    400: "That request did not work",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not in the archive",
    503: "The archive is unavailable",
}


def _error_page(request: web.Request, status: int, heading: str, message: str) -> web.Response:
    response = _render("error.html", request, {"heading": heading, "message": message}, status=status)
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _render(name: str, request: web.Request, context: dict[str, Any], status: int = 200) -> web.Response:
    context.setdefault("signed_in", False)
    return aiohttp_jinja2.render_template(name, request, context, app_key=JINJA, status=status)


# --- backends -----------------------------------------------------------------------------------


async def _catalogue_call(request: web.Request, method: str, *args: Any, **kwargs: Any) -> Any:
    backends = request.app[BACKENDS]
    catalogue = await backends.catalogue()
    return await backends.call("catalogue", getattr(catalogue, method), *args, **kwargs)


async def _archiver_call(request: web.Request, method: str, *args: Any, **kwargs: Any) -> Any:
    backends = request.app[BACKENDS]
    archiver = await backends.archiver()
    return await backends.call("storage", getattr(archiver, method), *args, **kwargs)


async def _capture_row(request: web.Request, capture_id: str) -> Any:
    try:
        row = await _catalogue_call(request, "get_capture", capture_id)
    except (KeyError, LookupError):
        row = None
    if row is None:
        raise NotFound(f"there is no capture {capture_id!r}; search the archive or open a URL's history")
    return row


# --- pages --------------------------------------------------------------------------------------


@page
async def home(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    context: dict[str, Any] = {
        "nav": "home",
        "crawls_file": settings.crawls_file,
        "signed_in": signed_in(request, request.app[TOKENS]),
        "live_url": "/web/crawls/live.json",
        "origin": f"{request.scheme}://{request.host}",
    }
    try:
        rows, _ = await _catalogue_call(
            request, "list_captures", limit=HOME_CAPTURES, newest_first=True
        )
        runs = await _crawl_runs(request)
    except ServiceUnavailable as exc:
        context.update(unavailable=exc.detail, captures=[], running=[], last_run=None, next_runs=[])
        return _render("home.html", request, context, status=503)
    context["captures"] = [views.capture_view(row) for row in rows]
    context["running"] = [run for run in runs if run["state"] == "running"]
    context["last_run"] = next((run for run in runs if run["state"] != "running"), None)
    context["next_runs"] = [s for s in _schedule(settings) if s["at_iso"]][:3]
    return _render("home.html", request, context)


def _archived_url(request: web.Request) -> str:
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
    return await _history_page(request, url, cursor)


@page
async def history(request: web.Request) -> web.Response:
    url = _archived_url(request)
    if not re.match(r"^https?://", url):
        raise web.HTTPSeeOther(views.history_href("https://" + url))
    return await _history_page(request, url, None)


async def _history_page(request: web.Request, url: str, cursor: str | None) -> web.Response:
    rows, next_cursor = await _catalogue_call(
        request, "list_captures", url, limit=HISTORY_PAGE, cursor=cursor, newest_first=True
    )
    changes = await _catalogue_call(request, "changes", url, limit=10 * HISTORY_PAGE) if rows else []
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
    return _render("history.html", request, context, status=200 if rows else 404)


async def _neighbours(request: web.Request, view: views.CaptureView) -> tuple[Any, Any]:
    """The captures of the same URL just before and just after this one."""
    if view.captured is None:
        return None, None
    older, _ = await _catalogue_call(
        request, "list_captures", view.url, until=view.captured, limit=1, newest_first=True
    )
    newer, _ = await _catalogue_call(
        request, "list_captures", view.url, since=view.captured + timedelta(microseconds=1), limit=1
    )
    return (
        views.capture_view(older[0]) if older else None,
        views.capture_view(newer[0]) if newer else None,
    )


@page
async def capture(request: web.Request) -> web.Response:
    capture_id = request.match_info["id"]
    row = await _capture_row(request, capture_id)
    view = views.capture_view(row)
    context: dict[str, Any] = {"c": view, "api": f"/api/v1/captures/{view.id}"}
    try:
        article = await _archiver_call(request, "read_article", view.id)
    except ServiceUnavailable:
        raise
    except Exception as exc:  # a capture without a readable article still has metadata and raw
        article = None
        context["article_error"] = f"No clean text for this capture: {exc}. The raw page is below."
    if article is not None and not article.text and "article_error" not in context:
        context["article_error"] = (
            "No article was found in this page, so there is no clean text; the raw page shows "
            "what was captured."
        )
    context["article"] = _article_context(article, view)
    context["article_html"] = views.reader_html(article.html) if article is not None else ""
    context["prev"], context["next"] = await _neighbours(request, view)
    return _render("capture.html", request, context)


def _article_context(article: Any, view: views.CaptureView) -> dict[str, Any]:
    data = article.to_dict() if article is not None else {}
    data.setdefault("title", view.title or view.url)
    data["published_label"] = views.date_label(data.get("published"))
    return data


@page
async def raw(request: web.Request) -> web.Response:
    row = await _capture_row(request, request.match_info["id"])
    view = views.capture_view(row)
    context = {"c": view, "raw_src": f"/api/v1/captures/{view.id}/raw"}
    return _render("raw.html", request, context)


@page
async def compare(request: web.Request) -> web.Response:
    from crawler.catalogue.diff import diff_captures

    a_id, b_id = request.query.get("a", "").strip(), request.query.get("b", "").strip()
    if not a_id or not b_id:
        raise BadRequest("compare needs two capture ids: /web/compare?a=OLDER&b=NEWER")
    backends = request.app[BACKENDS]
    catalogue = await backends.catalogue()
    try:
        result = await backends.call("catalogue", diff_captures, catalogue, a_id, b_id)
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
    return _render("compare.html", request, context)


# --- crawls -------------------------------------------------------------------------------------


def _schedule(settings: Any) -> list[dict[str, Any]]:
    """The crawls in crawls.toml with their next run (empty when there is no such file)."""
    try:
        from croniter import croniter

        from crawler.crawl.definitions import load_crawls

        if not Path(settings.crawls_file).exists():
            return []
        definitions = load_crawls(Path(settings.crawls_file))
    except Exception:  # a broken crawls.toml is reported by the scheduler, not by every page
        return []
    now = datetime.now(UTC)
    entries = []
    for name, definition in sorted(definitions.items()):
        at = None
        if definition.schedule and definition.enabled:
            at = croniter(definition.schedule, now).get_next(datetime)
        entries.append(
            {
                "name": name,
                "when": definition.schedule or "by hand",
                "at_iso": at.isoformat() if at else "",
                "at_label": views.time_label(at),
            }
        )
    return entries


def _run_state(settings: Any, run: Any) -> str:
    if views.field_of(run, "finished_at"):
        return "finished"
    from crawler.crawl.definitions import CrawlJob

    try:
        job = CrawlJob(settings.data_dir, views.field_of(run, "name"))
        # A crawl run on another machine leaves no job directory here: trust the catalogue.
        if job.dir.exists() and not job.is_running():
            return "stopped"
    except OSError:
        pass
    return "running"


# The crawler's headline counts (crawler.crawl.progress.HEADLINE) with the words the page uses.
COUNT_LABELS = [
    ("pages", "Fetched"),
    ("captured", "Captured"),
    ("deduplicated", "Deduplicated"),
    ("rendered", "Rendered"),
    ("no_article", "No article"),
    ("errors", "Errors"),
    ("skipped", "Skipped"),
]


def _run_view(settings: Any, run: Any) -> dict[str, Any]:
    counts = views.field_of(run, "counts") or {}
    numbers = {k: int(v) for k, v in counts.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    errors = sorted(
        ((key.split(".", 1)[1], value) for key, value in numbers.items() if key.startswith("errors.")),
        key=lambda item: -item[1],
    )
    skipped = sorted(
        ((key.split(".", 1)[1], value) for key, value in numbers.items() if key.startswith("skipped.")),
        key=lambda item: -item[1],
    )
    started = views.as_datetime(views.field_of(run, "started_at"))
    finished = views.as_datetime(views.field_of(run, "finished_at"))
    duration = ""
    if started and finished:
        seconds = int((finished - started).total_seconds())
        duration = (
            f"{seconds // 3600} h {seconds % 3600 // 60} min"
            if seconds >= 3600
            else f"{seconds // 60} min {seconds % 60} s"
        )
    return {
        "id": str(views.field_of(run, "id")),
        "name": views.field_of(run, "name") or "",
        "state": _run_state(settings, run),
        "counts": {key: numbers.get(key, 0) for key, _ in COUNT_LABELS},
        "headline": [(key, label, numbers.get(key, 0)) for key, label in COUNT_LABELS],
        "errors": errors,
        "skipped": skipped,
        "started_iso": started.isoformat() if started else "",
        "started_label": views.time_label(started),
        "finished_iso": finished.isoformat() if finished else "",
        "finished_label": views.time_label(finished),
        "duration": duration,
    }


async def _crawl_runs(request: web.Request) -> list[dict[str, Any]]:
    settings = request.app[SETTINGS]
    runs = await _catalogue_call(request, "list_crawls")
    return [_run_view(settings, run) for run in runs]


@page
async def crawls(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    runs = await _crawl_runs(request)
    context = {
        "nav": "crawls",
        "runs": runs,
        "running": any(run["state"] == "running" for run in runs),
        "schedule": _schedule(settings),
        "crawls_file": settings.crawls_file,
        "live_url": "/web/crawls/live.json",
    }
    return _render("crawls.html", request, context)


@page
async def crawls_live(request: web.Request) -> web.Response:
    runs = await _crawl_runs(request)
    shown = [
        {"id": run["id"], "state": run["state"], "counts": run["counts"]}
        for run in runs
        if run["state"] == "running" or run is runs[0]
    ]
    body = {"running": any(run["state"] == "running" for run in runs), "runs": shown}
    return web.json_response(body, headers={"Cache-Control": "no-store"})


# --- search -------------------------------------------------------------------------------------


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
        return _render("search.html", request, context)
    try:
        since = parse_time(since_text, "from")
        until = parse_time(until_text, "to", end=True)
        offset = max(0, int(request.query.get("page", "1") or 1) - 1) * SEARCH_PAGE
    except (BadRequest, ValueError) as exc:
        context["error"] = getattr(exc, "detail", str(exc))
        return _render("search.html", request, context, status=400)
    try:
        hits = await _catalogue_call(
            request, "search", q, site=site or None, since=since, until=until,
            limit=SEARCH_PAGE + 1, offset=offset, collapse=not every,
        )
    except ServiceUnavailable:
        raise
    except ApiError as exc:
        context["error"] = exc.detail
        return _render("search.html", request, context, status=exc.status)
    except ValueError as exc:
        context["error"] = f"That search could not run: {exc}"
        return _render("search.html", request, context, status=400)
    more = len(hits) > SEARCH_PAGE
    hits = hits[:SEARCH_PAGE]
    shown = []
    for hit in hits:
        view = views.capture_view(hit)
        shown.append(
            {
                "id": view.id, "url": view.url, "title": view.title, "site": view.site,
                "captured_iso": view.captured_iso, "captured_label": view.captured_label,
                "history_href": view.history_href,
                "snippet_html": views.mark_snippet(views.field_of(hit, "snippet") or "", q),
                "same_text": int(views.field_of(hit, "capture_count") or 1),
                "first_label": views.time_label(views.as_datetime(views.field_of(hit, "first_captured_at"))),
            }
        )
    page_number = offset // SEARCH_PAGE + 1
    wanted = {"q": q, "site": site, "from": since_text, "to": until_text, "all": "1" if every else ""}
    base = {k: v for k, v in wanted.items() if v}
    context.update(hits=shown, offset=offset)
    if page_number > 1:
        context["prev_href"] = "/web/search?" + urlencode({**base, "page": page_number - 1})
    if more:
        context["next_href"] = "/web/search?" + urlencode({**base, "page": page_number + 1})
    return _render("search.html", request, context)


# --- export and save (write actions) ------------------------------------------------------------

EXPORT_FORMATS = [
    ("wacz", "WACZ (web archive collection, for ReplayWeb.page and pywb)"),
    ("warc", "WARC"),
    ("jsonl", "JSON Lines (metadata and clean text)"),
    ("csv", "CSV (metadata and clean text)"),
]
EXPORT_FIELDS = ("url", "site", "from", "to", "format")


def _export_context(
    request: web.Request, error: str = "", query: Any = None, *, need_token: bool = False
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
            "format": query.get("format", "wacz"),
        },
    }


@page
async def export_form(request: web.Request) -> web.Response:
    return _render("export.html", request, _export_context(request))


async def _export_selection(request: web.Request, params: dict[str, str]) -> tuple[Any, str, int]:
    """The form's selection, format and capture count; the form's mistakes raise BadRequest/NotFound."""
    from crawler.research.export import FORMATS, ExportError, Selection
    from server.params import require_url

    if params.get("format") not in FORMATS:
        raise BadRequest("choose a format")
    if params.get("url") and params.get("site"):
        raise BadRequest("fill in either one address or a site, not both")
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


def _export_params(source: Any) -> dict[str, str]:
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

    if request.method == "POST":
        _same_origin_post(request)
        source: Any = await request.post()
    else:
        source = request.query
    params = _export_params(source)
    try:
        selection, fmt, count = await _export_selection(request, params)
    except (BadRequest, NotFound) as exc:
        return _render("export.html", request, _export_context(request, exc.detail, source), status=exc.status)
    needed_for = actions.over_open_limit(request, count)
    if needed_for and not signed_in(request, request.app[TOKENS]):
        if request.method != "POST":
            message = f"{needed_for[0].upper()}{needed_for[1:]} needs an API token: sign in, or paste one below."
            context = _export_context(request, message, source, need_token=True)
            return _render("export.html", request, context, status=401)
        try:
            _require_write_token(request, source, needed_for=needed_for)
        except Unauthorized as exc:
            context = _export_context(request, exc.detail, source, need_token=True)
            return _render("export.html", request, context, status=401)
    if request.method == "POST":
        return await actions.stream_export(request, selection, fmt, headers=PAGE_HEADERS)
    raise web.HTTPSeeOther("/api/v1/export?" + urlencode(params))


def _require_write_token(request: web.Request, form: Any, *, needed_for: str = "this action") -> None:
    """Write actions need a token: the signed-in cookie, a bearer header, or the form's field."""
    if signed_in(request, request.app[TOKENS]):
        return
    require_valid_token(
        request.app[TOKENS], str(form.get("token", "")).strip(), needed_for=needed_for,
        how="paste it in the API token field, or sign in",
    )


@page
async def save(request: web.Request) -> web.Response:
    """Capture a page now: the same guarded fetch and ``archive`` as ``POST /api/v1/captures``."""
    from server.params import require_url

    _same_origin_post(request)
    form = await request.post()
    _require_write_token(request, form)
    url = require_url(str(form.get("url", "")).strip())
    _, result = await actions.capture_now(request, url)
    raise web.HTTPSeeOther(f"/web/capture/{result.capture_id}")


# --- sign-in ------------------------------------------------------------------------------------


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


async def login_form(request: web.Request) -> web.Response:
    context = {"next": _safe_next(request.query.get("next", "/")), "error": ""}
    response = _render("login.html", request, context)
    response.headers.update(PAGE_HEADERS)
    return response


async def login(request: web.Request) -> web.Response:
    _same_origin_post(request)
    form = await request.post()
    token = str(form.get("token", "")).strip()
    target = _safe_next(str(form.get("next", "/")))
    if not request.app[TOKENS].verify(token):
        context = {"next": target, "error": "That token is not valid. `declutter token create` prints a new one."}
        response = _render("login.html", request, context, status=401)
        response.headers.update(PAGE_HEADERS)
        return response
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/",
        max_age=30 * 24 * 3600,
    )
    raise response
