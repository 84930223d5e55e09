"""The API's front door: ``/api/v1/`` lists what is served and links the document and the rendered
reference (Redoc from this origin, shown in real Chromium)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import async_playwright

from server.api.index import REDOC, REFERENCE_CSP
from server.app import create_app
from tests.kit.extension import LOOPBACK_RESOLVER_RULES, chromium_path, keep_on_loopback
from tests.kit.settings import storage_down_settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    app = create_app(storage_down_settings(tmp_path))
    async with TestClient(TestServer(app, host="127.0.0.1")) as running:
        yield running


def _require_redoc() -> None:
    if not REDOC.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REDOC} is missing: `make redoc` (part of make setup) unpacks it")
        pytest.skip("Redoc is not installed (run `make redoc`)")


async def test_the_index_lists_every_documented_endpoint(client: TestClient) -> None:
    response = await client.get("/api/v1/")
    assert response.status == 200
    index = await response.json()
    assert index["openapi"] == "/api/v1/openapi.json" and index["reference"] == "/api/v1/docs"
    document = await (await client.get(index["openapi"])).json()
    listed = {(e["method"].lower(), e["path"]) for e in index["endpoints"]}
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert listed == documented
    assert ("get", "/api/v1/search") in listed and ("post", "/api/v1/captures") in listed


async def test_the_reference_page_loads_redoc_from_this_origin(client: TestClient) -> None:
    _require_redoc()
    page = await client.get("/api/v1/docs")
    assert page.status == 200 and page.content_type == "text/html"
    assert page.headers["Content-Security-Policy"] == REFERENCE_CSP
    html = await page.text()
    assert 'spec-url="/api/v1/openapi.json"' in html
    script = await client.get("/api/v1/docs/redoc.standalone.js")
    assert script.status == 200 and len(await script.read()) > 100_000


async def test_chromium_renders_the_reference(client: TestClient) -> None:
    _require_redoc()
    base = str(client.make_url("/")).rstrip("/")
    args = [f"--host-resolver-rules={LOOPBACK_RESOLVER_RULES}"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=args)
        try:
            context = await browser.new_context()
            await context.route("**/*", keep_on_loopback)
            page = await context.new_page()
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            await page.goto(f"{base}/api/v1/docs")
            await page.get_by_text("Full-text search", exact=False).first.wait_for(timeout=20_000)
            # Redoc's own logo and telemetry are refused by the page's policy before any request.
            assert all(url.startswith(base) or url.startswith(("blob:", "data:")) for url in requested), requested
        finally:
            await browser.close()
