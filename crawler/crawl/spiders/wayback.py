"""``wayback``: bring archived captures from any Wayback-compatible archive into Declutter.

The CDX API lists the captures of a URL (or URL prefix) in a time range; each memento's original
bytes come from the ``id_`` replay form (no rewriting, no banner), and the capture keeps the time
the archive made it, not the time we fetched it. Works with the Internet Archive
(cdx=https://web.archive.org/cdx/search/cdx, replay=https://web.archive.org/web) and with pywb
(archive=http://host:port/COLLECTION).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.crawl.spiders.base import ArchiveSpider, tally

log = logging.getLogger(__name__)


def cdx_query_url(cdx: str, url: str, *, match: str, since: str, until: str, limit: int) -> str:
    params = {"url": url, "output": "json"}
    if match == "prefix":
        params["matchType"] = "prefix"
    if since:
        params["from"] = since
    if until:
        params["to"] = until
    if limit:
        params["limit"] = str(limit)
    return f"{cdx}?{urlencode(params)}"


def parse_cdx(body: bytes) -> Iterator[dict[str, str]]:
    """Rows of either CDX JSON dialect: the Internet Archive's array of arrays (first row is the
    field names) or pywb's one JSON object per line."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return
    if text.startswith("["):
        rows = json.loads(text)
        if not rows:
            return
        names = rows[0]
        for row in rows[1:]:
            yield _normalise(dict(zip(names, row, strict=False)))
        return
    for line in text.splitlines():
        if line.strip():
            yield _normalise(json.loads(line))


def _normalise(row: dict[str, Any]) -> dict[str, str]:
    return {
        "timestamp": str(row.get("timestamp", "")),
        "url": str(row.get("original") or row.get("url") or ""),
        "mime": str(row.get("mimetype") or row.get("mime") or ""),
        "status": str(row.get("statuscode") or row.get("status") or ""),
        "digest": str(row.get("digest", "")),
    }


def parse_timestamp(value: str) -> datetime:
    """A 4-14 digit Wayback timestamp, missing parts taken as their minimum, in UTC."""
    padded = (value + "00000101000000"[len(value):])[:14]
    return datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


class WaybackSpider(ArchiveSpider):
    name = "wayback"

    def start_pages(self) -> Iterable[scrapy.Request]:
        source = self.crawl.wayback
        assert source is not None
        query = cdx_query_url(source.cdx, source.url, match=source.match, since=source.since,
                              until=source.until, limit=source.limit)
        yield scrapy.Request(query, callback=self.parse_cdx, errback=self.on_error,
                             meta={"declutter_capture": False})

    def parse_cdx(self, response: Response) -> Iterable[Any]:
        source = self.crawl.wayback
        assert source is not None
        try:
            rows = list(parse_cdx(response.body))
        except ValueError as exc:
            tally(self.crawler.stats, self.context.job, response.url, "errors/bad_cdx")
            log.error("the CDX answer from %s is not JSON (%s); is cdx= a CDX API URL?", response.url, exc)
            return
        seen: set[tuple[str, str]] = set()
        stats, job = self.crawler.stats, self.context.job
        for row in rows:
            if row["status"] not in ("200", ""):
                tally(stats, job, row["url"], "skipped/not_ok_memento", sample=True)
                continue
            if row["mime"] and "html" not in row["mime"]:
                tally(stats, job, row["url"], "skipped/binary", sample=True)
                continue
            key = (row["url"], row["digest"])
            if row["digest"] and key in seen:
                tally(stats, job, row["url"], "deduplicated")
                continue
            seen.add(key)
            memento = f"{source.replay}/{row['timestamp']}id_/{row['url']}"
            yield self.page_request(
                memento,
                declutter_original_url=row["url"],
                declutter_timestamp=row["timestamp"],
            )

    def capture_overrides(self, response: Response) -> dict[str, Any]:
        meta = response.meta
        return {
            "url": meta["declutter_original_url"],
            "captured_at": parse_timestamp(meta["declutter_timestamp"]),
        }
