"""The pages that act for a signed-in reader: signing in (``/web/login``) and saving a page now."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import web

from server import actions
from server.errors import ApiError, ServiceUnavailable
from server.params import require_url
from server.state import TOKENS
from server.web.home import home_page
from server.web.pages import (
    COOKIE,
    PAGE_HEADERS,
    page,
    render,
    require_write_token,
    same_origin_post,
)

SIGN_IN_DAYS = 30
# C0 controls and DEL: browsers drop tabs and newlines from a URL before reading it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(target: str) -> str:
    """Where sign-in may send the reader on to: a path on this site, else the home page.

    Only a path with one leading slash stays. Browsers drop tabs and newlines inside a URL and read
    a backslash as a slash, so ``/<tab>/host`` and ``/\\host`` both leave the site as ``//host``:
    a target holding a control character or a backslash, or one that parses with a scheme or a
    host, goes home instead.
    """
    if not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or _CONTROL.search(target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


async def login_form(request: web.Request) -> web.Response:
    context = {"next": safe_next(request.query.get("next", "/")), "error": ""}
    response = render("login.html", request, context)
    response.headers.update(PAGE_HEADERS)
    return response


async def login(request: web.Request) -> web.Response:
    same_origin_post(request)
    form = await request.post()
    token = str(form.get("token", "")).strip()
    target = safe_next(str(form.get("next", "/")))
    if not request.app[TOKENS].verify(token):
        context = {"next": target, "error": "That token is not valid. `declutter token create` prints a new one."}
        response = render("login.html", request, context, status=401)
        response.headers.update(PAGE_HEADERS)
        return response
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/",
        max_age=SIGN_IN_DAYS * 24 * 3600,
    )
    raise response


@page
async def save(request: web.Request) -> web.Response:
    """Capture a page now: the same guarded fetch and ``archive`` as ``POST /api/v1/captures``.

    A refusal (no token, a bad address, a fetch the guard or the site refused) comes back on the
    home page beside the form, the address still in it, so the reader corrects it rather than
    typing it again. An unreachable backend stays the 503 page.
    """
    same_origin_post(request)
    form = await request.post()
    typed = str(form.get("url", "")).strip()
    try:
        require_write_token(request, form)
        url = require_url(typed)
        _, result = await actions.capture_now(request, url)
    except ServiceUnavailable:
        raise
    except ApiError as exc:
        return await home_page(request, save_url=typed, save_error=exc.detail, status=exc.status)
    raise web.HTTPSeeOther(f"/web/capture/{result.capture_id}")
