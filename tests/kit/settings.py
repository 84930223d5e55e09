"""Settings over the session's test services, and the environment that makes a child load them.

Fixtures of every scope build their ``Settings`` with ``settings_for``; a test that runs the CLI
in-process sets ``settings_vars``, one that starts a child process passes ``settings_env``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from crawler.cli.services import SeaweedFS
from crawler.config import Settings
from tests.kit.paths import ROOT


def settings_for(
    s3_server: SeaweedFS, data_dir: Path, database_url: str = "", **overrides: Any
) -> Settings:
    """Settings over the session's S3 server; fixtures of any scope build theirs with this."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "s3_endpoint": s3_server.endpoint,
        "s3_access_key": s3_server.access_key,
        "s3_secret_key": s3_server.secret_key,
        "s3_bucket": s3_server.bucket,
        "s3_secure": False,
        "database_url": database_url,
    }
    return Settings(**{**values, **overrides})


def settings_vars(settings: Settings) -> dict[str, str]:
    """The DECLUTTER_* variables that make ``config.load()`` return ``settings``'s storage."""
    return {
        "DECLUTTER_DATA_DIR": str(settings.data_dir),
        "DECLUTTER_S3_ENDPOINT": settings.s3_endpoint,
        "DECLUTTER_S3_ACCESS_KEY": settings.s3_access_key,
        "DECLUTTER_S3_SECRET_KEY": settings.s3_secret_key,
        "DECLUTTER_S3_BUCKET": settings.s3_bucket,
        "DECLUTTER_S3_SECURE": "true" if settings.s3_secure else "false",
        "DECLUTTER_DATABASE_URL": settings.database_url,
    }


def settings_env(settings: Settings) -> dict[str, str]:
    """A child process's whole environment: this one's, minus any DECLUTTER_* the developer set
    (so the child sees only the test's settings), plus ``settings`` and the checkout on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECLUTTER_")}
    env.update(settings_vars(settings))
    env.update({
        "DECLUTTER_MAX_PAGE_BYTES": str(settings.max_page_bytes),
        "DECLUTTER_CHROMIUM": settings.chromium_path,
        "PYTHONPATH": str(ROOT),
    })
    return env


def storage_down_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """S3 on a closed loopback port and a fresh SQLite catalogue, no rate limit: the server
    starts, and everything that needs no stored object answers."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "s3_endpoint": "127.0.0.1:9",
        "database_url": f"sqlite:///{tmp_path}/catalogue.sqlite3",
        "rate_limit": 0.0,
    }
    return Settings(**{**values, **overrides})
