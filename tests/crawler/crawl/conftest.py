"""Crawler test fixtures: the local test site and a way to run `declutter crawl` as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.config import Settings
from tests.crawler.crawl.site import SiteServer
from tests.support import ROOT, shared_path

# Chromium may resolve nothing: every page these tests render lives on 127.0.0.1.
LOOPBACK_ONLY_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
MAX_PAGE_BYTES = 1024 * 1024


@pytest.fixture(scope="session")
def site() -> Iterator[SiteServer]:
    server = SiteServer(shared_path("fixtures", "seed-article"), slow_seconds=4.0).start()
    yield server
    server.stop()


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process load exactly ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECLUTTER_")}
    env.update({
        "DECLUTTER_DATA_DIR": str(settings.data_dir),
        "DECLUTTER_S3_ENDPOINT": settings.s3_endpoint,
        "DECLUTTER_S3_ACCESS_KEY": settings.s3_access_key,
        "DECLUTTER_S3_SECRET_KEY": settings.s3_secret_key,
        "DECLUTTER_S3_BUCKET": settings.s3_bucket,
        "DECLUTTER_S3_SECURE": "true" if settings.s3_secure else "false",
        "DECLUTTER_DATABASE_URL": settings.database_url,
        "DECLUTTER_MAX_PAGE_BYTES": str(settings.max_page_bytes),
        "DECLUTTER_CHROMIUM": settings.chromium_path,
        "PYTHONPATH": str(ROOT),
    })
    return env


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def write_crawls(path: Path, crawls: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for name, fields in crawls.items():
        tables = {k: v for k, v in fields.items() if isinstance(v, dict)}
        lines.append(f"[crawls.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in fields.items() if k not in tables]
        for table, values in tables.items():
            lines.append(f"[crawls.{name}.{table}]")
            for k, v in values.items():
                if isinstance(v, dict):
                    inner = ", ".join(f"{ik} = {toml_value(iv)}" for ik, iv in v.items())
                    lines.append(f"{k} = {{ {inner} }}")
                else:
                    lines.append(f"{k} = {toml_value(v)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def crawl_def(spider: str, seeds: list[str], **fields: Any) -> dict[str, Any]:
    """A test crawl: no politeness delay, short timeouts, Chromium limited to loopback."""
    values: dict[str, Any] = {
        "spider": spider,
        "seeds": seeds,
        "delay": 0,
        "concurrency": 8,
        "timeout": 1.5,
        "scrapy": {
            "RETRY_TIMES": 1,
            "AUTOTHROTTLE_ENABLED": False,
            "PLAYWRIGHT_LAUNCH_OPTIONS": {"args": LOOPBACK_ONLY_ARGS},
        },
    }
    values.update(fields)
    return values


@dataclass
class CrawlRun:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def crawl_env(settings: Callable[..., Settings], tmp_path: Path) -> Callable[..., Any]:
    """Factory: ``crawl_env() -> (settings, env, run)`` where ``run(name, file)`` runs a crawl."""

    def make(**overrides: Any) -> tuple[Settings, dict[str, str], Callable[..., CrawlRun]]:
        s = settings(max_page_bytes=MAX_PAGE_BYTES, **overrides)
        env = settings_env(s)

        def run(name: str, crawls_file: Path, *extra: str, timeout: float = 120) -> CrawlRun:
            proc = subprocess.run(
                [sys.executable, "-m", "crawler.cli", "crawl", name, "--file", str(crawls_file), *extra],
                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=timeout,
            )
            return CrawlRun(proc.returncode, proc.stdout, proc.stderr)

        return s, env, run

    return make
