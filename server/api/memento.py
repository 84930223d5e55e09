"""Memento (RFC 7089) and a Wayback-style CDX index, so standard archive tools can use Declutter.

A capture's ``/raw`` view is the memento (URI-M); ``/timegate/{URI-R}`` picks the capture nearest
to ``Accept-Datetime`` and redirects to it (the RFC's pattern 2.2: a TimeGate separate from the
original resource); ``/timemap/link/{URI-R}`` lists them all in application/link-format.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from aiohttp import web
from pydantic import Field, field_validator

from crawler.catalogue import MATCH_TYPES, url_key
from server import state
from server.declare import (
    HEADER,
    HttpDate,
    Params,
    Reply,
    Since,
    Until,
    declare,
    original_url_type,
)
from server.errors import NotFound
from server.params import http_date, require_url, wayback_timestamp

LINK_FORMAT = "application/link-format"
MAX_MEMENTOS = 100_000
CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")


def spelled_out(raw: str) -> str:
    """The URI-R from the path's raw tail, query string included, as clients send it.

    Clients send it raw (``/timegate/http://example.com/a?b=1``) or percent-encoded; proxies may
    squeeze ``//`` to ``/``. All three are read as the same URL.
    """
    if raw.lower().startswith(("http%3a", "https%3a", "http:%2f", "https:%2f")):
        raw = unquote(raw)
    for scheme in ("http:/", "https:/"):
        if raw.startswith(scheme) and not raw.startswith(scheme + "/"):
            raw = scheme + "/" + raw[len(scheme):]
    # A unicode host arrives percent-encoded in the request line (b%C3%BCcher.example); read as
    # is, it would be a different host from the bücher.example (xn--bcher-kva) that was captured.
    scheme, sep, rest = raw.partition("://")
    authority, slash, tail = rest.partition("/")
    if sep and "%" in authority:
        raw = f"{scheme}://{unquote(authority)}{slash}{tail}"
    return raw


OriginalUrl = original_url_type(spelled_out)


class TimeMapParams(Params):
    url: OriginalUrl


class TimeGateParams(Params):
    url: OriginalUrl
    accept_datetime: Annotated[HttpDate, HEADER] = Field(None, alias="Accept-Datetime")


class CdxQuery(Params):
    """The Wayback CDX server's parameters that Declutter reads (others are ignored, as there)."""

    url: str = Field(
        min_length=1, max_length=8192,
        description="A URL; example.com/path* means matchType=prefix, *.example.com "
        "matchType=domain; the scheme may be left out.",
    )
    since: Since = Field(None, alias="from")
    until: Until = Field(None, alias="to")
    limit: int = Field(
        10_000, ge=-10_000, le=10_000, description="At most this many rows; negative: the last ones."
    )
    output: Literal["json", "text"] | None = None
    fl: str | None = Field(
        None, description=f"Comma-separated fields: {', '.join(CDX_FIELDS)}",
        examples=["timestamp,original"],
    )
    match_type: Literal[MATCH_TYPES] | None = Field(  # type: ignore[valid-type]
        None, alias="matchType",
        description="exact: this URL; prefix: URLs starting with it; host: every URL on its "
        "host; domain: its host and every subdomain",
    )
    collapse: list[str] = Field(
        default_factory=list,
        description="A field (e.g. urlkey, digest, timestamp:10): drop a row whose field (first N "
        "characters) equals the previous row's; may repeat",
        examples=[["digest"], ["urlkey", "timestamp:8"]],
    )
    sort: Literal["regular", "reverse"] | None = Field(
        None, description="reverse: the listing from its end (newest first)"
    )

    @field_validator("fl")
    @classmethod
    def _known_fields(cls, fl: str | None) -> str | None:
        _cdx_fields(fl)
        return fl

    @field_validator("collapse")
    @classmethod
    def _known_collapses(cls, values: list[str]) -> list[str]:
        for value in values:
            _cdx_collapse(value)
        return values

    def target(self) -> tuple[str, str]:
        return _cdx_target(self.url, self.match_type)

    def fields(self) -> tuple[str, ...]:
        return _cdx_fields(self.fl)

    def collapses(self) -> list[tuple[str, int | None]]:
        return [_cdx_collapse(value) for value in self.collapse]


def _base(request: web.Request) -> str:
    return state.public_base(request)


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


MEMENTO_ERRORS = (400, (404, "No capture of this URL."), 503)


@declare(
    "GET", "/timemap/link/{url:.+}", "timemap", "Memento TimeMap (RFC 7089) of an original URL",
    {200: Reply("TimeMap", media={LINK_FORMAT: {"type": "string"}})},
    params=TimeMapParams,
    errors=MEMENTO_ERRORS,
)
async def timemap(request: web.Request, params: TimeMapParams) -> web.Response:
    url = params.url
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


@declare(
    "GET", "/timegate/{url:.+}", "timegate",
    "Memento TimeGate (RFC 7089): redirect to the capture nearest Accept-Datetime",
    {302: Reply("The chosen memento is in Location; Link lists neighbours.",
                headers=("Location", "Vary", "Link"))},
    params=TimeGateParams,
    errors=MEMENTO_ERRORS,
)
async def timegate(request: web.Request, params: TimeGateParams) -> web.Response:
    url, moment = params.url, params.accept_datetime
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


@declare(
    "GET", "/cdx", "cdx",
    "Captures of a URL, a URL prefix, a host or a domain in the Wayback CDX server's format",
    {200: Reply("One line per capture (or a JSON array of arrays, header first)",
                media={"text/plain": {"type": "string"}, "application/json": {"type": "array"}})},
    params=CdxQuery,
    errors=(503,),
    description="Rows in SURT url_key order, then time. url may be written example.com/path* "
    "(matchType=prefix) or *.example.com (matchType=domain); the scheme may be left out.",
)
async def cdx(request: web.Request, params: CdxQuery) -> web.Response:
    """Captures in the Wayback CDX server's shape: ``matchType``, ``collapse``, ``fl``, ``limit``.

    Rows come in the CDX server's order (SURT url_key, then time) off the catalogue's url_key
    index; ``collapse`` drops a row whose field equals the previous row's, as the CDX server does.
    """
    url, match_type = params.target()
    since, until, limit, sort = params.since, params.until, params.limit, params.sort
    fields, collapses, output = params.fields(), params.collapses(), params.output
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()

    def collect() -> list[Any]:
        # A negative limit means the last rows: without collapse, read them from the far end.
        from_end = limit < 0 and not collapses
        rows: Iterable[Any] = catalogue.iter_by_key(
            url, match=match_type, since=since, until=until, reverse=(sort == "reverse") != from_end
        )
        for name, width in collapses:
            rows = _collapsed(rows, name, width)
        if limit >= 0:
            return list(islice(rows, limit))
        last = list(islice(rows, -limit)) if from_end else list(deque(rows, maxlen=-limit))
        return last[::-1] if from_end else last

    rows = await backends.call("catalogue", collect)
    records = [[_cdx_value(row, name) for name in fields] for row in rows]
    if output == "json":
        body = json.dumps([list(fields), *records] if records else [])
        return web.Response(text=body, content_type="application/json")
    text = "".join(" ".join(record) + "\n" for record in records)
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


def _cdx_target(raw: str | None, match_type: str | None) -> tuple[str, str]:
    """The URL and matchType, reading the CDX shorthands ``*.example.com`` and ``example.com/a*``.

    As at the Wayback CDX server, the scheme may be left out; an explicit matchType wins.
    """
    text = (raw or "").strip()
    implied = "exact"
    if text.startswith("*."):
        text, implied = text[2:], "domain"
    elif text.endswith("*"):
        text, implied = text[:-1], "prefix"
    if text and "://" not in text:
        text = "http://" + text
    url = require_url(text)
    return url, match_type or implied


def _cdx_collapse(value: str) -> tuple[str, int | None]:
    name, _, width = value.partition(":")
    if name not in CDX_FIELDS:
        raise ValueError(
            f"'collapse' must be a field ({', '.join(CDX_FIELDS)}), optionally with :N "
            f"to compare its first N characters, not {value!r}"
        )
    if not width:
        return name, None
    if not width.isdigit() or int(width) < 1:
        raise ValueError(f"'collapse' {value!r}: the part after ':' must be a positive number")
    return name, int(width)


def _collapsed(rows: Iterable[Any], name: str, width: int | None) -> Iterator[Any]:
    """Rows whose ``name`` field (its first ``width`` characters) differs from the previous row's."""
    previous = None
    for row in rows:
        value = _cdx_value(row, name)[:width]
        if value != previous:
            previous = value
            yield row


def _cdx_fields(fl: str | None) -> tuple[str, ...]:
    if not fl:
        return CDX_FIELDS
    chosen = tuple(name.strip() for name in fl.split(",") if name.strip())
    unknown = [name for name in chosen if name not in CDX_FIELDS]
    if unknown or not chosen:
        raise ValueError(f"'fl' fields must be among {', '.join(CDX_FIELDS)}; unknown: {unknown}")
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
        return "-" if row.revisit or not row.status else str(row.status)
    if name == "digest":
        return _sha1_base32(row.payload_digest)
    return str(row.warc_size)


def _sha1_base32(digest: str) -> str:
    """The digest as CDX tools print it: the base32 part of ``sha1:XXXX``, else as stored."""
    return digest.split(":", 1)[1] if digest.startswith("sha1:") else digest
