"""Crawl definitions (``crawls.toml``) and the per-crawl job directory that makes runs resumable.

A definition is data only: which spider, which seeds, how politely, how far. The job directory
under ``data/crawls/NAME`` holds what must survive a SIGKILL: a lock (one run of a crawl at a
time, whoever starts it), the unfinished run's id and counts, and a journal of captured URLs
written through per capture. Scrapy's own JOBDIR persists its frontier only on a graceful stop, so a
killed crawl restarts from its seeds and the journal (plus the catalogue) keeps it from capturing
anything twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from croniter import croniter

from crawler.crawl.ledger import PAGE_KEYS, PageLedger, capture_keys
from crawler.fetch.guard import AddressGuard

SPIDERS = ("urls", "sitemap", "feed", "site", "wayback")
RENDER_POLICIES = ("auto", "never", "always")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class CrawlConfigError(ValueError):
    """A crawl definition that cannot be used; the message names the file, crawl and field."""


@dataclass(frozen=True)
class WaybackSource:
    """Where archived captures come from: a CDX endpoint and its replay prefix."""

    cdx: str
    replay: str
    url: str
    match: str = "exact"
    since: str = ""
    until: str = ""
    limit: int = 0


@dataclass(frozen=True)
class CrawlDef:
    name: str
    spider: str
    seeds: tuple[str, ...] = ()
    seeds_file: Path | None = None
    schedule: str | None = None
    enabled: bool = True
    render: str = "auto"
    max_pages: int = 0
    max_depth: int = 3
    max_duration: float = 0.0
    allowed_domains: tuple[str, ...] = ()
    # hosts, host:port or networks the address guard lets through although they are private
    allow_hosts: tuple[str, ...] = ()
    article_patterns: tuple[str, ...] = ()
    deny_patterns: tuple[str, ...] = ()
    delay: float = 1.0
    concurrency: int = 2
    timeout: float | None = None
    wayback: WaybackSource | None = None
    scrapy: dict[str, Any] = field(default_factory=dict)

    def all_seeds(self) -> list[str]:
        seeds = list(self.seeds)
        if self.seeds_file is not None:
            try:
                text = self.seeds_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise CrawlConfigError(
                    f"crawl {self.name!r}: cannot read seeds_file {self.seeds_file}: {exc}"
                ) from exc
            seeds += [
                line.strip()
                for line in text.splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
        return seeds

    def domains(self) -> list[str]:
        """Hosts the crawl may visit: the configured ones, else every seed's host."""
        if self.allowed_domains:
            return list(self.allowed_domains)
        urls = self.all_seeds()
        if self.wayback is not None:
            urls = [self.wayback.cdx, self.wayback.replay]
        hosts = {urlsplit(u).hostname for u in urls}
        return sorted(h for h in hosts if h)


def parse_duration(value: Any, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2)]
    raise CrawlConfigError(f"{where}: {value!r} is not a duration (use seconds or '30s', '10m', '2h')")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CrawlConfigError(f"{where}: expected a list of strings")
    return tuple(value)


