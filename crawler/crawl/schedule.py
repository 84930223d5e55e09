"""The scheduler: start each enabled crawl when its cron schedule fires.

Each run is a separate ``declutter crawl NAME`` process (Twisted's reactor runs once per
process, and a crashing crawl must not take the scheduler down). Rules:

- one run of a crawl at a time: the scheduler tracks its children, and the crawl's own lock in
  ``data/crawls/NAME/lock`` also keeps out runs started by hand, by systemd or by a CronJob;
- fires that pass while a run is going, or while the scheduler is down, are coalesced into one
  run: the state file remembers the last fire time handled, not every fire;
- a crawl that has never run is due at once.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from croniter import croniter

from crawler.config import Settings
from crawler.crawl.definitions import CrawlConfigError, CrawlDef, CrawlJob, load_crawls

log = logging.getLogger(__name__)


def previous_fire(expression: str, now: datetime) -> datetime:
    """The latest time at or before ``now`` that the schedule fired."""
    it = croniter(expression, now)
    fire = it.get_prev(datetime)
    nxt = croniter(expression, fire).get_next(datetime)
    return nxt if nxt <= now else fire


def is_due(crawl: CrawlDef, last_fire: datetime | None, now: datetime) -> datetime | None:
    """The fire time to consume if ``crawl`` should start now, else None."""
    if not crawl.enabled or not crawl.schedule:
        return None
    fire = previous_fire(crawl.schedule, now)
    if last_fire is None or fire > last_fire:
        return fire
    return None


class ScheduleState:
    """``data/schedule.json``: per crawl, the last fire time the scheduler acted on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, dict[str, str]] = {}
        try:
            self.data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            pass
        except ValueError:
            log.warning("ignoring unreadable %s; every crawl counts as never run", path)

    def last_fire(self, name: str) -> datetime | None:
        value = self.data.get(name, {}).get("last_fire")
        return datetime.fromisoformat(value) if value else None

    def started(self, name: str, fire: datetime, now: datetime) -> None:
        self.data[name] = {"last_fire": fire.isoformat(), "last_start": now.isoformat()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def crawl_command(name: str, crawls_file: Path) -> list[str]:
    return [sys.executable, "-m", "crawler.cli", "crawl", name, "--file", str(crawls_file)]


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        crawls_file: Path,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        command: Callable[[str, Path], list[str]] = crawl_command,
        out: Any = None,
    ) -> None:
        self.settings = settings
        self.crawls_file = crawls_file.resolve()
        self.clock = clock
        self.command = command
        self.out = out or sys.stdout
        self.state = ScheduleState(settings.data_dir / "schedule.json")
        self.running: dict[str, subprocess.Popen] = {}
        self.crawls: dict[str, CrawlDef] = {}
        self._mtime = -1.0
        self._stop = False

    def say(self, message: str) -> None:
        stamp = self.clock().strftime("%Y-%m-%d %H:%M:%S")
        self.out.write(f"{stamp} {message}\n")
        self.out.flush()

    def reload(self) -> None:
        """Pick up edits to the crawls file; a broken edit keeps the last good definitions."""
        try:
            mtime = self.crawls_file.stat().st_mtime
        except FileNotFoundError:
            mtime = -2.0
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            self.crawls = load_crawls(self.crawls_file)
        except CrawlConfigError as exc:
            self.say(f"keeping the previous crawl definitions: {exc}")

    def reap(self) -> None:
        for name, process in list(self.running.items()):
            code = process.poll()
            if code is not None:
                del self.running[name]
                outcome = {0: "finished", 3: "interrupted (will resume)"}.get(code, f"failed (exit {code})")
                self.say(f"crawl {name} {outcome}")

    def tick(self) -> list[str]:
        """Start every crawl that is due and not running; returns the names started."""
        self.reload()
        self.reap()
        now = self.clock()
        started = []
        for name, crawl in self.crawls.items():
            fire = is_due(crawl, self.state.last_fire(name), now)
            if fire is None or name in self.running:
                continue
            if CrawlJob(self.settings.data_dir, name).is_running():
                continue  # started elsewhere (by hand, systemd); try again at the next fire
            self.state.started(name, fire, now)
            log_path = self.settings.data_dir / "crawls" / name / "last-run.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "wb") as log_file:
                self.running[name] = subprocess.Popen(
                    self.command(name, self.crawls_file),
                    stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
            self.say(f"crawl {name} started (pid {self.running[name].pid}, log {log_path})")
            started.append(name)
        return started

    def run_once(self) -> list[str]:
        started = self.tick()
        while self.running:
            time.sleep(0.2)
            self.reap()
        return started

    def stop(self, *_: Any) -> None:
        self._stop = True

    def run_forever(self, tick: float = 1.0) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.reload()
        self.say(f"scheduler watching {self.crawls_file} ({len(self.crawls)} crawls)")
        try:
            while not self._stop:
                self.tick()
                time.sleep(tick)
        finally:
            self.shutdown()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop running crawls gracefully (SIGTERM: Scrapy finishes in-flight pages; the run
        stays resumable) and wait for them."""
        for process in self.running.values():
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, process in list(self.running.items()):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self.say(f"crawl {name} stopped (exit {process.returncode})")
        self.running.clear()
