"""Memento (RFC 7089) and a Wayback-style CDX index, so standard archive tools can use Declutter.

A capture's ``/raw`` view is the memento (URI-M); ``/timegate/{URI-R}`` picks the capture nearest
to ``Accept-Datetime`` and redirects to it (the RFC's pattern 2.2: a TimeGate separate from the
original resource); ``/timemap/link/{URI-R}`` lists them all in application/link-format.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from crawler.catalogue import url_key
from server import state
from server.errors import BadRequest, NotFound
from server.params import (
    http_date,
    parse_http_date,
    parse_int,
    parse_time,
    require_url,
    wayback_timestamp,
)

LINK_FORMAT = "application/link-format"
MAX_MEMENTOS = 100_000
CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")


def original_url(request: web.Request, prefix: str) -> str:
    """The URI-R in the path after ``prefix``, query string included, as clients send it.

    Clients send it raw (``/timegate/http://example.com/a?b=1``) or percent-encoded; proxies may
    squeeze ``//`` to ``/``. All three are read as the same URL.
    """
    raw = request.raw_path[len(prefix):]
    if raw.lower().startswith(("http%3a", "https%3a", "http:%2f", "https:%2f")):
        raw = unquote(raw)
    for scheme in ("http:/", "https:/"):
        if raw.startswith(scheme) and not raw.startswith(scheme + "/"):
            raw = scheme + "/" + raw[len(scheme):]
    return require_url(raw, "the original URL in the path")


def _base(request: web.Request) -> str:
    return str(request.url.origin())


def memento_url(request: web.Request, row: Any) -> str:
    return f"{_base(request)}/api/v1/captures/{row.id}/raw"


def timegate_url(request: web.Request, url: str) -> str:
    return f"{_base(request)}/timegate/{url}"


def timemap_url(request: web.Request, url: str) -> str:
    return f"{_base(request)}/timemap/link/{url}"


def memento_headers(request: web.Request, row: Any) -> dict[str, str]:
    """What RFC 7089 section 2.1 asks of a memento: its datetime and its original, TimeGate, TimeMap."""
    return {
        "Memento-Datetime": http_date(row.captured_at),
        "Link": ", ".join(
            [
                f'<{row.url}>; rel="original"',
                f'<{timegate_url(request, row.url)}>; rel="timegate"',
                f'<{timemap_url(request, row.url)}>; rel="timemap"; type="{LINK_FORMAT}"',
            ]
        ),
    }


async def _mementos(request: web.Request, url: str) -> list[Any]:
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()

    def collect() -> list[Any]:
        rows = []
        for row in catalogue.iter_captures(url, batch=1000):
            rows.append(row)
            if len(rows) >= MAX_MEMENTOS:
                break
        return rows

    rows = await backends.call("catalogue", collect)
    if not rows:
        raise NotFound(f"the archive holds no capture of {url}")
    return rows


def _memento_link(request: web.Request, row: Any, rel: str) -> str:
    return f'<{memento_url(request, row)}>; rel="{rel}"; datetime="{http_date(row.captured_at)}"'


def _timemap_link(request: web.Request, url: str, rows: list[Any], rel: str) -> str:
    return (
        f'<{timemap_url(request, url)}>; rel="{rel}"; type="{LINK_FORMAT}"'
        f'; from="{http_date(rows[0].captured_at)}"; until="{http_date(rows[-1].captured_at)}"'
    )


def _rels(index: int, count: int) -> str:
    rels = []
    if index == 0:
        rels.append("first")
    if index == count - 1:
        rels.append("last")
    return " ".join([*rels, "memento"])


async def timemap(request: web.Request) -> web.Response:
    url = original_url(request, "/timemap/link/")
    rows = await _mementos(request, url)
    lines = [
        f'<{url}>; rel="original"',
        _timemap_link(request, url, rows, "self"),
        f'<{timegate_url(request, url)}>; rel="timegate"',
    ]
    lines += [_memento_link(request, row, _rels(i, len(rows))) for i, row in enumerate(rows)]
    return web.Response(text=",\n".join(lines) + "\n", content_type=LINK_FORMAT, charset="utf-8")


def nearest(rows: list[Any], moment: datetime) -> int:
    """Index of the memento closest in time to ``moment``; on a tie, the earlier one."""
    best = 0
    best_gap = abs((rows[0].captured_at - moment).total_seconds())
    for i, row in enumerate(rows[1:], start=1):
        gap = abs((row.captured_at - moment).total_seconds())
        if gap < best_gap:
            best, best_gap = i, gap
    return best


async def timegate(request: web.Request) -> web.Response:
    url = original_url(request, "/timegate/")
    header = request.headers.get("Accept-Datetime")
    moment = parse_http_date(header, "Accept-Datetime") if header else None
    rows = await _mementos(request, url)
    index = len(rows) - 1 if moment is None else nearest(rows, moment)
    chosen = rows[index]
    links = [f'<{url}>; rel="original"', _timemap_link(request, url, rows, "timemap")]
    last = len(rows) - 1
    for i in sorted({0, index - 1, index, index + 1, last} & set(range(len(rows)))):
        rels = [
            rel
            for rel, applies in (
                ("first", i == 0),
                ("prev", i == index - 1),
                ("next", i == index + 1),
                ("last", i == last),
            )
            if applies
        ]
        links.append(_memento_link(request, rows[i], " ".join([*rels, "memento"])))
    return web.Response(
        status=302,
        headers={
            "Location": memento_url(request, chosen),
            "Vary": "accept-datetime",
            "Link": ", ".join(links),
        },
    )


async def cdx(request: web.Request) -> web.Response:
    """Captures of one URL in the Wayback CDX server's shape (``output=json``, ``fl``, ``limit``)."""
    query = request.query
    url = require_url(query.get("url"))
    match_type = query.get("matchType", "exact")
    if match_type != "exact":
        raise BadRequest("only matchType=exact is supported")
    since = parse_time(query.get("from"), "from")
    until = parse_time(query.get("to"), "to", end=True)
    limit = parse_int(query.get("limit"), "limit", default=10_000, low=-10_000, high=10_000)
    fields = _cdx_fields(query.get("fl"))
    output = query.get("output", "")
    if output not in {"", "json", "text"}:
        raise BadRequest("'output' must be json or text (the default)")
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()

    def collect() -> list[Any]:
        return list(catalogue.iter_captures(url, since=since, until=until, batch=1000))

    rows = await backends.call("catalogue", collect)
    if limit > 0:
        rows = rows[:limit]
    elif limit < 0:
        rows = rows[limit:]
    else:
        rows = []
    records = [[_cdx_value(row, name) for name in fields] for row in rows]
    if output == "json":
        body = json.dumps([list(fields), *records] if records else [])
        return web.Response(text=body, content_type="application/json")
    text = "".join(" ".join(record) + "\n" for record in records)
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


def _cdx_fields(fl: str | None) -> tuple[str, ...]:
    if not fl:
        return CDX_FIELDS
    chosen = tuple(name.strip() for name in fl.split(",") if name.strip())
    unknown = [name for name in chosen if name not in CDX_FIELDS]
    if unknown or not chosen:
        raise BadRequest(f"'fl' fields must be among {', '.join(CDX_FIELDS)}; unknown: {unknown}")
    return chosen


def _cdx_value(row: Any, name: str) -> str:
    if name == "urlkey":
        return row.url_key or url_key(row.url)
    if name == "timestamp":
        return wayback_timestamp(row.captured_at)
    if name == "original":
        return row.url
    if name == "mimetype":
        return "warc/revisit" if row.revisit else (row.mime or "unk")
    if name == "statuscode":
        return "-" if row.revisit else str(row.status)
    if name == "digest":
        return _sha1_base32(row.payload_digest)
    return str(row.warc_size)


def _sha1_base32(digest: str) -> str:
    """The digest as CDX tools print it: the base32 part of ``sha1:XXXX``, else as stored."""
    return digest.split(":", 1)[1] if digest.startswith("sha1:") else digest
