"""Crawler test fixtures: the local test site and a way to run `declutter crawl` as a process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.config import Settings
from tests.kit.crawls import CrawlRun
from tests.kit.paths import shared_path
from tests.kit.settings import settings_env
from tests.kit.site import SiteServer

MAX_PAGE_BYTES = 1024 * 1024


@pytest.fixture(scope="session")
def site() -> Iterator[SiteServer]:
    server = SiteServer(shared_path("fixtures", "seed-article"), slow_seconds=4.0).start()
    yield server
    server.stop()


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
