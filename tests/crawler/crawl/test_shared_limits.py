"""A shared run's limits hold for the run, not per process: three processes crawling one run with
``max_pages`` capture exactly ``max_pages`` pages between them, and every one of them ends as a
finished run (exit 0), none as "interrupted (max_pages)"."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from crawler.catalogue import open_catalogue
from crawler.config import Settings
from crawler.crawl.frontier import SharedRun
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.settings import settings_env
from tests.kit.site import SiteServer

MAX_PAGES = 40
DENY = ["/slow", "/huge", "/error500", "/loop/", "/download/", "/private/", "/seed/"]


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SiteServer]:
    server = SiteServer(None, extra_articles=80, page_delay=1.0).start()
    yield server
    server.stop()


def test_three_processes_capture_exactly_max_pages_and_all_finish(
    slow_site: SiteServer, settings: Callable[..., Settings], redis_server: str, tmp_path: Path
) -> None:
    redis_url = redis_server.rsplit("/", 1)[0] + "/8"
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    s = settings(database="postgresql", redis_url=redis_url)
    values = crawl_def("site", [slow_site.url("/")], concurrency=4, render="never",
                       max_pages=MAX_PAGES, article_patterns=["/more/"], deny_patterns=DENY)
    values["scrapy"]["DECLUTTER_WORKER_TTL"] = 3
    crawls = write_crawls(tmp_path / "crawls.toml", {"news": values})
    env = {**settings_env(s), "DECLUTTER_REDIS_URL": redis_url}

    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "crawler.cli", *args, "--file", str(crawls)],
                                env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    processes = [start("crawl", "news")]
    try:
        deadline = time.monotonic() + 30
        while client.get("declutter:{news}:run") is None:
            assert processes[0].poll() is None, processes[0].communicate()[0][-3000:]
            assert time.monotonic() < deadline, "the run never opened"
            time.sleep(0.05)
        run_id = client.get("declutter:{news}:run").decode()
        processes += [start("worker", "--crawl", "news") for _ in range(2)]
        outputs = [p.communicate(timeout=120)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.communicate()
    catalogue = open_catalogue(s)
    try:
        captured = catalogue.count_captures()
        crawl_rows = catalogue.list_crawls()
    finally:
        catalogue.close()
    run = SharedRun(client, "news", run_id, worker="observer")
    per_worker = {k.decode(): json.loads(v) for k, v in client.hgetall(run.key("counts")).items()}
    client.close()
    logs = "\n".join(f"--- exit {p.returncode}\n{out[-1500:]}" for p, out in zip(processes, outputs, strict=True))
    assert [p.returncode for p in processes] == [0, 0, 0], logs
    assert not any("interrupted" in out for out in outputs), logs
    assert captured == MAX_PAGES, f"{captured} captures for max_pages = {MAX_PAGES}\n{logs}"
    assert len(crawl_rows) == 1 and crawl_rows[0].finished_at is not None, crawl_rows
    assert crawl_rows[0].counts["captured"] == MAX_PAGES, crawl_rows[0].counts
    working = [w for w, c in per_worker.items() if c.get("captured", 0) > 0]
    assert len(working) >= 2, f"the limit must be shared to be tested: {per_worker}"
