"""The OpenAPI document and request validation come from one declaration per endpoint.

Three ways a handler could accept a parameter the document does not list, each closed here:
reading the request itself (the source check below), a model field the document leaves out or
places elsewhere (the document must list exactly the model's fields, where they are read), and a
declared field the parser never reads (each declared parameter, sent alone over HTTP, must arrive
in the handler's ``params``).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import server.api
from crawler.catalogue import CAPTURE_COLUMNS
from crawler.config import Settings
from crawler.extract.article import Article
from server.app import create_app, routes
from server.declare import Endpoint, endpoints, location, validate
from server.errors import BadRequest
from server.openapi import document

DECLARED = endpoints(route.handler for route in routes())
API_DIR = Path(server.api.__file__).parent

# What a handler may read from the request besides its declared parameters: the raw body (for
# /clean's cache key), the bearer token (through server.auth) and Accept (content negotiation).
ALLOWED_HEADERS = {"Authorization", "Accept"}
REQUEST_PARTS = {"query", "query_string", "match_info", "raw_path", "post", "json"}


def _settings(tmp_path: Path) -> Settings:
    return replace(
        Settings(),
        data_dir=tmp_path / "data",
        s3_endpoint="127.0.0.1:9",
        database_url=f"sqlite:///{tmp_path}/catalogue.sqlite3",
        rate_limit=0.0,
    )


@pytest.fixture
async def served_document(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    app = create_app(_settings(tmp_path), app_modules=[])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/api/v1/openapi.json")
        assert response.status == 200
        yield await response.json()


def test_every_api_route_is_declared() -> None:
    handlers = [route.handler for route in routes()]
    undeclared = [h.__qualname__ for h in handlers if not hasattr(h, "endpoint")]
    assert not undeclared, f"routes without a declaration: {undeclared}"
    assert len(DECLARED) == len(handlers) >= 19


@pytest.mark.parametrize("module", sorted(API_DIR.glob("*.py")), ids=lambda p: p.name)
def test_handlers_read_parameters_only_through_their_declaration(module: Path) -> None:
    """No ``request.query``, ``match_info``, raw path or body form in server/api: a parameter
    read that way would be accepted without being validated or documented."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in REQUEST_PARTS
            and _from_request(node.value)
        ):
            found.append(f"line {node.lineno}: request.{node.attr}")
        header = _header_read(node)
        if header is not None and header not in ALLOWED_HEADERS:
            found.append(f"line {node.lineno}: header {header!r} read outside the declaration")
    assert not found, f"{module.name} reads the request directly: {found}"


def _names_request(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "request"


def _from_request(node: ast.AST) -> bool:
    """``request``, or an attribute of it (``request.rel_url``, ``request.url``)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return _names_request(node)


def _header_read(node: ast.AST) -> str | None:
    """The header name in ``request.headers.get("X")`` or ``request.headers["X"]``."""
    target: ast.AST | None = None
    key: ast.AST | None = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        target, key = node.func.value, node.args[0] if node.args else None
    elif isinstance(node, ast.Subscript):
        target, key = node.value, node.slice
    if (
        isinstance(target, ast.Attribute)
        and target.attr == "headers"
        and _names_request(target.value)
        and isinstance(key, ast.Constant)
    ):
        return str(key.value)
    return None


def test_the_source_check_catches_a_direct_read() -> None:
    """The check above must be able to fail: a handler that reads the query itself is caught."""
    tree = ast.parse(
        "async def h(request):\n"
        "    a = request.query.get('secret')\n"
        "    b = request.rel_url.query['other']\n"
        "    c = request.headers.get('X-Secret')\n"
        "    d = request.rel_url.update_query(page=2)\n"
    )
    reads = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in REQUEST_PARTS
             and _from_request(n.value)]
    headers = [h for h in map(_header_read, ast.walk(tree)) if h]
    assert len(reads) == 2 and headers == ["X-Secret"]


@pytest.mark.parametrize("endpoint", DECLARED, ids=lambda e: e.operation_id)
async def test_document_lists_exactly_the_declared_parameters(
    endpoint: Endpoint, served_document: dict[str, Any]
) -> None:
    operation = served_document["paths"][endpoint.document_path][endpoint.method.lower()]
    documented = {(p["name"], p["in"], bool(p.get("required"))) for p in operation.get("parameters", [])}
    declared = set()
    if endpoint.params is not None:
        for name, info in endpoint.params.model_fields.items():
            where = location(info).where
            declared.add((info.alias or name, where, info.is_required() or where == "path"))
    assert documented == declared
    in_path = {p.strip("{}") for p in endpoint.document_path.split("/") if p.startswith("{")}
    assert in_path == {name for name, where, _ in documented if where == "path"}
    if endpoint.body is not None:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{endpoint.body.__name__}"}
    else:
        assert "requestBody" not in operation


def test_article_and_capture_schemas_come_from_their_classes() -> None:
    schemas = document(DECLARED)["components"]["schemas"]
    assert set(schemas["Capture"]["properties"]) == set(CAPTURE_COLUMNS)
    assert set(schemas["Capture"]["required"]) == set(CAPTURE_COLUMNS)
    assert set(schemas["Article"]["properties"]) == {f.name for f in dataclasses.fields(Article)}
    cleaned = schemas["CleanedArticle"]
    assert {"source", "capture_id"} <= set(cleaned["properties"])
    assert "capture_id" not in cleaned["required"] and "source" in cleaned["required"]
    hit = schemas["SearchHit"]
    assert set(CAPTURE_COLUMNS) | {"snippet", "rank", "capture_count", "first_captured_at"} == set(
        hit["properties"]
    )


def test_limits_are_written_once() -> None:
    """The document's limits are the validator's: change one and the other follows."""
    from server.api.search import SearchQuery

    paths = document(DECLARED)["paths"]
    limit = next(p for p in paths["/api/v1/search"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100 and limit["schema"]["default"] == 20
    with pytest.raises(BadRequest) as refused:
        validate(SearchQuery, {"q": "x", "limit": str(limit["schema"]["maximum"] + 1)})
    assert refused.value.detail == "'limit' must be between 1 and 100, not 101"
    assert validate(SearchQuery, {"q": "x", "limit": "100"}).limit == 100
    match = next(p for p in paths["/cdx"]["get"]["parameters"] if p["name"] == "matchType")
    from crawler.catalogue import MATCH_TYPES

    assert match["schema"]["enum"] == list(MATCH_TYPES)


# --- each declared parameter arrives, over HTTP, where the document says it travels --------


def _example(schema: dict[str, Any]) -> Any:
    """A valid value for a parameter's schema: its example, else one its type and bounds allow."""
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        choices = [c for c in schema["enum"] if c != schema.get("default")]
        return choices[0]
    if schema.get("type") == "integer":
        return schema.get("minimum", 0) + 1
    if schema.get("type") == "array":
        return ["x"]
    return "example.com"


def _echo(endpoint: Endpoint) -> Any:
    async def handle(request: web.Request) -> web.Response:
        params = endpoint.parse(request)
        received = sorted(
            endpoint.params.model_fields[name].alias or name for name in params.model_fields_set
        ) if params is not None else []
        return web.json_response({"received": received})

    return handle


@pytest.fixture
async def echo() -> AsyncIterator[TestClient]:
    """The declared routes with handlers that only parse and say which parameters arrived."""
    app = web.Application()
    for endpoint in DECLARED:
        app.router.add_route(endpoint.method, endpoint.path, _echo(endpoint))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


def _request(endpoint: Endpoint, parameters: list[dict[str, Any]], chosen: set[str]) -> dict[str, Any]:
    path = endpoint.document_path
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    for parameter in parameters:
        if parameter["name"] not in chosen and not parameter.get("required"):
            continue
        value = _example(parameter["schema"])
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(value))
        elif parameter["in"] == "header":
            headers[parameter["name"]] = str(value)
        else:
            values = value if isinstance(value, list) else [value]
            query += [(parameter["name"], str(v)) for v in values]
    return {"path": path, "params": query, "headers": headers}


