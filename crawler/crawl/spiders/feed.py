"""``feed``: the items of RSS 2.0, RSS 1.0 (RDF) and Atom feeds."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response
from scrapy.selector import Selector

from crawler.crawl.spiders.base import ArchiveSpider, tally

log = logging.getLogger(__name__)


def feed_links(body: bytes, base_url: str) -> list[str]:
    """Item links in document order: RSS <item><link>, Atom <entry><link rel=alternate>."""
    selector = Selector(text=body.decode("utf-8", "replace"), type="xml")
    selector.remove_namespaces()
    links = selector.xpath("//item/link/text()").getall()
    links += selector.xpath("//item[not(link)]/guid[not(@isPermaLink='false')]/text()").getall()
    links += selector.xpath(
        "//entry/link[not(@rel) or @rel='alternate'][not(@type) or contains(@type,'html')]/@href"
    ).getall()
    seen: dict[str, None] = {}
    for link in links:
        link = link.strip()
        if link:
            seen.setdefault(urljoin(base_url, link), None)
    return list(seen)


class FeedSpider(ArchiveSpider):
    name = "feed"

    def start_pages(self) -> Iterable[scrapy.Request]:
        for url in self.crawl.all_seeds():
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.on_error,
                                 meta={"declutter_capture": False})

    def parse_feed(self, response: Response) -> Iterable[Any]:
        try:
            links = feed_links(response.body, response.url)
        except ValueError as exc:
            links = []
            log.warning("ignoring %s: not a feed (%s)", response.url, exc)
        if not links:
            tally(self.crawler.stats, self.context.job, response.url, "errors/bad_feed")
            log.warning("feed %s lists no items", response.url)
        for link in links:
            yield self.page_request(link)
