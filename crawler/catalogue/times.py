"""Time bounds as researchers write them: ISO 8601 dates and (possibly cut short) Wayback stamps.

The API, the web app and the CLI all read ``from``/``to`` through ``parse_time``, so ``2024`` means
the same year everywhere.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime


class BadTime(ValueError):
    """A time bound that is neither ISO 8601 nor a Wayback timestamp; the message says which."""


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
        raise BadTime(
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
            raise BadTime(f"{name!r}: {text!r} is not a Wayback timestamp (YYYYMMDDhhmmss)")
        elif i == 2 and end:
            values.append(calendar.monthrange(values[0], values[1])[1])
        else:
            values.append(highs[i] if end else lows[i])  # type: ignore[arg-type]
    try:
        stamp = datetime(*values, tzinfo=UTC)
    except ValueError as exc:
        raise BadTime(f"{name!r}: {text!r} is not a valid date ({exc})") from exc
    return stamp.replace(microsecond=999999) if end and len(text) < 14 else stamp
