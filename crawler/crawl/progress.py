"""The live progress line of a crawl and its counts in the catalogue's crawls table."""

from __future__ import annotations

import sys
import time
from typing import Any, Self, TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet import task, threads

from crawler.crawl.ledger import flatten
from crawler.crawl.spiders.base import SAMPLES, STAT

HEADLINE = ("pages", "captured", "deduplicated", "rendered", "render_failed", "no_article", "errors",
            "skipped")
# What a reader asks of a run: of the pages archived (checked), how many were new, changed, the same.
OUTCOMES = ("new", "changed", "unchanged")


def crawl_counts(stats: dict[str, Any], base: dict[str, int] | None = None) -> dict[str, int]:
    """Flat counts from Scrapy stats: the headline numbers plus ``errors.KIND``/``skipped.KIND``."""
    counts = {key: 0 for key in (*HEADLINE, *OUTCOMES)}
    ours = {key[len(STAT):]: value for key, value in stats.items()
            if key.startswith(STAT) and isinstance(value, int)}
    for name, value in flatten(ours).items():
        if name in counts or name.startswith(("errors.", "skipped.")):
            counts[name] = counts.get(name, 0) + value
    counts["browsers_started"] = int(stats.get("playwright/browser_count", 0))
    for key, value in (base or {}).items():
        counts[key] = counts.get(key, 0) + int(value)
    return counts


def sample_urls(stats: dict[str, Any]) -> dict[str, list[str]]:
    """The first addresses behind each skip reason, ``{"skipped.binary": [url, ...]}``, kept in
    the run's counts as ``urls`` so the crawls page can say which pages were skipped."""
    found = {}
    for key, value in stats.items():
        if key.startswith(SAMPLES) and isinstance(value, list):
            found[key[len(SAMPLES):].replace("/", ".", 1)] = [str(url) for url in value]
    return found


def checked_line(counts: dict[str, int]) -> str:
    """``5 checked: 0 new, 0 changed, 5 unchanged``: what the run found, not how it was stored."""
    new, changed, unchanged = (counts.get(key, 0) for key in OUTCOMES)
    return f"{new + changed + unchanged} checked: {new} new, {changed} changed, {unchanged} unchanged"


def progress_line(counts: dict[str, int], elapsed: float) -> str:
    rate = counts["pages"] / elapsed if elapsed > 0 else 0.0
    return (
        f"pages {counts['pages']} ({rate:.1f}/s) | {checked_line(counts)} | "
        f"rendered {counts['rendered']} | no article {counts['no_article']} | "
        f"errors {counts['errors']} | skipped {counts['skipped']}"
    )


class CrawlProgress:
    """Every second: the progress line. Every few seconds: counts to the catalogue and the job
    directory, so an interrupted run's numbers survive and a dashboard sees a crawl advance."""

    def __init__(self, crawler: Crawler, stream: TextIO | None = None) -> None:
        self.crawler = crawler
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.interval = crawler.settings.getfloat("DECLUTTER_PROGRESS_INTERVAL", 1.0)
        self.save_every = crawler.settings.getfloat("DECLUTTER_SAVE_INTERVAL", 5.0)
        self.started = time.monotonic()
        self.last_save = 0.0
        self.last_print = 0.0
        self.loop: task.LoopingCall | None = None
        self.saving = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def counts(self) -> dict[str, int]:
        context = self.crawler.spider.context
        return crawl_counts(self.crawler.stats.get_stats(), context.base_counts)

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(self.interval, now=False)

    def tick(self) -> None:
        now = time.monotonic()
        counts = self.counts()
        line = progress_line(counts, now - self.started)
        if self.live:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
        elif now - self.last_print >= 5:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last_print = now
        if now - self.last_save >= self.save_every and not self.saving:
            self.last_save = now
            self.saving = True
            d = threads.deferToThread(self.save, counts)
            d.addBoth(self._saved)

    def _saved(self, result: Any) -> None:
        self.saving = False

    def save(self, counts: dict[str, int]) -> None:
        context = self.crawler.spider.context
        context.job.save_counts(counts)
        urls = sample_urls(self.crawler.stats.get_stats())
        context.catalogue.update_crawl(context.crawl_id, {**context.job.totals(counts), "urls": urls})

    def spider_closed(self, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()
