"""``site``: follow links inside the crawl's domains up to ``max_depth``; capture article URLs.

Pages whose URL matches ``article_patterns`` (all pages when none are given) are captured; the
others (section fronts, tag pages) are only read for links. ``deny_patterns`` are never visited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor

from crawler.crawl.definitions import CrawlContext
from crawler.crawl.spiders.base import ArchiveSpider


class SiteSpider(ArchiveSpider):
    name = "site"
    follows_links = True

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        self._articles = [re.compile(p) for p in self.crawl.article_patterns]
        self._domains = [d.lower() for d in self.allowed_domains]
        self._links = LinkExtractor(
            deny=list(self.crawl.deny_patterns),
            deny_extensions=None,
            unique=True,
        )

    def in_domains(self, url: str) -> bool:
        # by hostname: LinkExtractor's allow_domains compares host:port and misses ports
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self._domains)

    def is_article(self, url: str) -> bool:
        return not self._articles or any(p.search(url) for p in self._articles)

    def start_pages(self) -> Iterable[scrapy.Request]:
        return [self.page_request(url, capture=self.is_article(url)) for url in self.crawl.all_seeds()]

    def follow(self, response: Response) -> Iterable[scrapy.Request]:
        if not isinstance(response, TextResponse):
            return
        for link in self._links.extract_links(response):
            if self.in_domains(link.url):
                yield self.page_request(link.url, capture=self.is_article(link.url))
