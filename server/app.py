"""The aiohttp application: its middlewares, its route table, and the factory that builds it.

``create_app`` takes every collaborator as an optional argument so tests and benchmarks can hand in
real backends they started themselves; by default they are opened from the settings, lazily.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from crawler.config import Settings
from crawler.fetch import AddressGuard
from server import state
from server.api import (
    captures,
    changes,
    cite,
    clean,
    export,
    health,
    index,
    keys,
    memento,
    openapi,
    search,
)
from server.auth import TokenStore, private_archive_gate
from server.declare import route
from server.errors import ApiError, BadRequest, error_response
from server.metrics import Metrics
from server.render import Renderer
from server.security import CorsPolicy, HostPolicy, RateLimiter, add_default_headers
from server.state import Backends, ResponseCache, is_unavailable

log = logging.getLogger("declutter.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Modules that add their own routes with ``setup(app)`` (the archive web app); absent ones are skipped.
APP_MODULES = ["server.web"]

UNLIMITED_PATHS = frozenset({"/healthz", "/metrics"})


def routes() -> list[web.RouteDef]:
    """Every API route, in one table; each handler's ``declare`` gives its method and path."""
    return [
        route(handler)
        for handler in (
            health.healthz,
            health.metrics,
            openapi.document,
            index.index,
            index.reference,
            index.redoc_script,
            clean.clean,
            captures.create,
            captures.listing,
            captures.detail,
            captures.raw,
            captures.text,
            captures.warc,
            captures.wacz,
            captures.screenshot,
            cite.cite,
            search.search,
            export.export,
            keys.keys,
            changes.changes,
            changes.diff,
            changes.feed,
            memento.timemap,
            memento.timegate,
            memento.cdx,
        )
    ]


def create_app(
    settings: Settings,
    *,
    archiver: Any = None,
    catalogue: Any = None,
    extract: Callable[..., Any] | None = None,
    guard: AddressGuard | None = None,
    tokens: TokenStore | None = None,
    resolver: AbstractResolver | None = None,
    app_modules: Iterable[str] | None = None,
) -> web.Application:
    """Build the server. Nothing is connected here: backends open on first use, so it always starts.

    ``resolver`` replaces the system DNS resolver for server-side fetches (tests use it so that no
    name is ever looked up outside this machine).
    """
    if extract is None:
        from crawler.extract import extract as extract_article

        extract = extract_article
    tokens = tokens or TokenStore.from_settings(settings)
    middlewares = [
        metrics_middleware, host_middleware, cors_middleware, error_middleware,
        rate_limit_middleware, form_middleware,
    ]
    gate = private_archive_gate(settings.require_token_for_app, tokens)
    if gate is not None:
        middlewares.append(gate)
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=middlewares)
    app[state.SETTINGS] = settings
    app[state.BACKENDS] = Backends(settings, archiver=archiver, catalogue=catalogue)
    app[state.GUARD] = guard or AddressGuard.from_settings(settings)
    app[state.TOKENS] = tokens
    app[state.LIMITER] = RateLimiter(settings.rate_limit, settings.rate_burst)
    app[state.CLEAN_CACHE] = ResponseCache(settings.clean_cache_entries)
    app[state.METRICS] = Metrics()
    app[state.RESOLVER] = resolver
    app[state.EXTRACT] = extract
    app[state.RENDERER] = Renderer(settings, app[state.GUARD], resolver, metrics=app[state.METRICS])
    app[state.CORS] = CorsPolicy(settings.cors_origins)
    app[state.HOSTS] = HostPolicy.from_settings(settings)
    app.add_routes(routes())
    for name in APP_MODULES if app_modules is None else app_modules:
        _mount(app, name)
    app.on_response_prepare.append(add_default_headers)
    app.cleanup_ctx.append(state.drain_spool_while_running)
    app.on_cleanup.append(_close_backends)
    return app


