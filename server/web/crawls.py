"""The crawls page: runs with their counts, the schedule from crawls.toml, and the live counts poll.

A run's state is read from the catalogue, then checked against its job directory on this machine:
a run whose process is gone is "stopped", not "running" forever.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from croniter import croniter

from crawler.catalogue import CrawlRow
from crawler.config import Settings
from crawler.crawl.definitions import CrawlJob, load_crawls
from crawler.crawl.progress import OUTCOMES, checked_line
from server.state import SETTINGS
from server.web import views
from server.web.pages import catalogue_of, from_catalogue, page, render

# The crawler's headline counts (crawler.crawl.progress.HEADLINE) with the words the page uses.
COUNT_LABELS = [
    ("pages", "Fetched"),
    ("captured", "Stored whole"),
    ("deduplicated", "Revisits"),
    ("rendered", "Rendered"),
    ("no_article", "No article"),
    ("errors", "Errors"),
    ("skipped", "Skipped"),
]
LIVE_URL = "/web/crawls/live.json"


def schedule(settings: Settings) -> list[dict[str, Any]]:
    """The crawls in crawls.toml with their next run (empty when there is no such file)."""
    try:
        if not Path(settings.crawls_file).exists():
            return []
        definitions = load_crawls(Path(settings.crawls_file))
    except Exception:  # a broken crawls.toml is reported by the scheduler, not by every page
        return []
    now = datetime.now(UTC)
    entries = []
    for name, definition in sorted(definitions.items()):
        at = None
        if definition.schedule and definition.enabled:
            at = croniter(definition.schedule, now).get_next(datetime)
        entries.append(
            {
                "name": name,
                "enabled": definition.enabled,
                "when": definition.schedule or "by hand",
                "at_iso": at.isoformat() if at else "",
                "at_label": views.time_label(at),
            }
        )
    return entries


def run_state(settings: Settings, run: CrawlRow) -> str:
    if run.finished_at:
        return "finished"
    try:
        job = CrawlJob(settings.data_dir, run.name)
        # A crawl run on another machine leaves no job directory here: trust the catalogue.
        if job.dir.exists() and not job.is_running():
            return "stopped"
    except OSError:
        pass
    return "running"


def _by_kind(numbers: dict[str, int], prefix: str) -> list[tuple[str, int]]:
    """``errors.timeout``-style counts as (kind, count), the largest first."""
    found = ((key.split(".", 1)[1], value) for key, value in numbers.items() if key.startswith(prefix))
    return sorted(found, key=lambda item: -item[1])


def _with_urls(kinds: list[tuple[str, int]], prefix: str, counts: dict[str, Any]) -> list[tuple[str, int, list[str]]]:
    """Each kind with the first pages behind it, as the crawl kept them (``urls`` in its counts)."""
    urls = counts.get("urls") if isinstance(counts.get("urls"), dict) else {}
    return [(kind, n, [str(u) for u in urls.get(prefix + kind, [])]) for kind, n in kinds]


def _duration(started: datetime | None, finished: datetime | None) -> str:
    if not (started and finished):
        return ""
    seconds = int((finished - started).total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 60} min {seconds % 60} s"


def run_view(settings: Settings, run: CrawlRow) -> dict[str, Any]:
    counts = run.counts or {}
    numbers = {k: int(v) for k, v in counts.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    started = views.as_datetime(run.started_at)
    finished = views.as_datetime(run.finished_at)
    return {
        "id": str(run.id),
        "name": run.name or "",
        "state": run_state(settings, run),
        "counts": {key: numbers.get(key, 0) for key, _ in COUNT_LABELS},
        "headline": [(key, label, numbers.get(key, 0)) for key, label in COUNT_LABELS],
        "checked": checked_line(numbers) if any(k in numbers for k in OUTCOMES) else "",
        "errors": _by_kind(numbers, "errors."),
        "skipped": _with_urls(_by_kind(numbers, "skipped."), "skipped.", counts),
        "started_iso": started.isoformat() if started else "",
        "started_label": views.time_label(started),
        "finished_iso": finished.isoformat() if finished else "",
        "finished_label": views.time_label(finished),
        "duration": _duration(started, finished),
    }


async def crawl_runs(request: web.Request) -> list[dict[str, Any]]:
    settings = request.app[SETTINGS]
    catalogue = await catalogue_of(request)
    runs = await from_catalogue(request, catalogue.list_crawls)
    return [run_view(settings, run) for run in runs]


@page
async def crawls(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    runs = await crawl_runs(request)
    context = {
        "nav": "crawls",
        "runs": runs,
        "running": any(run["state"] == "running" for run in runs),
        "schedule": schedule(settings),
        "crawls_file": settings.crawls_file,
        "live_url": LIVE_URL,
    }
    return render("crawls.html", request, context)


@page
async def crawls_live(request: web.Request) -> web.Response:
    runs = await crawl_runs(request)
    shown = [
        {"id": run["id"], "state": run["state"], "counts": run["counts"], "checked": run["checked"]}
        for run in runs
        if run["state"] == "running" or run is runs[0]
    ]
    body = {"running": any(run["state"] == "running" for run in runs), "runs": shown}
    return web.json_response(body, headers={"Cache-Control": "no-store"})
