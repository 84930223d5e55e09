"""Render policy per crawl: never, always, auto (Chromium only when the served HTML has no article)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.archive import Archiver
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.site import SiteServer
from tests.kit.text import collapse

PNG = b"\x89PNG\r\n\x1a\n"


def crawl(site: SiteServer, crawl_env: Any, tmp_path: Path, render: str, paths: list[str]) -> tuple[dict, dict]:
    settings, _, run = crawl_env()
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "r": crawl_def("urls", [site.url(p) for p in paths], render=render),
    })
    result = run("r", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    with Archiver.from_settings(settings) as archiver:
        rows, _ = archiver.catalogue.list_captures(limit=50)
        out = {}
        for row in rows:
            article = archiver.read_article(row.id)
            out[row.url[len(site.origin):]] = {
                "row": row,
                "text": collapse(f"{article.title}\n{article.text}"),
                "screenshot": archiver.read_screenshot(row.id),
                "rendered_html": archiver.read_rendered(row.id),
                "raw": archiver.read_raw(row.id),
            }
        counts = archiver.catalogue.list_crawls()[0].counts
    return out, counts


def test_auto_captures_a_static_article_without_starting_a_browser(
    site: SiteServer, crawl_env: Any, tmp_path: Path, seed_expectations: Any
) -> None:
    found, counts = crawl(site, crawl_env, tmp_path, "auto", ["/seed/page.html"])
    assert counts["browsers_started"] == 0 and counts["rendered"] == 0, counts
    page = found["/seed/page.html"]
    assert not page["row"].rendered and page["screenshot"] is None
    for line in seed_expectations[0]:
        assert line in page["text"]


def test_never_keeps_the_js_page_as_served_and_counts_no_article(
    site: SiteServer, crawl_env: Any, tmp_path: Path, seed_expectations: Any, seed_dir: Path
) -> None:
    found, counts = crawl(site, crawl_env, tmp_path, "never", ["/seed/page.html", "/seed/page-js.html"])
    assert counts["browsers_started"] == 0 and counts["rendered"] == 0, counts
    assert counts["captured"] == 2 and counts["no_article"] == 1, counts
    js = found["/seed/page-js.html"]
    assert not js["row"].rendered and js["rendered_html"] is None
    assert js["raw"][2] == (seed_dir / "page-js.html").read_bytes()
    assert seed_expectations[0][1] not in js["text"]


def test_always_renders_every_page_with_dom_and_screenshot(
    site: SiteServer, crawl_env: Any, tmp_path: Path, seed_expectations: Any, seed_dir: Path
) -> None:
    paths = ["/articles/library-night-hours.html", "/seed/page-js.html"]
    found, counts = crawl(site, crawl_env, tmp_path, "always", paths)
    assert counts["rendered"] == 2 and counts["browsers_started"] == 1, counts
    for path in paths:
        page = found[path]
        assert page["row"].rendered
        assert page["screenshot"] and page["screenshot"].startswith(PNG), path
        assert page["rendered_html"] and "<body" in page["rendered_html"]
    js = found["/seed/page-js.html"]
    # the WARC keeps what the server sent; the article comes from the rendered DOM
    assert js["raw"][2] == (seed_dir / "page-js.html").read_bytes()
    for line in seed_expectations[0]:
        assert line in js["text"]
    assert seed_expectations[0][1] in js["rendered_html"]


def test_a_failed_render_keeps_the_served_page_and_counts_render_failed_not_an_error(
    site: SiteServer, crawl_env: Any, tmp_path: Path
) -> None:
    settings, _, run = crawl_env()
    fields = crawl_def("urls", [site.url("/articles/school-robotics-final.html")], render="always")
    fields["scrapy"]["PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT"] = 1  # ms: Chromium cannot make it
    crawls = write_crawls(tmp_path / "crawls.toml", {"f": fields})
    result = run("f", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "render failed" in result.stderr
    with Archiver.from_settings(settings) as archiver:
        rows, _ = archiver.catalogue.list_captures(limit=10)
        counts = archiver.catalogue.list_crawls()[0].counts
        assert len(rows) == 1 and not rows[0].rendered
        assert archiver.read_article(rows[0].id).word_count > 100
    assert counts["render_failed"] == 1 and counts["captured"] == 1 and counts["rendered"] == 0, counts
    assert counts["errors"] == 0 and "errors.render" not in counts, counts
