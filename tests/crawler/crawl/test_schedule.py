"""The scheduler: cron timing, coalesced missed fires, and real runs that never overlap."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.catalogue import open_catalogue
from crawler.crawl.definitions import CrawlDef, CrawlJob
from crawler.crawl.schedule import Scheduler, ScheduleState, is_due, previous_fire
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.site import SiteServer


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, second, tzinfo=UTC)


HOURLY = CrawlDef(name="h", spider="urls", seeds=("http://127.0.0.1/",), schedule="0 * * * *")


def test_previous_fire_includes_the_current_instant() -> None:
    assert previous_fire("0 * * * *", at(13, 0)) == at(13, 0)
    assert previous_fire("0 * * * *", at(13, 59, 59)) == at(13, 0)
    assert previous_fire("* * * * * */5", at(13, 0, 7)) == at(13, 0, 5)


def test_a_missed_schedule_runs_once_after_downtime() -> None:
    # down from 10:30 to 13:30: three fires missed, one run due, consumed by starting it
    assert is_due(HOURLY, at(10), at(13, 30)) == at(13)
    assert is_due(HOURLY, at(13), at(13, 45)) is None
    assert is_due(HOURLY, at(13), at(14, 0, 1)) == at(14)


def test_never_run_crawls_are_due_and_disabled_or_unscheduled_ones_never() -> None:
    assert is_due(HOURLY, None, at(9, 10)) == at(9)
    disabled = CrawlDef(**{**HOURLY.__dict__, "enabled": False})
    by_hand = CrawlDef(**{**HOURLY.__dict__, "schedule": None})
    assert is_due(disabled, None, at(9)) is None and is_due(by_hand, None, at(9)) is None


def test_schedule_state_survives_a_restart(tmp_path: Path) -> None:
    state = ScheduleState(tmp_path / "schedule.json")
    state.started("h", at(13), at(13, 0, 2))
    assert ScheduleState(tmp_path / "schedule.json").last_fire("h") == at(13)
    (tmp_path / "bad.json").write_text("{not json")
    assert ScheduleState(tmp_path / "bad.json").last_fire("h") is None


@pytest.fixture(scope="module")
def paced_site() -> Iterator[SiteServer]:
    server = SiteServer(None, extra_articles=4, page_delay=1.2).start()
    yield server
    server.stop()


def test_scheduler_fires_every_few_seconds_without_overlapping_runs(
    paced_site: SiteServer, crawl_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, env, _ = crawl_env()
    for key in [k for k in os.environ if k.startswith("DECLUTTER_") and k not in env]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    crawls = write_crawls(tmp_path / "crawls.toml", {
        # fires every 2 s; one run takes longer (4 pages of 1.2 s, one at a time)
        "tick": crawl_def("urls", [paced_site.url(f"/more/{n}.html") for n in range(4)],
                          schedule="* * * * * */2", concurrency=1),
        "off": crawl_def("urls", [paced_site.url("/more/0.html")], schedule="* * * * * *",
                         enabled=False),
    })
    out = io.StringIO()
    scheduler = Scheduler(settings, crawls, out=out)
    # a run started by hand holds the crawl's lock: the scheduler must wait for it
    with CrawlJob(settings.data_dir, "tick").locked():
        assert scheduler.tick() == []
    started: list[str] = []
    overlap = False
    deadline = time.monotonic() + 24
    while time.monotonic() < deadline:
        started += scheduler.tick()
        overlap |= len([p for p in scheduler.running.values() if p.poll() is None]) > 1
        if started.count("tick") >= 2 and not scheduler.running:
            break
        time.sleep(0.2)
    scheduler.shutdown()
    log = out.getvalue()
    assert started.count("tick") >= 2, log
    assert "off" not in started and not overlap
    with open_catalogue(settings) as catalogue:
        runs = sorted(
            (r for r in catalogue.list_crawls() if r.name == "tick"), key=lambda r: r.started_at
        )
    assert len(runs) >= 2, log
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.finished_at is not None, log
        assert later.started_at >= earlier.finished_at, "two runs of one crawl overlapped"
        # a run lasts > 4 s while the schedule fires every 2 s: the fires in between coalesced
        assert later.started_at - earlier.started_at < timedelta(seconds=20)
    assert runs[0].counts["captured"] == 4
    assert "crawl tick finished" in log
