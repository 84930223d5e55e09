"""The API server (``create_app``) over real storage, behind a test client on 127.0.0.1.

It gets a ``NamesResolver``, so nothing it fetches is looked up in real DNS, and a token the test
can send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from crawler.config import Settings
from crawler.fetch import AddressGuard
from server.app import create_app
from server.auth import TokenStore
from tests.kit.origin import NamesResolver


@dataclass
class Api:
    client: TestClient
    app: web.Application
    settings: Settings
    token: str
    resolver: NamesResolver

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@asynccontextmanager
async def running_api(
    settings: Settings, *, allow: Sequence[str] = (), **kwargs: Any
) -> AsyncIterator[Api]:
    """The app on a free loopback port; it may fetch only from the ``allow``ed origins."""
    resolver = kwargs.pop("resolver", None) or NamesResolver()
    tokens = TokenStore.from_settings(settings)
    token = tokens.create("tests")
    app = create_app(
        settings, guard=AddressGuard(allow), tokens=tokens, resolver=resolver, **kwargs
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Api(client, app, settings, token, resolver)
