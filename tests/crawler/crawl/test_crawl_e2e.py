"""End to end: `declutter crawl` on the local test site into real SeaweedFS + SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.archive import Archiver
from crawler.catalogue import CaptureRow
from tests.crawler.crawl.conftest import crawl_def, write_crawls
from tests.crawler.crawl.site import SPECIAL, SiteServer
from tests.support import collapse

# What every spider must make of the bad pages (kind -> the counts key it lands in).
BAD = {
    "robots": "skipped.robots",
    "timeout": "errors.timeout",
    "http_error": "errors.http_error",
    "binary": "skipped.binary",
    "redirect_loop": "errors.redirect_loop",
    "too_large": "errors.too_large",
}


def captures_by_path(archiver: Archiver, origin: str) -> dict[str, list[CaptureRow]]:
    rows, cursor = [], None
    while True:
        page, cursor = archiver.catalogue.list_captures(limit=100, cursor=cursor)
        rows += page
        if not cursor:
            break
    found: dict[str, list[CaptureRow]] = {}
    for row in rows:
        assert row.url.startswith(origin), row.url
        found.setdefault(row.url[len(origin):], []).append(row)
    return found


def last_crawl_counts(archiver: Archiver) -> dict[str, Any]:
    crawls = archiver.catalogue.list_crawls()
    assert crawls, "the crawl left no row in the crawls table"
    return crawls[0].counts


def check_site_capture(
    archiver: Archiver, site: SiteServer, seed_expectations: tuple[list[str], list[str]]
) -> dict[str, Any]:
    """The checks every spider shares: each good page captured once and extracted, each bad
    page counted under its kind and never captured, robots.txt obeyed."""
    must, must_not = seed_expectations
    found = captures_by_path(archiver, site.origin)
    for path in site.article_paths():
        assert len(found.get(path, [])) == 1, f"{path}: {len(found.get(path, []))} captures"
        article = archiver.read_article(found[path][0].id)
        assert article.word_count > 100, path
        assert "Most read" not in article.text and "Sign up" not in article.text
    for path in site.seed_paths():
        assert len(found.get(path, [])) == 1, path
        article = archiver.read_article(found[path][0].id)
        text = collapse(f"{article.title}\n{article.text}")
        for line in must:
            assert line in text, f"{path} lost {line[:60]!r}"
        for line in must_not:
            assert line not in text, f"{path} kept clutter {line!r}"
    assert found["/seed/page-js.html"][0].rendered
    assert not found["/seed/page.html"][0].rendered
    for path in SPECIAL:
        assert path not in found, f"bad page {path} was captured"
    assert site.hits["/private/drafts.html"] == 0, "robots.txt was not obeyed"
    counts = last_crawl_counts(archiver)
    for kind, key in BAD.items():
        assert counts.get(key, 0) >= 1, f"{kind} not counted: {counts}"
    assert counts["captured"] == len(site.article_paths()) + len(site.seed_paths()), counts
    assert counts["rendered"] == 1, counts
    assert counts["finish_reason"] == "finished"
    return counts


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
    assert "pages " in result.stderr and "| captured " in result.stderr, "no progress line"
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
