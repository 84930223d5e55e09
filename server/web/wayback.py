"""The Wayback Machine's addresses in the web app, kept exactly as users (and pywb) write them.

``/web/<url>``                     the URL's history (``example.com/a`` as well: no scheme needed)
``/web/*/<url>``                   the same history
``/web/<timestamp>/<url>``         the capture nearest that time (a short stamp, ``2024``, too;
                                   ``<timestamp>id_`` its bytes as captured, as in pywb)
``/web/<timestamp>*/<url>``        the URL's captures within that time prefix
``/web/<time or *>/<prefix>*``     every URL under a prefix, ``*.example.com`` a domain
``/web/list?url=&site=&from=&to=`` the same listing from a form, or a whole site's URLs

A path starting with 1 to 14 digits and a slash is a timestamp: an address never does (a host has
a dot or is ``localhost``). Without a scheme an address is looked up as ``http://`` (the url key
ignores the scheme, so https captures are found), and shown as its captures spell it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from crawler.catalogue import BadQuery, CaptureRow, Catalogue
from crawler.catalogue.times import BadTime, parse_time
from server.errors import BadRequest, NotFound
from server.web import views
from server.web.history import history_page
from server.web.pages import catalogue_of, from_catalogue, page, render

# A listing walks at most this many captures in address order, in one index scan: 2,000 of a
# 12,000-capture SQLite catalogue read in 70-160 ms (2 busy cores); more asks for a narrower prefix.
LISTING_CAPTURES = 2000
# pywb's modifiers after a timestamp: id_ (the original bytes) opens the raw capture; the others
# (if_ framed, mp_ main page, ...) are accepted and open the capture page.
_STAMP = re.compile(r"^(?P<stamp>\d{1,14}|\*)(?P<mod>[a-z]{2}_)?(?P<star>\*)?/(?P<rest>.*)$")
_SCHEME = re.compile(r"^(https?):/*", re.IGNORECASE)


@dataclass
class Address:
    """What the tail of a ``/web/`` path asks for."""

    url: str  # with a scheme, for the catalogue
    match: str = "exact"  # a crawler.catalogue.MATCH_TYPES value
    stamp: str = ""  # digits, or "" for any time
    stamp_prefix: bool = False  # "2024*": the captures within that prefix, not the nearest
    raw: bool = False  # "id_": the bytes as captured, not the capture page
    scheme_given: bool = True

    @property
    def listing(self) -> bool:
        return self.match != "exact" or self.stamp_prefix


def archived_tail(request: web.Request) -> str:
    """The path after ``/web/``, exactly as given, its own query string included.

    Percent-encoded addresses (``http%3A%2F%2F...``) are decoded; a ``//`` squeezed to ``/`` by a
    proxy is put back.
    """
    tail = request.raw_path.split("?", 1)[0][len("/web/"):]
    if "%" in tail and "://" not in tail:
        tail = unquote(tail)
    if request.query_string:
        tail += "?" + request.query_string
    return tail


def parse_address(text: str) -> Address:
    """An address as the Wayback Machine reads it: ``*.example.com``, ``example.com/news*``, with
    or without a scheme. A BadRequest says what a usable one looks like."""
    url, match = text.strip(), "exact"
    if url.startswith("*."):
        url, match = url[2:], "domain"
    elif url.endswith("*"):
        url, match = url[:-1], "prefix"
    scheme_given = bool(_SCHEME.match(url))
    url = _SCHEME.sub(lambda m: m.group(1).lower() + "://", url) if scheme_given else "http://" + url
    host = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    if not host or " " in host:
        raise BadRequest(
            f"{text!r} is not an address; give one like example.com/a, https://example.com/a, "
            "example.com/news* (every address under it) or *.example.com (a domain)"
        )
    return Address(url, match, scheme_given=scheme_given)


def parse_tail(tail: str) -> Address:
    """``[<timestamp>[*]/ | */]<address>``: see the module's table."""
    found = _STAMP.match(tail)
    if found is None:
        return parse_address(tail)
    address = parse_address(found["rest"])
    if found["stamp"] != "*":
        address.stamp = found["stamp"]
        address.stamp_prefix = bool(found["star"])
    address.raw = found["mod"] == "id_"
    return address


def time_bounds(stamp: str) -> tuple[datetime | None, datetime | None]:
    """A timestamp prefix as [since, until): ``2024`` is the whole year."""
    if not stamp:
        return None, None
    try:
        since = parse_time(stamp, "timestamp")
        until = parse_time(stamp, "timestamp", end=True)
    except BadTime as exc:
        raise BadRequest(str(exc)) from exc
    return since, (until + timedelta(microseconds=1) if until else None)


def nearest(catalogue: Catalogue, url: str, moment: datetime) -> CaptureRow | None:
    """The capture of ``url`` closest in time to ``moment``; on a tie the earlier, as the
    Memento TimeGate chooses. Two one-row index reads, whatever the history's length."""
    before, _ = catalogue.list_captures(url, until=moment, limit=1, newest_first=True)
    after, _ = catalogue.list_captures(url, since=moment, limit=1)
    candidates = [*before, *after]
    if not candidates:
        return None
    return min(candidates, key=lambda row: abs((row.captured_at - moment).total_seconds()))


