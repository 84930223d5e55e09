"""Real Chromium with the unpacked extension, the real server and a page server, all on loopback.

One browser context is shared by the whole session (starting Chromium is the slow part); each test
opens its own tab. The helpers (tests.kit.extension, tests.kit.pages) are also what
``bench/extension.py`` measures with.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext, Worker, async_playwright

from tests.kit.extension import (
    MAX_BODY_BYTES,
    Reader,
    ServerHandle,
    ShadowReader,
    configure,
    forget,
    keep_on_loopback,
    launch_extension_context,
    page_server,
)
from tests.kit.pages import page_app, start_site
from tests.kit.paths import SHARED


@pytest.fixture(scope="session")
async def page_site() -> AsyncIterator[str]:
    """Test pages on loopback; the seed pages under /seed/ when ../shared is there (tests that
    read them ask for ``seed_dir`` too, which skips or fails them as tests.kit.paths.shared_path says)."""
    seed = SHARED / "fixtures" / "seed-article"
    runner, url = await start_site(
        page_app(seed if seed.is_dir() else None, large_bytes=MAX_BODY_BYTES * 2)
    )
    yield url
    await runner.cleanup()


@pytest.fixture(scope="session")
async def declutter_server(s3_server: Any, page_site: str) -> AsyncIterator[ServerHandle]:
    """The real server on the session's real S3 storage, with a SQLite catalogue of its own.

    Built here rather than with the per-test ``settings`` factory because one server serves the
    whole session; it may fetch from the page site (the one loopback origin it is allowed).
    """
    async with page_server(s3_server, page_site, prefix="declutter-ext-data-") as handle:
        yield handle


@pytest.fixture(scope="session")
async def extension_browser() -> AsyncIterator[tuple[BrowserContext, Worker]]:
    profile = Path(tempfile.mkdtemp(prefix="declutter-ext-"))
    async with async_playwright() as playwright:
        context, worker = await launch_extension_context(playwright, profile)
        await context.route("**/*", keep_on_loopback)
        try:
            yield context, worker
        finally:
            await context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def extension_id(extension_browser: tuple[BrowserContext, Worker]) -> str:
    return urlsplit(extension_browser[1].url).netloc


@pytest.fixture
async def reader(
    extension_browser: tuple[BrowserContext, Worker], declutter_server: ServerHandle
) -> AsyncIterator[Reader]:
    """A fresh tab, the extension pointed at the test server with a token, default prefs."""
    context, worker = extension_browser
    await forget(worker, "readerPrefs")
    await configure(worker, server=declutter_server.url, token=declutter_server.token)
    page = await context.new_page()
    shadow = ShadowReader(page)
    yield Reader(page=page, worker=worker, shadow=shadow, server=declutter_server)
    await shadow.close()
    await page.close()
