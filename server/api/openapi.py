"""``GET /api/v1/openapi.json``: the API's own description."""

from __future__ import annotations

import functools
import json

from aiohttp import web

from server.openapi import document as build_document


@functools.cache
def _body() -> bytes:
    return json.dumps(build_document(), indent=1).encode("utf-8")


async def document(request: web.Request) -> web.Response:
    return web.Response(body=_body(), content_type="application/json")