def _mount(app: web.Application, name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return
        raise
    setup = getattr(module, "setup", None)
    if setup is not None:
        setup(app)


async def _close_backends(app: web.Application) -> None:
    await app[state.RENDERER].close()
    await app[state.BACKENDS].close()


def _route_name(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource
    if resource is None:
        return "unmatched"
    return resource.canonical


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[state.METRICS].observe_request(
            request.method, _route_name(request), status, time.perf_counter() - started
        )


@web.middleware
async def host_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A 421 for a Host name this server is not (see ``HostPolicy``: DNS rebinding)."""
    host = request.headers.get("Host")
    if not request.app[state.HOSTS].allows(host):
        return error_response(
            421, "misdirected_request",
            f"this server does not answer to the name {host!r}; if that is its name, add it to "
            "DECLUTTER_ALLOWED_HOSTS or set DECLUTTER_PUBLIC_URL",
        )
    return await handler(request)


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    policy = request.app[state.CORS]
    origin = request.headers.get("Origin")
    allowed = policy.allows(origin)
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        if not allowed:
            return error_response(
                403, "origin_not_allowed", f"cross-origin requests from {origin!r} are not allowed"
            )
        return web.Response(status=204, headers=policy.headers(origin, preflight=True))
    response = await handler(request)
    if allowed:
        response.headers.update(policy.headers(origin, preflight=False))
    if "Vary" in response.headers and "origin" not in response.headers["Vary"].lower():
        response.headers["Vary"] += ", Origin"
    elif "Vary" not in response.headers:
        response.headers["Vary"] = "Origin"
    return response


def _slug(reason: str) -> str:
    return "_".join(reason.lower().replace("-", " ").split()) or "error"


_KEPT_ERROR_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _cause(exc: BaseException) -> str:
    """The innermost reason aiohttp gives (it wraps the decoder's error in a payload error)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(getattr(exc, "message", "") or exc).strip() or type(exc).__name__


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.error, exc.detail, exc.headers)
    except (HttpProcessingError, RequestPayloadError) as exc:
        # The body could not be read as sent (a broken Content-Encoding, a malformed chunk):
        # the client's fault, raised by aiohttp from whichever handler first read the body.
        # The rest of the body cannot be drained either, so this connection ends with the answer:
        # ``Connection: close`` tells the client not to send its next request down it.
        response = error_response(
            400, "unreadable_body",
            f"the request body cannot be read as sent ({_cause(exc)}); "
            "send it uncompressed or with a correct Content-Encoding",
        )
        response.force_close()
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: exc.headers[k] for k in _KEPT_ERROR_HEADERS if k in exc.headers}
        detail = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 404:
            detail = f"no such endpoint: {request.path} (the API is described at /api/v1/openapi.json)"
        if exc.status == 413:
            detail = (
                f"the request body is larger than the {request.app[state.SETTINGS].max_body_bytes}"
                " byte limit"
            )
        return error_response(exc.status, _slug(exc.reason), detail, headers)
    except Exception as exc:
        if is_unavailable(exc):
            return error_response(
                503, "service_unavailable", f"a backend is unavailable ({type(exc).__name__}: {exc})",
                {"Retry-After": "5"},
            )
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            500, "internal_error", "the server failed to answer this request; the error is logged"
        )


FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


@web.middleware
async def form_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read a posted form once, here, so a broken one is a 400 whichever page asked for it.

    aiohttp raises a bare ValueError for a multipart body without its boundary or a field
    without a name, which page handlers cannot tell from their own bugs; the parsed form is
    cached on the request, so the handler's own ``request.post()`` costs nothing. Declared API
    endpoints take JSON only and refuse a form unread (``server.declare.require_json``).
    """
    declared = getattr(request.match_info.handler, "endpoint", None) is not None
    if request.method == "POST" and request.content_type in FORM_TYPES and not declared:
        try:
            await request.post()
        except ValueError as exc:
            raise BadRequest(
                f"the posted form cannot be read ({exc}); send it as the page's form does"
            ) from exc
    return await handler(request)


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in UNLIMITED_PATHS and request.method != "OPTIONS":
        wait = request.app[state.LIMITER].acquire(request.remote or "unknown")
        if wait > 0:
            request.app[state.METRICS].rate_limited.inc()
            raise ApiError(
                f"too many requests from this client; retry in {wait:.1f} s",
                status=429,
                error="rate_limited",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
    return await handler(request)
