"""Errors handlers raise, and how every error becomes a JSON ``{error, detail}`` response.

Handlers raise these instead of building error responses so the status, code and wording of an
error are decided in one place and a stack trace can never reach a client.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """A request that cannot be served; ``detail`` tells the client what to do about it."""

    status = 400
    error = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        error: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if error is not None:
            self.error = error
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400
    error = "bad_request"


class NotFound(ApiError):
    status = 404
    error = "not_found"


class Unauthorized(ApiError):
    status = 401
    error = "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="declutter"'})


class ServiceUnavailable(ApiError):
    """A dependency (storage, catalogue) is down; the request may succeed once it is back."""

    status = 503
    error = "service_unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def error_response(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> web.Response:
    body: dict[str, Any] = {"error": error, "detail": detail}
    return web.Response(
        status=status,
        body=json.dumps(body).encode("utf-8"),
        content_type="application/json",
        headers=headers,
    )


def fetch_error(exc: BaseException) -> ApiError | None:
    """The API error for a failed server-side fetch, or None when ``exc`` is not a fetch failure."""
    from crawler.fetch import (
        FetchError,
        FetchRefused,
        FetchTimeout,
        FetchTooLarge,
        FetchUnresolvable,
        TooManyRedirects,
    )

    if not isinstance(exc, FetchError):
        return None
    if isinstance(exc, FetchRefused):
        return ApiError(str(exc), status=403, error="fetch_refused")
    if isinstance(exc, FetchUnresolvable):
        return ApiError(str(exc), status=422, error="unresolvable_host")
    if isinstance(exc, FetchTooLarge):
        return ApiError(str(exc), status=422, error="page_too_large")
    if isinstance(exc, TooManyRedirects):
        return ApiError(str(exc), status=422, error="too_many_redirects")
    if isinstance(exc, FetchTimeout):
        return ApiError(str(exc), status=504, error="fetch_timeout")
    return ApiError(str(exc), status=502, error="fetch_failed")
