"""`declutter crawl`'s summary says what a reader asks: "3 checked: 0 new, 1 changed, 2 unchanged"
(issue 13, item 6), through the command's entry point against a loopback site whose page changes."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import Archiver
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.origin import PARAGRAPHS, article_html

NOT_HTML = "/news/notes.txt"


class Pages:
    """A loopback site serving ``pages`` (path -> HTML), which a test may edit between crawls."""

    def __init__(self) -> None:
        self.pages = {
            f"/news/{name}": article_html(f"Story {name}", [f"About {name}.", *PARAGRAPHS])
            for name in ("a", "b", "c")
        }
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = pages.get(self.path)
                if self.path == NOT_HTML:
                    body = "a plain text file, skipped as not HTML"
                self.send_response(200 if body else 404)
                kind = "text/plain" if self.path == NOT_HTML else "text/html"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode("utf-8"))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def pages() -> Iterator[Pages]:
    site = Pages()
    yield site
    site.server.shutdown()


def summary_line(stdout: str) -> str:
    return next((line.strip() for line in stdout.splitlines() if " checked: " in line), stdout)


def test_the_summary_counts_new_changed_and_unchanged_pages(
    pages: Pages, crawl_env: Any, tmp_path: Path
) -> None:
    settings, _, run = crawl_env()
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "news": crawl_def(
            "urls", [pages.origin + path for path in [*sorted(pages.pages), NOT_HTML]], render="never"
        ),
    })
    first = run("news", crawls)
    assert first.returncode == 0, first.stderr[-3000:]
    assert summary_line(first.stdout) == "3 checked: 3 new, 0 changed, 0 unchanged", first.stdout
    assert "0 captured" not in first.stdout and "stored whole  3" in first.stdout, first.stdout
    # a skipped page is named under its reason
    assert re.search(rf"not_html +1\n +{re.escape(pages.origin + NOT_HTML)}\n", first.stdout), first.stdout

    pages.pages["/news/b"] = article_html("Story b", ["About b, corrected.", *PARAGRAPHS[1:]])
    second = run("news", crawls)
    assert second.returncode == 0, second.stderr[-3000:]
    assert summary_line(second.stdout) == "3 checked: 0 new, 1 changed, 2 unchanged", second.stdout
    assert "revisits      2" in second.stdout, second.stdout

    with Archiver.from_settings(settings) as archiver:
        latest = archiver.catalogue.list_crawls()[0]
    assert {k: latest.counts[k] for k in ("new", "changed", "unchanged")} == {
        "new": 0, "changed": 1, "unchanged": 2,
    }
    assert latest.counts["urls"] == {"skipped.not_html": [pages.origin + NOT_HTML]}
