"""The API server over real storage: fresh per test (``api``) or over known captures (``archive``).

The loopback ``origin`` it fetches from and ``NamesResolver`` come from tests.kit.origin, so no
name it is asked about is looked up in real DNS.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from crawler.archive import Archiver
from crawler.config import Settings
from crawler.snapshot.capture import Capture
from tests.kit.api import Api, running_api
from tests.kit.archive import RFC_TIMES, RFC_URL, SCREENSHOT, Archive, archive_page
from tests.kit.origin import PARAGRAPHS, Origin, article_html
from tests.kit.settings import settings_for


@pytest.fixture
def api_settings(settings: Callable[..., Settings]) -> Settings:
    return settings(database="sqlite", rate_limit=0.0)


@pytest.fixture
async def api(api_settings: Settings, origin: Origin) -> AsyncIterator[Api]:
    async with running_api(api_settings, allow=[f"127.0.0.1:{origin.port}"]) as running:
        yield running


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def archive(
    request: pytest.FixtureRequest, s3_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Archive]:
    """Captures of RFC 7089's example URL at its dates, and of an article edited once."""
    database_url = ""
    if request.param == "postgresql":
        pg = request.getfixturevalue("postgres_server")
        database_url = pg.create_database(f"srv{int(time.time() * 1000) % 10**9}")
    settings = settings_for(
        s3_server, tmp_path_factory.mktemp("archive"), database_url, rate_limit=0.0
    )
    archiver = Archiver.from_settings(settings)
    ids: dict[str, list[str]] = {"rfc": [], "article": []}
    for i, when in enumerate(RFC_TIMES):
        paragraphs = [f"Snapshot number {i} of the example page."] + PARAGRAPHS
        ids["rfc"].append(archive_page(archiver, RFC_URL, article_html(f"Example {i}", paragraphs), when))
    edited = list(PARAGRAPHS)
    edited[2] = edited[2].replace("slender", "graceful steel")
    article_url = "https://news.example.com/2024/footbridge"
    for when, paragraphs in (
        (datetime(2024, 5, 1, 9, tzinfo=UTC), PARAGRAPHS),
        (datetime(2024, 5, 2, 9, tzinfo=UTC), edited),
    ):
        ids["article"].append(
            archive_page(archiver, article_url, article_html("Council weighs footbridge designs", paragraphs), when)
        )
    shot = archiver.archive(
        Capture(
            url="https://news.example.com/2024/rendered",
            status=200,
            body=article_html("Rendered page", PARAGRAPHS).encode("utf-8"),
            response_headers=[("Content-Type", "text/html")],
            captured_at=datetime(2024, 6, 1, tzinfo=UTC),
            rendered_html=article_html("Rendered page", PARAGRAPHS),
            screenshot=SCREENSHOT,
        )
    )
    ids["screenshot"] = [shot.capture_id]
    try:
        async with running_api(settings, archiver=archiver) as running:
            yield Archive(running, ids, request.param)
    finally:
        archiver.close()
