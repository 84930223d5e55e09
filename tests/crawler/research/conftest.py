"""The research archive (tests.kit.archive) over the session's real SeaweedFS, on SQLite or
PostgreSQL, built once per module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kit.archive import ResearchArchive, build_archive
from tests.kit.settings import settings_for


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def research(
    request: pytest.FixtureRequest, s3_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ResearchArchive]:
    """The archive on each catalogue engine (module scope: built once per engine per module)."""
    yield from _research(request, s3_server, tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def research_sqlite(
    request: pytest.FixtureRequest, s3_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ResearchArchive]:
    """The same archive on SQLite only, for tests whose subject is not the catalogue engine."""
    yield from _research(request, s3_server, tmp_path_factory, "sqlite")


def _research(
    request: pytest.FixtureRequest, s3_server: Any, factory: pytest.TempPathFactory, database: str
) -> Iterator[ResearchArchive]:
    database_url = ""
    if database == "postgresql":
        pg = request.getfixturevalue("postgres_server")
        database_url = pg.create_database(f"research{time.time_ns() % 10**12}")
    data_dir: Path = factory.mktemp("research")
    settings = settings_for(s3_server, data_dir, database_url, rate_limit=0.0)
    archive = build_archive(settings, database)
    try:
        yield archive
    finally:
        archive.archiver.close()
