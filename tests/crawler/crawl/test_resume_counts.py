"""A crawl SIGKILLed twice and resumed ends with the counts of a clean run of the same site: every
page (captured, failed, refused by robots.txt, not HTML) counted once, new/changed/unchanged
included, though the killed processes saved their counts only every few seconds."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.catalogue import open_catalogue
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.site import SiteServer

PAGES = 30
# Counts that say what happened to the pages; skipped.resumed is a note of the resumed run only.
NOT_COMPARED = {"skipped.resumed", "resumed", "elapsed_seconds", "urls", "browsers_started"}


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SiteServer]:
    server = SiteServer(None, extra_articles=PAGES, page_delay=0.25, slow_seconds=2.5).start()
    yield server
    server.stop()


def page_counts(counts: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in counts.items()
            if k not in NOT_COMPARED and isinstance(v, int) and not isinstance(v, bool) and v}


def kill_after(env: dict[str, str], cwd: Path, crawls: Path, settings: Any, captures: int) -> None:
    """Start the crawl and SIGKILL it once the catalogue holds ``captures`` captures."""
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", "news", "--file", str(crawls)],
                            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    catalogue = open_catalogue(settings)
    deadline = time.monotonic() + 60
    try:
        while catalogue.count_captures() < captures:
            assert proc.poll() is None, proc.communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "the crawl captured too little"
            time.sleep(0.02)
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        catalogue.close()


def test_counts_after_two_sigkills_and_a_resume_equal_a_clean_runs(
    slow_site: SiteServer, crawl_env: Any, tmp_path: Path
) -> None:
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "news": crawl_def("site", [slow_site.url("/")], concurrency=2, render="never",
                          article_patterns=["/articles/", "/more/"]),
    })
    clean_settings, _, clean_run = crawl_env()
    result = clean_run("news", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    catalogue = open_catalogue(clean_settings)
    clean = catalogue.list_crawls()[0].counts
    catalogue.close()

    settings, env, run = crawl_env()
    kill_after(env, tmp_path, crawls, settings, 6)
    kill_after(env, tmp_path, crawls, settings, 16)
    result = run("news", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    catalogue = open_catalogue(settings)
    rows = catalogue.list_crawls()
    captured = catalogue.count_captures()
    catalogue.close()
    assert len(rows) == 1 and rows[0].counts["resumed"] is True, rows
    resumed = rows[0].counts
    assert captured == clean["captured"] == len(slow_site.article_paths()), (captured, clean)
    assert resumed["skipped.resumed"] >= 6, resumed
    assert page_counts(resumed) == page_counts(clean), (
        f"resumed {page_counts(resumed)}\nclean   {page_counts(clean)}")
    assert clean["errors"] >= 3 and clean["skipped.robots"] == 1, clean
    assert clean["new"] == clean["captured"], clean
    summary = result.stdout
    line = re.search(r"(\d+) pages fetched in ([\d.]+)s \(([\d.]+)/s\)", summary)
    assert line and int(line[1]) == clean["pages"], summary
    # the rate is the last process's own pages over its own time, not the run's pages over it
    assert float(line[3]) * float(line[2]) < clean["pages"] - 6, summary
