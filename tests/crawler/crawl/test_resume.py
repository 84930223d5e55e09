"""A crawl killed with SIGKILL and started again finishes with every page captured exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import Archiver
from crawler.catalogue import open_catalogue
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.site import SiteServer

PAGES = 24


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SiteServer]:
    server = SiteServer(None, extra_articles=PAGES, page_delay=0.25).start()
    yield server
    server.stop()


def test_sigkill_then_restart_captures_everything_exactly_once(
    slow_site: SiteServer, crawl_env: Any, tmp_path: Path
) -> None:
    settings, env, run = crawl_env()
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "news": crawl_def(
            "site", [slow_site.url("/")], concurrency=2,
            article_patterns=["/articles/", "/more/"],
            deny_patterns=["/slow", "/huge", "/error500", "/loop/", "/download/"],
        ),
    })
    expected = slow_site.article_paths()
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "crawl", "news", "--file", str(crawls)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    catalogue = open_catalogue(settings)
    deadline = time.monotonic() + 60
    try:
        while catalogue.count_captures() < 6:
            assert proc.poll() is None, proc.communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "the crawl captured nothing"
            time.sleep(0.05)
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    before = catalogue.count_captures()
    catalogue.close()
    assert 6 <= before < len(expected), f"killed too late to test resuming ({before} captured)"
    job = settings.data_dir / "crawls" / "news"
    assert (job / "run.json").exists(), "the killed run must stay resumable"
    # lose the journal's second half, as a machine crash could: the catalogue still knows
    lines = (job / "journal.jsonl").read_text().splitlines(keepends=True)
    assert sum('"capture_id"' in line for line in lines) >= 6
    kept = lines[: len(lines) // 2]  # the journal also holds each page's counts
    (job / "journal.jsonl").write_text("".join(kept))

    result = run("news", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed" in result.stdout

    with Archiver.from_settings(settings) as archiver:
        rows, _ = archiver.catalogue.list_captures(limit=500)
        per_url = Counter(row.url[len(slow_site.origin):] for row in rows)
        crawl_rows = archiver.catalogue.list_crawls()
    assert per_url == Counter({path: 1 for path in expected}), per_url
    assert len(crawl_rows) == 1, "a resumed crawl continues its run instead of starting another"
    counts = crawl_rows[0].counts
    assert crawl_rows[0].finished_at is not None
    assert counts["captured"] == len(expected) and counts["resumed"] is True, counts
    assert counts["skipped.resumed"] >= sum('"capture_id"' in line for line in kept) > 0, counts
    assert not (job / "run.json").exists() and not (job / "journal.jsonl").exists()

    again = run("news", crawls)
    assert again.returncode == 0, again.stderr[-3000:]
    with Archiver.from_settings(settings) as archiver:
        crawl_rows = archiver.catalogue.list_crawls()
        rows, _ = archiver.catalogue.list_captures(limit=500)
    assert len(crawl_rows) == 2, "a finished crawl starts a new run next time"
    latest = crawl_rows[0].counts
    assert latest["deduplicated"] == len(expected) and latest["captured"] == 0, latest
    assert len(rows) == 2 * len(expected)
