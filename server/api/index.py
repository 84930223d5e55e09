"""``GET /api/v1/``: where the API starts, and ``/api/v1/docs``: its reference, rendered.

The index lists every endpoint this server mounts (from the same declarations as the OpenAPI
document) with links to the document and to the reference. The reference is Redoc's standalone
bundle (``make redoc`` unpacks it), served from this origin: nothing comes from a CDN, and the
page's policy refuses what Redoc itself would fetch elsewhere (its logo, its telemetry).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from pydantic import BaseModel

from server.declare import Reply, declare, endpoints

REDOC = Path(__file__).resolve().parents[2] / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js"
OPENAPI = "/api/v1/openapi.json"
REFERENCE = "/api/v1/docs"
REDOC_SCRIPT = f"{REFERENCE}/redoc.standalone.js"

# Redoc builds its page with inline styles and a search worker from a blob; scripts only from here.
REFERENCE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
REFERENCE_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Declutter API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="{OPENAPI}"></redoc><script type="module" src="{REDOC_SCRIPT}"></script></body></html>
"""
MISSING_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Declutter API reference</title></head>
<body><h1>Declutter API</h1><p>The rendered reference needs Redoc, which is not installed on this
server: run <code>make redoc</code> (part of <code>make setup</code>). The API is described in
<a href="{OPENAPI}">{OPENAPI}</a>.</p></body></html>
"""


class EndpointLink(BaseModel):
    method: str
    path: str
    summary: str


class ApiIndex(BaseModel):
    """Where to read about the API, and what it offers."""

    openapi: str
    reference: str
    endpoints: list[EndpointLink]


@declare("GET", "/api/v1/", "apiIndex", "Where the API starts", {200: Reply("The index", ApiIndex)})
async def index(request: web.Request) -> web.Response:
    declared = endpoints(route.handler for route in request.app.router.routes())
    listed = [
        EndpointLink(method=e.method, path=e.document_path, summary=e.summary) for e in declared
    ]
    answer = ApiIndex(openapi=OPENAPI, reference=REFERENCE, endpoints=listed)
    return web.json_response(text=answer.model_dump_json(indent=1))


@declare(
    "GET", REFERENCE, "apiReference", "This API's reference, rendered (Redoc)",
    {200: Reply("An HTML page", media={"text/html": {"type": "string"}})},
)
async def reference(request: web.Request) -> web.Response:
    page = REFERENCE_PAGE if REDOC.is_file() else MISSING_PAGE
    response = web.Response(text=page, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = REFERENCE_CSP
    return response


@declare(
    "GET", REDOC_SCRIPT, "apiReferenceScript", "Redoc's script, for the rendered reference",
    {200: Reply("JavaScript", media={"text/javascript": {"type": "string"}})},
    errors=(404,),
)
async def redoc_script(request: web.Request) -> web.FileResponse:
    if not REDOC.is_file():
        raise web.HTTPNotFound(text="Redoc is not installed on this server: run `make redoc`")
    return web.FileResponse(REDOC, headers={"Content-Type": "text/javascript; charset=utf-8"})
