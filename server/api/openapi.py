"""``GET /api/v1/openapi.json``: the API's own description, generated from what is routed.

The document is built from the declarations of the handlers this app actually mounts, so a route
cannot be served without being described, nor described without being served.
"""

from __future__ import annotations

import functools
import json

from aiohttp import web
from pydantic import BaseModel

from server.declare import Endpoint, Reply, declare, endpoints
from server.openapi import document as build_document


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document (this one)."""

    openapi: str
    paths: dict[str, dict[str, object]]


@functools.cache
def _body(declared: tuple[Endpoint, ...]) -> bytes:
    return json.dumps(build_document(declared), indent=1).encode("utf-8")


@declare(
    "GET", "/api/v1/openapi.json", "openapi", "This document",
    {200: Reply("OpenAPI document", OpenApiDocument)},
)
async def document(request: web.Request) -> web.Response:
    declared = tuple(endpoints(route.handler for route in request.app.router.routes()))
    return web.Response(body=_body(declared), content_type="application/json")