WITH_PARAMETERS = [e for e in DECLARED if e.params is not None]


@pytest.mark.parametrize("endpoint", WITH_PARAMETERS, ids=lambda e: e.operation_id)
async def test_each_documented_parameter_reaches_the_handler(
    endpoint: Endpoint, echo: TestClient
) -> None:
    parameters = _document_parameters(endpoint)
    required = {p["name"] for p in parameters if p.get("required")}
    for parameter in parameters:
        sent = _request(endpoint, parameters, {parameter["name"]})
        response = await echo.request(endpoint.method, sent["path"], params=sent["params"],
                                      headers=sent["headers"])
        assert response.status == 200, (parameter["name"], await response.text())
        assert (await response.json())["received"] == sorted(required | {parameter["name"]})


def _document_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    operation = document([endpoint])["paths"][endpoint.document_path][endpoint.method.lower()]
    return operation["parameters"]


async def test_an_undeclared_parameter_is_not_read(echo: TestClient) -> None:
    response = await echo.get("/api/v1/search", params={"q": "x", "secret": "1", "Limit": "5"})
    assert (await response.json())["received"] == ["q"]


# --- validation failures read like the API's other 400s ----------------------------------


@pytest.mark.parametrize(
    "path,params,words",
    [
        ("/api/v1/search", {}, "'q' is required: the words to search for"),
        ("/api/v1/search", {"q": "x", "limit": "many"}, "'limit' must be a whole number, not 'many'"),
        ("/api/v1/search", {"q": "x", "offset": "-1"}, "'offset' must be between 0 and 10000, not -1"),
        ("/api/v1/search", {"q": "x" * 501}, "'q' is longer than 500 characters"),
        ("/api/v1/captures", {"to": "soon"}, "'to' must be an ISO 8601 date"),
        ("/api/v1/captures", {"url": "ftp://example.com/"}, "'url' must be an absolute http(s) URL"),
        ("/api/v1/diff", {"a": "x"}, "'b' is required: the id of the later capture"),
        ("/api/v1/export", {"url": "https://example.com/"}, "'format' is required: one of warc, wacz"),
        ("/cdx", {"url": "example.com", "sort": "closest"},
         "'sort' must be one of regular, reverse, not 'closest'"),
        ("/cdx", {"url": "example.com", "collapse": "secret"}, "'collapse' must be a field"),
    ],
)
async def test_bad_parameters_are_named_with_what_they_must_be(
    tmp_path: Path, path: str, params: dict[str, str], words: str
) -> None:
    app = create_app(_settings(tmp_path), app_modules=[])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get(path, params=params)
        body = await response.json()
    assert response.status == 400 and body["error"] == "bad_request"
    assert words in body["detail"], body["detail"]
    assert "pydantic" not in body["detail"] and "Input should" not in body["detail"]


async def test_bad_bodies_are_named_too(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path), app_modules=[])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        missing = await (await client.post("/api/v1/clean", json={"html": "<p>x</p>"})).json()
        typed = await (await client.post(
            "/api/v1/clean", json={"url": "https://example.com/", "html": 5}
        )).json()
    assert missing["detail"] == "'url' is required: an absolute http(s) URL"
    assert typed["detail"] == "'html' must be a string"
