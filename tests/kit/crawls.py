"""Crawl definitions written as crawls.toml, and the checks every spider's crawl of the test site
shares (tests and benchmarks write their crawls with these)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.archive import Archiver
from crawler.catalogue import CaptureRow
from tests.kit.site import SPECIAL, SiteServer
from tests.kit.text import collapse

# Chromium may resolve nothing: every page these crawls render lives on 127.0.0.1.
LOOPBACK_ONLY_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

# What every spider must make of the bad pages (kind -> the counts key it lands in).
BAD = {
    "robots": "skipped.robots",
    "timeout": "errors.timeout",
    "http_error": "errors.http_error",
    "binary": "skipped.binary",
    "redirect_loop": "errors.redirect_loop",
    "too_large": "errors.too_large",
}


@dataclass
class CrawlRun:
    """What a `declutter crawl` child process left: its exit code and both streams."""

    returncode: int
    stdout: str
    stderr: str


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
    """Write ``crawls`` (name -> fields, nested dicts as tables) as a crawls.toml at ``path``."""
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


def captures_by_path(archiver: Archiver, origin: str) -> dict[str, list[CaptureRow]]:
    """Every capture in the catalogue by its path on ``origin`` (all must be on it)."""
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
