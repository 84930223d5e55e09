"""Reading what clients send: JSON bodies, URLs, dates and numbers, each refused with a clear 400."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from aiohttp import web

from crawler.fetch import FetchRefused, parse_url
from server.errors import BadRequest

MAX_URL_LENGTH = 8192


async def json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        raise BadRequest("the request body is empty: send a JSON object such as {\"url\": ...}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object such as {\"url\": ...}")
    return data


def require_url(value: Any, name: str = "url") -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name!r} is required: an absolute http(s) URL")
    if len(value) > MAX_URL_LENGTH:
        raise BadRequest(f"{name!r} is longer than {MAX_URL_LENGTH} characters")
    try:
        return str(parse_url(value))
    except FetchRefused as exc:
        raise BadRequest(f"{name!r} must be an absolute http(s) URL: {exc}") from exc


def optional_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name!r} must be a string")
    return value


def parse_time(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    """A bound from ISO 8601 (``2024-05-01``, ``2024-05-01T12:00:00Z``) or a Wayback timestamp.

    A Wayback timestamp may be cut short (``2024``, ``202405``); as an end bound it then means the
    end of that year or month, as the Wayback CDX server reads it.
    """
    if value is None or value == "":
        return None
    text = value.strip()
    if text.isdigit() and 4 <= len(text) <= 14:
        return _from_timestamp(text, name, end=end)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise BadRequest(
            f"{name!r} must be an ISO 8601 date or time (2024-05-01, 2024-05-01T12:00:00Z) or a "
            f"Wayback timestamp (20240501120000), not {value!r}"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end and len(text) == 10:
        parsed = parsed.replace(hour=23, minute=59, second=59, microsecond=999999)
    return parsed.astimezone(UTC)


def _from_timestamp(text: str, name: str, *, end: bool) -> datetime:
    fields = [text[0:4], text[4:6], text[6:8], text[8:10], text[10:12], text[12:14]]
    lows = [None, 1, 1, 0, 0, 0]
    highs = [None, 12, None, 23, 59, 59]
    values: list[int] = []
    for i, part in enumerate(fields):
        if part and len(part) == (4 if i == 0 else 2):
            values.append(int(part))
        elif part:
            raise BadRequest(f"{name!r}: {text!r} is not a Wayback timestamp (YYYYMMDDhhmmss)")
        elif i == 2 and end:
            values.append(calendar.monthrange(values[0], values[1])[1])
        else:
            values.append(highs[i] if end else lows[i])  # type: ignore[arg-type]
    try:
        stamp = datetime(*values, tzinfo=UTC)
    except ValueError as exc:
        raise BadRequest(f"{name!r}: {text!r} is not a valid date ({exc})") from exc
    return stamp.replace(microsecond=999999) if end and len(text) < 14 else stamp


def parse_int(value: str | None, name: str, *, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise BadRequest(f"{name!r} must be a whole number, not {value!r}") from exc
    if not low <= number <= high:
        raise BadRequest(f"{name!r} must be between {low} and {high}, not {number}")
    return number


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
