"""``urls``: capture a given list of pages (``seeds`` and/or ``seeds_file``)."""

from __future__ import annotations

from crawler.crawl.spiders.base import ArchiveSpider


class UrlsSpider(ArchiveSpider):
    name = "urls"
