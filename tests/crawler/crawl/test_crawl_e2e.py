"""End to end: `declutter crawl` on the local test site into real SeaweedFS + SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.archive import Archiver
from tests.kit.crawls import check_site_capture, crawl_def, write_crawls
from tests.kit.site import SiteServer


@pytest.mark.parametrize("spider", ["site", "sitemap", "feed", "urls"])
def test_each_spider_captures_the_site_and_counts_bad_pages(
    spider: str, site: SiteServer, crawl_env: Any, tmp_path: Path,
    seed_expectations: tuple[list[str], list[str]],
) -> None:
    settings, _, run = crawl_env()
    seeds = {
        "site": [site.url("/")],
        "sitemap": [site.url("/")],
        "feed": [site.url("/feed.xml")],
        "urls": [site.url(p) for p in site.all_pages()],
    }[spider]
    extra = {"article_patterns": ["/(articles|seed|private|download|loop)/", "/(slow|error500|huge)$"]}
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "t": crawl_def(spider, seeds, **(extra if spider == "site" else {})),
    })
    result = run("t", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "crawl t (run " in result.stdout and "finished" in result.stdout
    assert "pages " in result.stderr and " checked: " in result.stderr, "no progress line"
    with Archiver.from_settings(settings) as archiver:
        try:
            counts = check_site_capture(archiver, site, seed_expectations)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- crawl log ---\n{result.stderr[-4000:]}") from exc
    assert counts["browsers_started"] == 1


def test_per_host_concurrency_holds_without_a_delay(crawl_env: Any, tmp_path: Path) -> None:
    site = SiteServer(None, extra_articles=10, page_delay=0.2).start()
    try:
        settings, _, run = crawl_env()
        crawls = write_crawls(tmp_path / "crawls.toml", {
            "p": crawl_def("urls", [site.url(f"/more/{n}.html") for n in range(10)],
                           concurrency=2, render="never"),
        })
        result = run("p", crawls)
        assert result.returncode == 0, result.stderr[-3000:]
        assert sum(site.hits[f"/more/{n}.html"] for n in range(10)) == 10
        assert site.max_in_flight == 2, f"{site.max_in_flight} requests at once to one host"
    finally:
        site.stop()


def test_max_pages_ends_the_run_complete(site: SiteServer, crawl_env: Any, tmp_path: Path) -> None:
    settings, _, run = crawl_env()
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "m": crawl_def("urls", [site.url(p) for p in site.article_paths()], max_pages=3,
                       concurrency=1, render="never"),
    })
    result = run("m", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    with Archiver.from_settings(settings) as archiver:
        rows, _ = archiver.catalogue.list_captures(limit=50)
        crawl = archiver.catalogue.list_crawls()[0]
    assert len(rows) == 3 and crawl.counts["captured"] == 3, crawl.counts
    assert crawl.counts["finish_reason"] == "max_pages" and crawl.finished_at is not None
    assert not (settings.data_dir / "crawls" / "m" / "run.json").exists()
