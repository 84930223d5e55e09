"""End to end as in production: `declutter crawl` into real SeaweedFS + a real PostgreSQL catalogue."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from crawler.archive import Archiver
from crawler.snapshot.warc import read_warc
from tests.kit.crawls import captures_by_path, check_site_capture, crawl_def, write_crawls
from tests.kit.site import SiteServer


def crawls_table(database_url: str) -> list[tuple[str, Any, dict[str, Any]]]:
    """(id, finished_at, counts) straight from PostgreSQL, oldest first, not via the catalogue."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id, finished_at, counts FROM crawls ORDER BY started_at").fetchall()
    return [(crawl_id, finished, json.loads(counts)) for crawl_id, finished, counts in rows]


def test_crawl_into_postgresql_counts_captures_and_dedupes_a_second_run(
    site: SiteServer, crawl_env: Any, tmp_path: Path,
    seed_expectations: tuple[list[str], list[str]],
) -> None:
    settings, env, run = crawl_env(database="postgresql")
    assert settings.database_url.startswith("postgresql://")
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "pg": crawl_def("urls", [site.url(p) for p in site.all_pages()]),
    })
    good = [*site.article_paths(), *site.seed_paths()]

    first = run("pg", crawls)
    assert first.returncode == 0, first.stderr[-3000:]
    with Archiver.from_settings(settings) as archiver:
        try:
            counts = check_site_capture(archiver, site, seed_expectations)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- crawl log ---\n{first.stderr[-4000:]}") from exc
        originals = {path: rows[0] for path, rows in captures_by_path(archiver, site.origin).items()}
    [(first_id, finished, stored)] = crawls_table(settings.database_url)
    assert finished is not None and stored == counts
    assert {row.crawl_id for row in originals.values()} == {first_id}
    assert stored["captured"] == len(originals) == len(good) and stored["deduplicated"] == 0
    for group in ("errors", "skipped"):
        kinds = {k: v for k, v in stored.items() if k.startswith(group + ".")}
        assert stored[group] == sum(kinds.values()) > 0, stored
    assert stored["errors"] == 4 and stored["skipped"] == 2, stored  # the six bad pages, once each

    second = run("pg", crawls)
    assert second.returncode == 0, second.stderr[-3000:]
    runs = crawls_table(settings.database_url)
    assert len(runs) == 2 and runs[0][0] == first_id, "a finished crawl starts a new run"
    second_id, finished, again = runs[1]
    assert finished is not None and again["finish_reason"] == "finished"
    assert again["captured"] == 0 and again["deduplicated"] == len(good), again
    assert again["errors"] == stored["errors"] and again["skipped"] == stored["skipped"], again
    with Archiver.from_settings(settings) as archiver:
        found = captures_by_path(archiver, site.origin)
        for path in good:
            first_row, original = sorted(found[path], key=lambda r: r.captured_at)[0], originals[path]
            assert first_row.id == original.id
            [revisit] = [r for r in found[path] if r.id != original.id]
            assert revisit.revisit and revisit.revisit_of == original.id and revisit.crawl_id == second_id
            assert revisit.article_key == original.article_key, f"{path}: article stored twice"
            contents = read_warc(archiver.read_warc(revisit.id))
            assert contents.revisit and contents.body == b"", f"{path}: a second body was stored"
            assert archiver.read_raw(revisit.id)[2] == archiver.read_raw(original.id)[2]
        assert sum(len(rows) for rows in found.values()) == 2 * len(good)

    verify = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "verify", "--quiet"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-3000:]
    assert f"verified {2 * len(good)} captures: {2 * len(good)} ok, 0 with problems" in verify.stdout
