"""Acceptance: two `declutter worker` processes and the scheduler crawl one site through a shared
Redis frontier into PostgreSQL and SeaweedFS; one worker is SIGKILLed mid-crawl, the crawl still
completes, every page is captured exactly once, and the site never sees more requests at once
than the crawl's per-host limit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import web

from crawler.catalogue import open_catalogue
from crawler.config import Settings
from crawler.crawl.frontier import ACTIVE_KEY, SharedRun
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.settings import settings_env
from tests.kit.site import SiteServer

PAGES = 40
DENY = ["/slow", "/huge", "/error500", "/loop/", "/download/", "/private/", "/seed/"]


PER_HOST = 6


class BusySite(SiteServer):
    """The test site, also noting the most requests it ever had in progress at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.active = 0
        self.most_active = 0

    @web.middleware
    async def track(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            return await handler(request)
        finally:
            self.active -= 1

    def app(self) -> web.Application:
        app = super().app()
        app.middlewares.append(self.track)
        return app


@pytest.fixture(scope="module")
def slow_site() -> Iterator[BusySite]:
    server = BusySite(None, extra_articles=PAGES, page_delay=1.0).start()
    yield server
    server.stop()


def shared_crawl(site: SiteServer, **scrapy: Any) -> dict[str, Any]:
    """The test site's articles, plain fetches, a dead worker noticed within 2 s."""
    values = crawl_def("site", [site.url("/")], concurrency=PER_HOST, render="never",
                       article_patterns=["/articles/", "/more/"], deny_patterns=DENY)
    values["scrapy"].update({"DECLUTTER_WORKER_TTL": 2, **scrapy})
    return values


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def start(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "crawler.cli", *args], env=env, cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(check: Callable[[], Any], what: str, timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in logs)
    pytest.fail(f"timed out waiting for {what}\n{tails}")


def test_two_workers_and_the_scheduler_capture_every_page_once_despite_a_sigkill(
    slow_site: BusySite,
    settings: Callable[..., Settings],
    redis_server: str,
    tmp_path: Path,
) -> None:
    redis_url = redis_server.rsplit("/", 1)[0] + "/6"
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    s = settings(database="postgresql", redis_url=redis_url)
    crawls = write_crawls(tmp_path / "crawls.toml", {
        "news": {**shared_crawl(slow_site), "schedule": "0 0 1 1 *"},
    })
    env = {**settings_env(s), "DECLUTTER_REDIS_URL": redis_url}
    expected = slow_site.article_paths()
    logs = [tmp_path / name for name in ("scheduler.log", "worker1.log", "worker2.log")]
    scheduler = start(["schedule", "--file", str(crawls), "--tick", "0.3"], env, tmp_path, logs[0])
    workers = [start(["worker", "--file", str(crawls), "--poll", "0.3"], env, tmp_path, log)
               for log in logs[1:]]
    catalogue = open_catalogue(s)
    try:
        run_id = wait_for(lambda: client.get("declutter:{news}:run"), "the run to open", 30, logs)
        run = SharedRun(client, "news", run_id.decode(), worker="observer")
        host = socket.gethostname()

        def victim_busy() -> str | None:
            kids = children(workers[0].pid)
            if not kids or catalogue.count_captures() < 4:
                return None
            name = f"{host}:{kids[0]}"
            return name if client.hlen(run.key("inflight", name)) > 0 else None

        victim = wait_for(victim_busy, "worker 1 to hold pages in flight", 40, logs)
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        before = catalogue.count_captures()
        assert before < len(expected), f"killed too late to matter ({before} captured)"

        def finished() -> bool:
            rows = catalogue.list_crawls()
            return bool(rows) and rows[0].finished_at is not None

        wait_for(finished, "the crawl to finish", 60, logs)
        wait_for(lambda: b"crawl news finished" in logs[0].read_bytes(),
                 "the scheduler's crawl process to end", 20, logs)
        rows, _ = catalogue.list_captures(limit=500)
        crawl_rows = catalogue.list_crawls()
        per_worker = {k.decode(): json.loads(v) for k, v in client.hgetall(run.key("counts")).items()}
    finally:
        for process in [scheduler, *workers]:
            stop(process)
        catalogue.close()
    per_url = Counter(row.url[len(slow_site.origin):] for row in rows)
    assert per_url == Counter({path: 1 for path in expected}), per_url
    assert len(crawl_rows) == 1, "workers join one run; nobody starts another"
    counts = crawl_rows[0].counts
    assert counts["captured"] == len(expected) and counts["deduplicated"] == 0, counts
    assert counts["requeued"] >= 1, f"the killed worker's in-flight pages were not requeued: {counts}"
    assert victim not in per_worker or per_worker[victim]["captured"] < len(expected)
    survivors = [w for w, c in per_worker.items() if w != victim and c["captured"] > 0]
    assert len(survivors) >= 2, f"the scheduler's crawl and worker 2 both did work: {per_worker}"
    assert client.get("declutter:{news}:run") is None and not client.sismember(ACTIVE_KEY, "news")
    assert 2 < slow_site.most_active <= PER_HOST, (
        f"{slow_site.most_active} requests at once: the per-host limit holds across workers")
    client.close()
