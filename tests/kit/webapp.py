"""What the web app's browser tests share: the pages they archive, the archive they build, and
the checks they make of a page (its text, its accessibility)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.async_api import Page

from tests.kit.paths import ROOT
from tests.kit.settings import settings_for
from tests.kit.text import collapse

ARTIFACTS = ROOT / "artifacts" / "webapp"

PARAGRAPHS_V1 = [
    "The harbour authority met on Monday to decide the future of the old pier, which has stood "
    "since 1904 and was closed last winter after storms cracked two of its supports.",
    "Engineers told the board that repairs would take eighteen months and cost more than the "
    "town spends on roads in a year, but that the structure could be saved.",
    "The mayor said the council remained cautious about the cost and would ask residents before "
    "committing any money, adding that the pier is part of the town's identity.",
    "Fishermen who moor beside the pier said the closure had already pushed them to the far "
    "quay, where the water is shallower and the walk to the market is longer.",
    "A public meeting is planned for next month, when the engineers will present three options "
    "ranging from a full restoration to a shorter pier built on new piles.",
]
PARAGRAPHS_V2 = [
    PARAGRAPHS_V1[0],
    PARAGRAPHS_V1[1],
    "The mayor said the council was now confident about the cost and would ask residents before "
    "committing any money, adding that the pier is part of the town's identity.",
    PARAGRAPHS_V1[3],
    PARAGRAPHS_V1[4],
    "The harbour master resigned on Tuesday evening, citing the delays.",
]
SCRIPT_TITLE = "Tides at the north quay"



def article_page(title: str, paragraphs: list[str], extra: str = "") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<main><article><h1>{title}</h1><p class="byline">By Ada Marsh</p>{body}</article></main>
<footer>Harbour Gazette</footer>{extra}</body></html>"""


# Every way a script could show it ran: the title, a message to the framing page, a DOM mark.
TELLTALE_SCRIPT = """<script>
document.title = "SCRIPT RAN";
try { parent.postMessage("script-ran", "*"); } catch (e) {}
try { top.postMessage("script-ran", "*"); } catch (e) {}
document.documentElement.setAttribute("data-script-ran", "yes");
</script>"""


@dataclasses.dataclass
class Archive:
    url: str
    token: str
    app: web.Application
    settings: Any
    origin: str
    seed_id: str  # "" when ../shared is absent
    reader_id: str  # the seed article, else the edited page's newest capture
    reader_title: str
    edited_url: str
    edited_ids: tuple[str, str]
    script_id: str
    script_page: str
    finished_crawl: str
    live_crawl: str


def capture_of(url: str, html: str, when: datetime | None = None, crawl_id: str | None = None) -> Any:
    from crawler.snapshot.capture import Capture

    capture = Capture(
        url=url,
        status=200,
        body=html.encode("utf-8"),
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        request_headers=[("User-Agent", "declutter-tests")],
        reason="OK",
        crawl_id=crawl_id,
    )
    if when is not None:
        capture.captured_at = when
    return capture


async def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core violations on the page, as readable lines."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]


async def text_of(page: Page, selector: str) -> str:
    return collapse(await page.locator(selector).first.inner_text())


def webapp_settings(s3_server: Any, data_dir: Path, **overrides: Any) -> Any:
    return settings_for(
        s3_server, data_dir, **{"rate_limit": 0, "crawls_file": data_dir / "crawls.toml", **overrides}
    )
