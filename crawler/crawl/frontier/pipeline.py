"""The shared run's capture pipeline: a page's URLs are claimed in Redis before it is archived."""

from __future__ import annotations

from typing import Any

from crawler.crawl.definitions import CrawlContext
from crawler.crawl.frontier.run import SharedRun
from crawler.crawl.pipelines import CapturePipeline


class SharedCapturePipeline(CapturePipeline):
    """The capture pipeline, claiming a page's URLs in Redis first: two workers that reach one
    page (say, through a redirect and a direct link) archive it once."""

    def _archive(self, context: CrawlContext, item: Any) -> Any:
        run: SharedRun = context.job
        if not run.claim(item.keys):
            return None
        try:
            return super()._archive(context, item)
        except BaseException:
            run.release(item.keys)
            raise
