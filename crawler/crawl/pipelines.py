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
from crawler.crawl.spiders.base import count

log = logging.getLogger(__name__)

# _archive found the page already in the catalogue for this run (captured just before a kill,
# its journal line lost): counted as the capture it is, not archived again.
RECOVERED = object()


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
    recorded) or ``unchanged`` (a revisit, or new bytes with the same text). An archive failure is counted and logged; the page stays unjournaled, so the
    next run of the crawl tries it again.
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
            count(self.stats, "errors/archive")
            count(self.stats, "pages_failed_archive")
            log.error("could not archive %s: %s", item.capture.url, exc, exc_info=True)
            return item
        if result is None:
            context.job.give_back_page()
            count(self.stats, "skipped/resumed")
            return item
        if result is RECOVERED:
            return item
        count(self.stats, "deduplicated" if result.revisit else "captured")
        count(self.stats, outcome(first=result.first, changed=result.change is not None))
        if item.rendered:
            count(self.stats, "rendered")
        if not result.article.text.strip():
            count(self.stats, "no_article")
            log.warning("no article in %s (captured anyway)", item.capture.url)
        return item

    def _archive(self, context: CrawlContext, item: PageCapture) -> Any:
        if context.resumed:
            # The journal write may have been lost with the killed process; the catalogue knows.
            row = context.catalogue.latest_capture(item.capture.url)
            if row is not None and row.crawl_id == context.crawl_id and row.url == item.capture.url:
                context.job.record(item.keys, row.id, revisit=row.revisit, rendered=row.rendered,
                                   no_article=not row.word_count)
                count(self.stats, "deduplicated" if row.revisit else "captured")
                count(self.stats, recovered_outcome(context, row))
                if row.rendered:
                    count(self.stats, "rendered")
                if not row.word_count:
                    count(self.stats, "no_article")
                return RECOVERED
        result = context.archiver.archive(item.capture)
        context.job.record(
            item.keys, result.capture_id, revisit=result.revisit, rendered=item.rendered,
            no_article=not result.article.text.strip(),
        )
        return result
