"""Crawl: Scrapy spiders, middlewares and pipelines that feed pages to the archive, scheduled.

Imports ``archive`` and the stages below it. Each Scrapy component is wired by ``settings``.
"""
