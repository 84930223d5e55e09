"""Catalogue rows made up for tests of the SQL index, with no WARC behind them."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from typing import Any

from crawler.catalogue import CaptureRow, url_key

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# One counter for the session: every made-up row has its own id, digest and key.
_n = count()


def capture_row(url: str, at: datetime, **overrides: Any) -> CaptureRow:
    """A complete ``CaptureRow`` of ``url`` captured ``at``, unique in id and digest."""
    n = next(_n)
    values: dict[str, Any] = dict(
        id=f"01JCAPTURE{n:016d}",
        url=url,
        url_key=url_key(url),
        captured_at=at,
        status=200,
        payload_digest=f"sha1:PAYLOAD{n}",
        warc_key=f"warc/x/{n}.warc.gz",
        warc_sha256="0" * 64,
        warc_size=1000 + n,
        mime="text/html",
        title=f"Title {n}",
        word_count=3,
        resource_digests={"rendered": "sha1:R"},
    )
    values.update(overrides)
    return CaptureRow(**values)
