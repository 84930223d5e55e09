"""The crawl spiders; each finds pages its own way and hands them to the same capture pipeline."""

from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, Any

from crawler.crawl.spiders.base import ArchiveSpider

if TYPE_CHECKING:
    from crawler.crawl.definitions import CrawlContext

_MODULES = {
    "urls": "crawler.crawl.spiders.urls:UrlsSpider",
    "sitemap": "crawler.crawl.spiders.sitemap:SitemapSpider",
    "feed": "crawler.crawl.spiders.feed:FeedSpider",
    "site": "crawler.crawl.spiders.site:SiteSpider",
    "wayback": "crawler.crawl.spiders.wayback:WaybackSpider",
}


def spider_class(name: str) -> type[ArchiveSpider]:
    module, _, attr = _MODULES[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def run_spider(
    scrapy_values: dict[str, Any], spider: str, context: CrawlContext
) -> tuple[dict[str, Any], float]:
    """Run one crawl's spider to its end in this process: (Scrapy's stats, seconds taken).

    A single run and a worker of a shared run start Scrapy the same way; only their settings differ.
    """
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(scrapy_values)
    crawler = process.create_crawler(spider_class(spider))
    started = time.monotonic()
    process.crawl(crawler, context=context)
    process.start()
    return crawler.stats.get_stats(), time.monotonic() - started
