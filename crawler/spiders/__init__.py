"""The crawl spiders; each finds pages its own way and hands them to the same capture pipeline."""

from __future__ import annotations

import importlib

from crawler.spiders.base import ArchiveSpider

_MODULES = {
    "urls": "crawler.spiders.urls:UrlsSpider",
    "sitemap": "crawler.spiders.sitemap:SitemapSpider",
    "feed": "crawler.spiders.feed:FeedSpider",
    "site": "crawler.spiders.site:SiteSpider",
    "wayback": "crawler.spiders.wayback:WaybackSpider",
}


def spider_class(name: str) -> type[ArchiveSpider]:
    module, _, attr = _MODULES[name].partition(":")
    return getattr(importlib.import_module(module), attr)
