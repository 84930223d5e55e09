"""``sitemap``: pages listed in sitemaps, sitemap indexes and news sitemaps.

A seed may be a sitemap, a robots.txt, or a site root (then its robots.txt ``Sitemap:`` lines).
Parsing is Scrapy's own (``scrapy.utils.sitemap``); only the requests are ours, so every page
goes through the shared capture path and its error counting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.crawl.spiders.base import ArchiveSpider, tally

log = logging.getLogger(__name__)


class SitemapSpider(ArchiveSpider):
    name = "sitemap"

    def start_pages(self) -> Iterable[scrapy.Request]:
        for url in self.crawl.all_seeds():
            if urlsplit(url).path in ("", "/"):
                url = urljoin(url, "/robots.txt")
            yield self.sitemap_request(url)

    def sitemap_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_error,
                              meta={"declutter_capture": False})

    def parse_sitemap(self, response: Response) -> Iterable[Any]:
        if urlsplit(response.url).path.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                yield self.sitemap_request(url)
            return
        body = response.body
        if gzip_magic_number(response):
            body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # lxml raises several types for non-XML bodies
            tally(self.crawler.stats, self.context.job, response.url, "errors/bad_sitemap")
            log.warning("ignoring %s: not a sitemap (%s)", response.url, exc)
            return
        if sitemap.type == "sitemapindex":
            for entry in sitemap:
                yield self.sitemap_request(urljoin(response.url, entry["loc"]))
        elif sitemap.type == "urlset":
            for entry in sitemap:
                yield self.page_request(urljoin(response.url, entry["loc"]))
        else:
            tally(self.crawler.stats, self.context.job, response.url, "errors/bad_sitemap")
            log.warning("ignoring %s: root element is %r, not urlset/sitemapindex",
                        response.url, sitemap.type)
