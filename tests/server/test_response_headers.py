"""Every response says what it is: ``nosniff`` everywhere, a closed CSP on whatever is not a page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.security import DATA_CSP
from tests.kit.settings import storage_down_settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    app = create_app(storage_down_settings(tmp_path))
    async with TestClient(TestServer(app, host="127.0.0.1")) as running:
        yield running


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/v1/no-such-endpoint",
        "/api/v1/search?q=bridge",
        "/cdx?url=example.com",
        "/timemap/link/https://example.com/",
        "/api/v1/feed.atom",
    ],
)
async def test_data_responses_cannot_be_sniffed_or_run(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert not response.content_type.startswith("text/html"), (path, response.content_type)
    assert response.headers["X-Content-Type-Options"] == "nosniff", path
    assert response.headers["Content-Security-Policy"] == DATA_CSP, path


async def test_pages_keep_their_own_policy(client: TestClient) -> None:
    response = await client.get("/web/login")
    assert response.content_type == "text/html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert policy != DATA_CSP and "sandbox" not in policy
