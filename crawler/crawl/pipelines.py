"""The one capture pipeline: every page a spider keeps goes to ``Archiver.archive`` (WARC to
storage, extraction, one catalogue transaction), off the reactor thread."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

from scrapy.crawler import Crawler

from crawler.crawl.definitions import CrawlContext
from crawler.crawl.items import PageCapture
from crawler.crawl.ledger import capture_keys
from crawler.crawl.spiders.base import count, tally

log = logging.getLogger(__name__)

# What ``_archive`` returns: the page's stat keys, and those an earlier process of the run had
# counted for it (None: another worker holds the page).
Stored = tuple[list[str], dict[str, int]] | None


def outcome(*, first: bool, changed: bool) -> str:
    """The article's side of one archived page: ``new``, ``changed`` or ``unchanged``."""
    if first:
        return "new"
    return "changed" if changed else "unchanged"


def recovered_outcome(context: CrawlContext, row: Any) -> str:
    """``outcome`` of a page archived just before a kill, asked of the catalogue afterwards."""
    catalogue = context.catalogue
    older, _ = catalogue.list_captures(row.url, until=row.captured_at, limit=1, newest_first=True)
    changed = any(change.to_id == row.id for change in catalogue.changes(row.url, limit=10))
    return outcome(first=not older, changed=changed)


class CapturePipeline:
    """Archive each ``PageCapture`` once per run, then journal it so a resumed run skips it.

    A page whose content the archive already holds comes back as a revisit and is counted as
    deduplicated (how it was stored). Each page is also counted by what happened to the article
    (what a reader asks): ``new`` (the first capture of its URL), ``changed`` (a text change was
    recorded) or ``unchanged`` (a revisit, or new bytes with the same text). The counts are
    journaled with the capture, so a resumed run counts the page once (``crawler/crawl/ledger.py``).
    An archive failure is counted and logged; the page stays unjournaled, so the next run of the
    crawl tries it again.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.executor = ThreadPoolExecutor(
            max_workers=crawler.settings.getint("DECLUTTER_ARCHIVE_THREADS", 2),
            thread_name_prefix="archive",
        )
        self.claimed: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def close_spider(self) -> None:
        self.executor.shutdown(wait=True)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageCapture):
            return item
        context: CrawlContext = self.crawler.spider.context
        keys = item.keys
        if any(k in self.claimed or k in context.job.captured for k in keys):
            context.job.give_back_page()
            count(self.stats, "skipped/resumed", url=item.capture.url)
            return item
        self.claimed.update(keys)
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.executor, self._archive, context, item)
        except Exception as exc:  # storage/catalogue trouble must not stop the crawl
            self.claimed.difference_update(keys)
            context.job.give_back_page()
            tally(self.stats, context.job, keys[-1], "errors/archive")
            count(self.stats, "pages_failed_archive")
            log.error("could not archive %s: %s", item.capture.url, exc, exc_info=True)
            return item
        if result is None:
            context.job.give_back_page()
            count(self.stats, "skipped/resumed")
            return item
        counted, replaced = result
        for key, n in replaced.items():  # counted by the process before a kill: now by this one
            count(self.stats, key, -n)
        for key in counted:
            count(self.stats, key)
        return item

    def _archive(self, context: CrawlContext, item: PageCapture) -> Stored:
        """Archive the page and journal it with its counts: (the counts, what an earlier process
        of the run had counted for the page)."""
        if context.resumed:
            # The journal write may have been lost with the killed process; the catalogue knows.
            row = context.catalogue.latest_capture(item.capture.url)
            if row is not None and row.crawl_id == context.crawl_id and row.url == item.capture.url:
                counted = capture_keys(revisit=row.revisit, outcome=recovered_outcome(context, row),
                                       rendered=row.rendered, no_article=not row.word_count)
                replaced = context.job.record(item.keys, row.id, counted=counted,
                                              revisit=row.revisit, rendered=row.rendered,
                                              no_article=not row.word_count)
                return counted, replaced
        result = context.archiver.archive(item.capture)
        no_article = not result.article.text.strip()
        if no_article:
            log.warning("no article in %s (captured anyway)", item.capture.url)
        counted = capture_keys(revisit=result.revisit, rendered=item.rendered, no_article=no_article,
                               outcome=outcome(first=result.first, changed=result.change is not None))
        replaced = context.job.record(item.keys, result.capture_id, counted=counted,
                                      revisit=result.revisit, rendered=item.rendered,
                                      no_article=no_article)
        return counted, replaced
