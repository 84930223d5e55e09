"""Reading what clients send: JSON bodies, URLs and dates, each refused with a clear 400.

The API's endpoints take these through their declarations (``server.declare``), which use them as
validators; the web app's forms call them directly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from aiohttp import web
from yarl import URL

from crawler.catalogue import times
from crawler.fetch import FetchRefused, parse_url
from server.errors import BadRequest

MAX_URL_LENGTH = 8192
MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63


async def json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        raise BadRequest("the request body is empty: send a JSON object such as {\"url\": ...}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        # json's C decoder recurses once per level: 100,000 '[' exhaust the stack, not memory.
        raise BadRequest("the request body nests JSON too deeply; send a flat object") from exc
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object such as {\"url\": ...}")
    return data


def require_url(value: Any, name: str = "url") -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name!r} is required: an absolute http(s) URL")
    if len(value) > MAX_URL_LENGTH:
        raise BadRequest(f"{name!r} is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = parse_url(value)
        _check_host(parsed)
        return str(parsed)
    except UnicodeError as exc:
        raise BadRequest(
            f"{name!r} must be an absolute http(s) URL: its host name is not a valid "
            f"internationalised (IDNA) name ({exc})"
        ) from exc
    except (FetchRefused, ValueError) as exc:
        # ValueError includes UnicodeError: yarl decodes an ``xn--`` label lazily, so a broken
        # one (``xn--zz``) fails only when the host is read, deep in a handler, as a 500.
        raise BadRequest(f"{name!r} must be an absolute http(s) URL: {exc}") from exc


def _check_host(url: URL) -> None:
    """Refuse a host name DNS could never hold, here, once, instead of in every reader of it.

    yarl accepts labels over 63 bytes and punycode that does not decode; the IDNA codec, SURT
    keys and the resolver each fail on them differently later.
    """
    raw = url.raw_host or ""
    if len(raw) > MAX_HOST_LENGTH:
        raise ValueError(f"the host name is longer than {MAX_HOST_LENGTH} characters")
    if url.host is None or ":" in raw:  # reading .host decodes every xn-- label; IPv6 has no labels
        return
    for label in raw.rstrip(".").split("."):
        if not label:
            raise ValueError(f"the host name {raw!r} has an empty label")
        if len(label) > MAX_LABEL_LENGTH:
            raise ValueError(
                f"the host name label {label[:20]!r}... is {len(label)} characters; "
                f"DNS allows at most {MAX_LABEL_LENGTH}"
            )


def parse_time(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    """A query's time bound (see ``crawler.catalogue.times.parse_time``), refused with a 400."""
    try:
        return times.parse_time(value, name, end=end)
    except times.BadTime as exc:
        raise BadRequest(str(exc)) from exc
    except OverflowError as exc:
        raise BadRequest(f"{name!r}: {value!r} falls outside years 1 to 9999 in UTC") from exc


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def parse_http_date(value: str, name: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError) as exc:
        raise BadRequest(
            f"{name} must be an RFC 1123 date such as 'Tue, 11 Sep 2001 20:35:00 GMT', not {value!r}"
        ) from exc
    if parsed is None:
        raise BadRequest(f"{name} must be an RFC 1123 date, not {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def wayback_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")
