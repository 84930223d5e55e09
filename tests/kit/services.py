"""Pytest plugin (registered by tests/conftest.py): real services for the tests.

Each server (SeaweedFS for S3, PostgreSQL, Redis) starts once per session, on free 127.0.0.1
ports in a temp folder, only when a test asks for it, and is stopped and removed at the end.
``settings`` builds a ``Settings`` that points at them with a fresh data folder (and, for
PostgreSQL, a fresh database) per call.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crawler.cli.services import (
    PostgresServer,
    RedisServer,
    SeaweedFS,
    SeaweedPorts,
    ServiceError,
    free_port,
    temp_dir,
)
from crawler.config import Settings
from tests.kit.settings import settings_for

TEST_BUCKET = "declutter-test"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedFS]:
    """A real SeaweedFS (``weed mini``) with S3 on a free port; ``.endpoint``, keys, ``.bucket``."""
    root = temp_dir("declutter-s3-")
    server = SeaweedFS(
        root / "weed", bucket=TEST_BUCKET, ports=SeaweedPorts.free(), die_with_parent=True
    )
    try:
        server.start(timeout=90)
    except ServiceError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start SeaweedFS: {exc}")
    yield server
    server.kill()  # its data is thrown away: no need for the ~4 s graceful stop
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL 15 cluster (initdb, trust auth) on a free port; ``.url(db)``."""
    root = temp_dir("declutter-pg-")
    server = PostgresServer(root, die_with_parent=True)
    try:
        server.start()
    except ServiceError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc}")
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A real redis-server on a free port, no persistence; yields its ``redis://`` URL."""
    root = temp_dir("declutter-redis-")
    server = RedisServer(root, port=free_port(), persist=False, die_with_parent=True)
    try:
        server.start()
    except ServiceError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start Redis: {exc}")
    yield server.url
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, s3_server: SeaweedFS, tmp_path: Path
) -> Callable[..., Settings]:
    """Factory: ``settings(database="sqlite"|"postgresql", **overrides) -> Settings``.

    Points at the session's SeaweedFS and a fresh ``data_dir`` under ``tmp_path``; with
    ``database="postgresql"`` it creates a new database on the session's PostgreSQL.
    """

    def make(database: str = "sqlite", **overrides: object) -> Settings:
        n = next(_counter)
        database_url = ""
        if database == "postgresql":
            pg: PostgresServer = request.getfixturevalue("postgres_server")
            database_url = pg.create_database(f"t{n}_{int(time.time() * 1000) % 10**9}")
        elif database != "sqlite":
            raise ValueError(f"database must be 'sqlite' or 'postgresql', not {database!r}")
        return settings_for(s3_server, tmp_path / f"data{n}", **{"database_url": database_url, **overrides})

    return make


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """Runs a test once per catalogue engine; pass it to ``settings(database=...)``."""
    return request.param
