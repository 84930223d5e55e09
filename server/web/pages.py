"""What every page shares: the ``page`` wrapper, error pages, rendering, and reaching the backends.

Pages are HTML all the way down, errors included: a missing capture is a 404 page, an unreachable
catalogue a 503 page saying what to start. Backends are reached through their bound methods, run in
a thread by the server's ``Backends`` so an outage becomes that 503 rather than a 500.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import aiohttp_jinja2
import jinja2
from aiohttp import web

from crawler.archive import Archiver
from crawler.catalogue import CaptureRow, Catalogue
from server.auth import SIGN_IN_COOKIE, require_valid_token, signed_in
from server.errors import ApiError, NotFound
from server.state import BACKENDS, TOKENS, is_unavailable

log = logging.getLogger("declutter.server.web")

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
JINJA = web.AppKey("web_jinja", jinja2.Environment)
COOKIE = SIGN_IN_COOKIE

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

ERROR_HEADINGS = {
    400: "That request did not work",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not in the archive",
    503: "The archive is unavailable",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
P = ParamSpec("P")
T = TypeVar("T")


# --- rendering ----------------------------------------------------------------------------------


def render(name: str, request: web.Request, context: dict[str, Any], status: int = 200) -> web.Response:
    context.setdefault("signed_in", False)
    return aiohttp_jinja2.render_template(name, request, context, app_key=JINJA, status=status)


def error_page(request: web.Request, status: int, heading: str, message: str) -> web.Response:
    response = render("error.html", request, {"heading": heading, "message": message}, status=status)
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def sign_in_page(request: web.Request) -> web.StreamResponse:
    """How a private archive refuses a page that is not a plain GET: an HTML page, not JSON."""
    return error_page(request, 401, "Sign in first", "This archive needs an API token.")


def page(handler: Handler) -> Handler:
    """Wrap a page handler: security headers, and errors as HTML pages instead of JSON."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except ApiError as exc:
            response = error_page(request, exc.status, ERROR_HEADINGS.get(exc.status, "Error"), exc.detail)
            response.headers.update(exc.headers)
        except web.HTTPException:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                detail = f"a backend is unavailable ({type(exc).__name__}: {exc}); try again shortly"
                response = error_page(request, 503, ERROR_HEADINGS[503], detail)
            else:
                log.exception("unhandled error on %s %s", request.method, request.path)
                response = error_page(
                    request, 500, "Something went wrong",
                    "The server failed to show this page; the error is logged.",
                )
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return wrapped


# --- access -------------------------------------------------------------------------------------


def same_origin_post(request: web.Request) -> None:
    """Refuse a form post another site made (the sign-in cookie is SameSite=Strict as well)."""
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin.rstrip("/") != f"{request.scheme}://{request.host}":
        raise ApiError("cross-site form posts are refused", status=403, error="forbidden")


def require_write_token(
    request: web.Request, form: Mapping[str, Any], *, needed_for: str = "this action"
) -> None:
    """Write actions need a token: the signed-in cookie, a bearer header, or the form's field."""
    if signed_in(request, request.app[TOKENS]):
        return
    require_valid_token(
        request.app[TOKENS], str(form.get("token", "")).strip(), needed_for=needed_for,
        how="paste it in the API token field, or sign in",
    )


# --- backends -----------------------------------------------------------------------------------


async def catalogue_of(request: web.Request) -> Catalogue:
    """The catalogue, opened on first use (a 503 ``ServiceUnavailable`` while it is down)."""
    catalogue: Catalogue = await request.app[BACKENDS].catalogue()
    return catalogue


async def archiver_of(request: web.Request) -> Archiver:
    """The archiver (storage behind the catalogue), opened on first use like the catalogue."""
    archiver: Archiver = await request.app[BACKENDS].archiver()
    return archiver


async def from_catalogue(
    request: web.Request, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """A catalogue method run off the event loop; its outage becomes a 503 page."""
    return await request.app[BACKENDS].call("catalogue", method, *args, **kwargs)


async def from_storage(
    request: web.Request, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """An archiver method run off the event loop; a storage outage becomes a 503 page."""
    return await request.app[BACKENDS].call("storage", method, *args, **kwargs)


async def capture_row(request: web.Request, capture_id: str) -> CaptureRow:
    """The capture's row, or a 404 page saying where to look instead."""
    catalogue = await catalogue_of(request)
    try:
        row = await from_catalogue(request, catalogue.get_capture, capture_id)
    except (KeyError, LookupError):
        row = None
    if row is None:
        raise NotFound(f"there is no capture {capture_id!r}; search the archive or open a URL's history")
    return row
