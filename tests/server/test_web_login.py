"""Sign-in sends the reader on only to a path on this site (issue 21, finding 6: open redirect).

Each hostile ``next=`` is tried on both the form (its hidden field) and the post (its ``Location``),
the way a browser would send it: query-string encoded, so a tab arrives as ``%09``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from crawler.config import Settings
from server.app import create_app
from server.auth import TokenStore

# Each of these leaves the site once a browser reads it (tabs and newlines dropped, a backslash
# read as a slash), or is not a path at all.
HOSTILE = [
    "//evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    "\t//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\\/evil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example/path",
    " //evil.example/",
    "/web\x00/x",
    "/\x7f/evil.example",
    "/web/login\r\nSet-Cookie: planted=1",
]
SAME_SITE = ["/", "/web/export", "/web/search?q=bridge&site=example.org", "/web/https://example.org/a%20b"]


@pytest.fixture
async def client_and_token(settings: Callable[..., Settings]) -> AsyncIterator[tuple[TestClient, str]]:
    config = settings(rate_limit=0.0)
    token = TokenStore.from_settings(config).create("login test")
    async with TestClient(TestServer(create_app(config), host="127.0.0.1")) as client:
        yield client, token


def _hidden_next(page: str) -> str:
    found = re.search(r'name="next" value="([^"]*)"', page)
    assert found, "the sign-in form has no next field"
    return found.group(1)


async def _sign_in(client: TestClient, token: str, target: str) -> tuple[int, str]:
    response = await client.post(
        "/web/login", data={"token": token, "next": target}, allow_redirects=False
    )
    return response.status, response.headers.get("Location", "")


@pytest.mark.parametrize("target", HOSTILE)
async def test_sign_in_never_sends_the_reader_off_site(
    client_and_token: tuple[TestClient, str], target: str
) -> None:
    client, token = client_and_token
    form = await client.get("/web/login", params={"next": target})
    assert form.status == 200
    assert _hidden_next(await form.text()) == "/"
    status, location = await _sign_in(client, token, target)
    assert (status, location) == (303, "/")


@pytest.mark.parametrize("target", SAME_SITE)
async def test_sign_in_returns_to_the_page_asked_for(
    client_and_token: tuple[TestClient, str], target: str
) -> None:
    client, token = client_and_token
    form = await client.get("/web/login", params={"next": target})
    assert _hidden_next(await form.text()).replace("&amp;", "&") == target
    status, location = await _sign_in(client, token, target)
    assert (status, location) == (303, target)


async def test_a_wrong_token_keeps_the_safe_target_on_the_form(
    client_and_token: tuple[TestClient, str],
) -> None:
    client, _ = client_and_token
    response = await client.post(
        "/web/login", data={"token": "dcl_wrong", "next": "/\t/evil.example/"}, allow_redirects=False
    )
    assert response.status == 401
    assert "Set-Cookie" not in response.headers
    assert _hidden_next(await response.text()) == "/"