def _url(value: str, where: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CrawlConfigError(f"{where}: {value!r} is not an http(s) URL")
    return value


def _allow_hosts(value: Any, where: str) -> tuple[str, ...]:
    entries = _strings(value, where)
    for entry in entries:
        try:
            AddressGuard([entry])
        except ValueError as exc:
            raise CrawlConfigError(
                f"{where}: {entry!r} is not a host, host:port, [v6]:port or network ({exc})"
            ) from exc
    return entries


def parse_crawl(name: str, raw: dict[str, Any], *, base_dir: Path, where: str) -> CrawlDef:
    """One ``[crawls.NAME]`` table to a CrawlDef, with an error naming the bad field."""
    at = f"{where}: crawl {name!r}"
    if not _NAME.match(name):
        raise CrawlConfigError(f"{at}: names use letters, digits, '-', '_', '.' (max 64)")
    data = dict(raw)
    known = {
        "spider", "seeds", "seeds_file", "schedule", "enabled", "render", "max_pages",
        "max_depth", "max_duration", "allowed_domains", "allow_hosts", "article_patterns", "deny_patterns",
        "delay", "concurrency", "timeout", "wayback", "scrapy",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise CrawlConfigError(f"{at}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    spider = data.get("spider")
    if spider not in SPIDERS:
        raise CrawlConfigError(f"{at}: spider must be one of {', '.join(SPIDERS)} (got {spider!r})")
    render = data.get("render", "auto")
    if render not in RENDER_POLICIES:
        raise CrawlConfigError(f"{at}: render must be one of {', '.join(RENDER_POLICIES)}")
    seeds = tuple(_url(s, f"{at}: seeds") for s in _strings(data.get("seeds", []), f"{at}: seeds"))
    seeds_file = data.get("seeds_file")
    if seeds_file is not None:
        if not isinstance(seeds_file, str):
            raise CrawlConfigError(f"{at}: seeds_file must be a path")
        seeds_file = (base_dir / seeds_file).resolve()
    schedule = data.get("schedule")
    if schedule is not None and (not isinstance(schedule, str) or not croniter.is_valid(schedule)):
        raise CrawlConfigError(
            f"{at}: schedule {schedule!r} is not a cron expression "
            "(5 fields, or 6 with seconds last, e.g. '*/15 * * * *')"
        )
    for pattern in (*_strings(data.get("article_patterns", []), at), *_strings(data.get("deny_patterns", []), at)):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise CrawlConfigError(f"{at}: bad regular expression {pattern!r}: {exc}") from exc

    def number(key: str, default: float, kind: type = int) -> Any:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise CrawlConfigError(f"{at}: {key} must be a number >= 0")
        return kind(value)

    wayback = None
    if spider == "wayback":
        wayback = _parse_wayback(data.get("wayback"), at)
        render = "never"
    elif "wayback" in data:
        raise CrawlConfigError(f"{at}: a [wayback] table only goes with spider = 'wayback'")
    elif not seeds and seeds_file is None:
        raise CrawlConfigError(f"{at}: give seeds = [...] or seeds_file = 'path'")
    scrapy = data.get("scrapy", {})
    if not isinstance(scrapy, dict) or not all(k.isupper() for k in scrapy):
        raise CrawlConfigError(f"{at}: [scrapy] holds Scrapy settings in UPPER_CASE")
    timeout = data.get("timeout")
    return CrawlDef(
        name=name,
        spider=spider,
        seeds=seeds,
        seeds_file=seeds_file,
        schedule=schedule,
        enabled=bool(data.get("enabled", True)),
        render=render,
        max_pages=number("max_pages", 0),
        max_depth=number("max_depth", 3),
        max_duration=parse_duration(data.get("max_duration", 0), f"{at}: max_duration"),
        allowed_domains=_strings(data.get("allowed_domains", []), f"{at}: allowed_domains"),
        allow_hosts=_allow_hosts(data.get("allow_hosts", []), f"{at}: allow_hosts"),
        article_patterns=_strings(data.get("article_patterns", []), at),
        deny_patterns=_strings(data.get("deny_patterns", []), at),
        delay=number("delay", 1.0, float),
        concurrency=max(1, number("concurrency", 2)),
        timeout=None if timeout is None else parse_duration(timeout, f"{at}: timeout"),
        wayback=wayback,
        scrapy=scrapy,
    )


def _parse_wayback(raw: Any, at: str) -> WaybackSource:
    if not isinstance(raw, dict):
        raise CrawlConfigError(
            f"{at}: spider 'wayback' needs a [crawls.NAME.wayback] table with url and "
            "either archive (a pywb collection URL) or cdx + replay"
        )
    archive = raw.get("archive")
    cdx = raw.get("cdx") or (f"{archive.rstrip('/')}/cdx" if archive else None)
    replay = raw.get("replay") or archive
    if not cdx or not replay or not raw.get("url"):
        raise CrawlConfigError(f"{at}: wayback needs url and archive (or cdx and replay)")
    match = raw.get("match", "exact")
    if match not in ("exact", "prefix"):
        raise CrawlConfigError(f"{at}: wayback.match must be 'exact' or 'prefix'")
    since, until = (str(raw.get(k, "")) for k in ("from", "to"))
    for value in (since, until):
        if value and not re.fullmatch(r"\d{4,14}", value):
            raise CrawlConfigError(f"{at}: wayback from/to are timestamps like 2024 or 20240131")
    return WaybackSource(
        cdx=_url(cdx, f"{at}: wayback.cdx"),
        replay=_url(replay, f"{at}: wayback.replay").rstrip("/"),
        url=raw["url"],
        match=match,
        since=since,
        until=until,
        limit=int(raw.get("limit", 0)),
    )


def load_crawls(path: Path) -> dict[str, CrawlDef]:
    """Every crawl in a crawls.toml, validated; errors say which file, crawl and field."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise CrawlConfigError(
            f"{path}: no crawls file (set DECLUTTER_CRAWLS_FILE or pass --file)"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CrawlConfigError(f"{path}: not valid TOML: {exc}") from exc
    tables = data.get("crawls", {})
    if not isinstance(tables, dict):
        raise CrawlConfigError(f"{path}: [crawls.NAME] tables expected")
    base = path.resolve().parent
    return {
        name: parse_crawl(name, raw, base_dir=base, where=str(path))
        for name, raw in tables.items()
    }


class CrawlBusy(RuntimeError):
    """Another run of this crawl holds its lock."""


class CrawlJob:
    """``data/crawls/NAME``: the lock, the unfinished run and its journal of captured URLs."""

    def __init__(self, data_dir: Path, name: str) -> None:
        self.dir = data_dir / "crawls" / name
        self.name = name
        self._lock_fh: Any = None
        self._journal: Any = None
        self.captured: dict[str, str] = {}
        self.journal_counts: dict[str, int] = {}
        self.run: dict[str, Any] = {}
        # pages taken against max_pages and not yet journaled (the spider's thread takes them,
        # the archive threads record them)
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._capture_ids: set[str] = set()
        self.ledger = PageLedger()

    @property
    def run_path(self) -> Path:
        return self.dir / "run.json"

    @property
    def journal_path(self) -> Path:
        return self.dir / "journal.jsonl"

    @contextmanager
    def locked(self) -> Iterator[CrawlJob]:
        self.dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.dir / "lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.close()
            raise CrawlBusy(f"crawl {self.name!r} is already running (lock {self.dir / 'lock'})") from exc
        self._lock_fh = fh
        try:
            yield self
        finally:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
            self._lock_fh = None

    def is_running(self) -> bool:
        """True while some process holds this crawl's lock (checked without taking it for long)."""
        if not (self.dir / "lock").exists():
            return False
        with open(self.dir / "lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
        return False

    def unfinished(self) -> dict[str, Any] | None:
        """The run a previous process started and never finished, if any."""
        try:
            return json.loads(self.run_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            return None

    def begin(self, crawl_id: str, counts: dict[str, int] | None = None) -> None:
        self.run = {
            "crawl_id": crawl_id,
            "started_at": datetime.now(UTC).isoformat(),
            "counts": dict(counts or {}),
        }
        self._write_run()

    def resume(self, run: dict[str, Any]) -> None:
        """Take up an unfinished run: its captured URLs, and its exact per-page counts as
        ``journal_counts`` (every page count there, so none comes from the saved counts)."""
        self.run = run
        self.captured = {}
        self.ledger = PageLedger()
        try:
            with open(self.journal_path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue  # the torn last line of a killed run
                    if "capture_id" in entry:
                        for key in entry["keys"]:
                            self.captured[key] = entry["capture_id"]
                        if "count" not in entry:  # journaled before counts were kept per page
                            entry = {**entry, **self.ledger.line(entry["keys"][-1], capture_keys(
                                revisit=bool(entry.get("revisit")), outcome=None,
                                rendered=bool(entry.get("rendered")),
                                no_article=bool(entry.get("no_article"))))}
                            entry["s"] = ""
                    self.ledger.load(entry)
        except FileNotFoundError:
            pass
        self._capture_ids = set(self.captured.values())
        saved = [k for k in run.get("counts", {}) if k.startswith(("errors.", "skipped."))]
        self.journal_counts = {**dict.fromkeys((*PAGE_KEYS, *saved), 0), **self.ledger.totals()}

    def take_page(self, limit: int) -> bool:
        """Whether one more page may be captured under ``limit`` (0: no limit). Pages captured
        (before an interruption too) and pages taken but not yet recorded count against it, so a
        page claimed elsewhere or failed gives its place back (``give_back_page``)."""
        with self._pending_lock:
            if limit and len(self._capture_ids) + self._pending >= limit:
                return False
            self._pending += 1
            return True

    def give_back_page(self) -> None:
        with self._pending_lock:
            self._pending = max(0, self._pending - 1)

    def note(self, url: str, keys: Iterable[str]) -> dict[str, int]:
        """Journal the counts of one page (stat keys) and return what an earlier process of the
        run counted for it, which the caller takes back: each page is counted once per run."""
        self._write(self.ledger.line(url, keys))
        return self.ledger.replace(url)

    def record(self, keys: tuple[str, ...], capture_id: str, *, counted: Iterable[str] = (),
               **flags: bool) -> dict[str, int]:
        """Journal one capture, with its counts (``note``), before the pipeline moves on."""
        self._write({"keys": list(keys), "capture_id": capture_id, **flags,
                     **self.ledger.line(keys[-1], counted)})
        replaced = self.ledger.replace(keys[-1])
        with self._pending_lock:
            for key in keys:
                self.captured[key] = capture_id
            self._capture_ids.add(capture_id)
            self._pending = max(0, self._pending - 1)
        return replaced

    def _write(self, entry: dict[str, Any]) -> None:
        with self._pending_lock:
            if self._journal is None:
                self._journal = open(self.journal_path, "a", encoding="utf-8")
            self._journal.write(json.dumps(entry) + "\n")
            # flushed, not fsync'd: a killed process loses nothing the kernel holds, and after a
            # machine crash the catalogue (checked on resume) knows what the journal lost
            self._journal.flush()

    def save_counts(self, counts: dict[str, int]) -> None:
        self.run["counts"] = dict(counts)
        self._write_run()

    def totals(self, counts: dict[str, int]) -> dict[str, int]:
        """The run's counts: this process's alone (a shared run sums its workers')."""
        return counts

    def finish(self) -> None:
        """A run that ended on its own: the next run starts fresh."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        for path in (self.run_path, self.journal_path):
            path.unlink(missing_ok=True)

    def _write_run(self) -> None:
        tmp = self.run_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.run), encoding="utf-8")
        os.replace(tmp, self.run_path)


@dataclass
class CrawlContext:
    """What one running crawl shares between its spider, middlewares, pipeline and progress."""

    crawl: CrawlDef
    job: CrawlJob
    crawl_id: str
    archiver: Any
    catalogue: Any
    resumed: bool = False
    base_counts: dict[str, int] = field(default_factory=dict)