@dataclass
class Listed:
    """One URL of a listing: how often and when it was captured, and its newest capture."""

    url: str
    count: int
    first: views.CaptureView
    last: views.CaptureView


def group_by_url(rows: list[CaptureRow]) -> list[Listed]:
    """Captures in address order (url key, then time) as one entry per URL."""
    groups: list[Listed] = []
    key = None
    for row in rows:
        view = views.capture_view(row)
        if row.url_key != key:
            groups.append(Listed(row.url, 0, view, view))
            key = row.url_key
        group = groups[-1]
        group.count += 1
        group.last, group.url = view, row.url
    return groups


def walk(
    catalogue: Catalogue, url: str, match: str, since: datetime | None, until: datetime | None
) -> list[CaptureRow]:
    """At most ``LISTING_CAPTURES + 1`` matching captures in address order (one past, to know)."""
    # one page of the index scan, not the default 1,000-row pages (which would read 3,000)
    rows = catalogue.iter_by_key(url, match=match, since=since, until=until, batch=LISTING_CAPTURES + 1)
    return list(islice(rows, LISTING_CAPTURES + 1))


@page
async def wayback(request: web.Request) -> web.Response:
    """``/web/...``: a history, the capture nearest a time, or a listing (the module's table)."""
    address = parse_tail(archived_tail(request))
    if address.listing:
        since, until = time_bounds(address.stamp)
        return await listing(request, address.url, address.match, since, until, address.stamp)
    catalogue = await catalogue_of(request)
    if address.stamp:
        moment, _ = time_bounds(address.stamp)
        assert moment is not None
        row = await from_catalogue(request, nearest, catalogue, address.url, moment)
        if row is None:
            raise NotFound(
                f"the archive holds no capture of {address.url}; its history page says more: "
                f"{views.history_href(address.url)}"
            )
        raise web.HTTPFound(f"/api/v1/captures/{row.id}/raw" if address.raw else f"/web/capture/{row.id}")
    if not address.scheme_given:
        newest = await from_catalogue(request, catalogue.latest_capture, address.url)
        if newest is not None:
            raise web.HTTPFound(views.history_href(newest.url))
    return await history_page(request, address.url, None)


@page
async def listing_form(request: web.Request) -> web.Response:
    """``/web/list``: every URL under an address prefix or on a site, from the listing form."""
    query = request.query
    text, site = query.get("url", "").strip(), query.get("site", "").strip()
    since_text, until_text = query.get("from", "").strip(), query.get("to", "").strip()
    form = {"url": text, "site": site, "since": since_text, "until": until_text}
    if not text and not site:
        return render("listing.html", request, {"nav": "list", "form": form, "groups": None})
    if text and site:
        raise BadRequest("fill in either an address prefix or a site, not both")
    if site:
        address = parse_address(f"{site.rstrip('/')}/")
        address.match = "domain"
    else:
        address = parse_address(text if text.endswith("*") or text.startswith("*.") else text + "*")
    try:
        since = parse_time(since_text or None, "from")
        until = parse_time(until_text or None, "to", end=True)
    except BadTime as exc:
        raise BadRequest(str(exc)) from exc
    until = until + timedelta(microseconds=1) if until else None
    return await listing(request, address.url, address.match, since, until, "", form=form)


async def listing(
    request: web.Request,
    url: str,
    match: str,
    since: datetime | None,
    until: datetime | None,
    stamp: str,
    *,
    form: dict[str, str] | None = None,
) -> web.Response:
    catalogue = await catalogue_of(request)
    try:
        rows = await from_catalogue(request, walk, catalogue, url, match, since, until)
    except BadQuery as exc:
        raise BadRequest(str(exc)) from exc
    more = len(rows) > LISTING_CAPTURES
    rows = rows[:LISTING_CAPTURES]
    what = {"prefix": f"{url}*", "domain": f"*.{url.split('://', 1)[1].rstrip('/')}"}.get(match, url)
    context: dict[str, Any] = {
        "nav": "list",
        "form": form or {"url": what, "site": "", "since": "", "until": ""},
        "what": what,
        "when": _when(stamp, since, until),
        "groups": group_by_url(rows),
        "captures": [views.capture_view(row) for row in reversed(rows)] if match == "exact" else [],
        "total": len(rows),
        "more": more,
        "limit": LISTING_CAPTURES,
    }
    return render("listing.html", request, context, status=200 if rows else 404)


def _when(stamp: str, since: datetime | None, until: datetime | None) -> str:
    if stamp:
        return f"captured in {stamp}*"
    parts = []
    if since:
        parts.append(f"from {since:%Y-%m-%d}")
    if until:
        parts.append(f"to {(until - timedelta(microseconds=1)):%Y-%m-%d}")
    return " ".join(parts)
