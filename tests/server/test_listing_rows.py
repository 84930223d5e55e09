"""The listing's fast row forms (issue 19) answer exactly what ``to_dict`` did: same keys in the
same order, times as UTC with ``Z`` (microseconds kept), digests as an object, for rows read back
from both engines."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta, timezone

from crawler.catalogue import open_catalogue
from crawler.config import Settings
from server.api.captures import listing_json, row_json
from tests.kit.catalogue import T0, capture_row


def test_a_listed_row_is_its_to_dict(settings: Callable[..., Settings], database: str) -> None:
    catalogue = open_catalogue(settings(database=database))
    try:
        written = [
            capture_row("https://e.org/a", T0, revisit=True, rendered=True,
                        resource_digests={"screenshot": "sha1:S", "rendered": "sha1:R"}),
            capture_row("https://e.org/a", T0 + timedelta(minutes=30, microseconds=4500)),
            capture_row("https://e.org/a", (T0 + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2))),
                        title=None, resource_digests={}),
        ]
        for row in written:
            catalogue.record_capture(row)
        rows, _ = catalogue.list_captures("https://e.org/a", newest_first=True)
        assert [r.id for r in rows] == [w.id for w in reversed(written)]
        for row in rows:
            fast = row_json(row)
            assert fast == row.to_dict()
            assert list(fast) == list(row.to_dict())
        listed = json.loads(listing_json(rows, "next"))
        assert listed["next_cursor"] == "next"
        assert listed["captures"] == [r.to_dict() for r in rows]
        assert [list(c) for c in listed["captures"]] == [list(r.to_dict()) for r in rows]
        assert listed["captures"][1]["captured_at"] == "2026-11-20T12:30:00.004500Z"
        newest, _, oldest = (row_json(r) for r in rows)
        assert newest["captured_at"] == "2026-11-20T13:00:00Z" and newest["resource_digests"] == {}
        assert oldest["revisit"] is True and oldest["rendered"] is True
        assert oldest["resource_digests"] == {"screenshot": "sha1:S", "rendered": "sha1:R"}
    finally:
        catalogue.close()
