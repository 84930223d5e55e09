"""A URL's history summary (issue 19) counts in SQL what the timeline marks: captures and changes
per UTC day, first and last capture, new/changed/unchanged; and pages it newest first. Both
engines, against counts made here from the rows written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

from crawler.catalogue import ChangeRow, history, open_catalogue
from crawler.config import Settings
from tests.kit.catalogue import capture_row

URL = "https://e.org/story"
# Half an hour before and after midnight UTC, written in UTC+2: the day is the UTC one.
PLUS2 = timezone(timedelta(hours=2))
TIMES = [
    datetime(2025, 1, 31, 1, 30, tzinfo=PLUS2),  # 2025-01-30 23:30 UTC
    datetime(2025, 1, 31, 2, 30, tzinfo=PLUS2),  # 2025-01-31 00:30 UTC
    datetime(2025, 1, 31, 9, 0, tzinfo=PLUS2),
    datetime(2025, 3, 2, 12, 0, tzinfo=PLUS2),
    datetime(2026, 1, 1, 0, 15, tzinfo=PLUS2),   # 2025-12-31 22:15 UTC
]
CHANGED = {2, 3}


def _change(row: object, before: object) -> ChangeRow:
    return ChangeRow(
        url=URL, url_key=row.url_key, from_id=before.id, to_id=row.id, words_added=5,  # type: ignore[attr-defined]
        words_removed=2, title_before="a", title_after="b", detected_at=datetime.now(PLUS2),
    )


def test_summary_counts_days_and_marks_and_pages_newest_first(
    settings: Callable[..., Settings], database: str
) -> None:
    catalogue = open_catalogue(settings(database=database))
    try:
        rows = [capture_row(URL, moment) for moment in TIMES]
        for i, row in enumerate(rows):
            catalogue.record_capture(row, change=_change(row, rows[i - 1]) if i in CHANGED else None)
        catalogue.record_capture(capture_row("https://e.org/other", TIMES[0]))

        summary = history.summary(catalogue, URL)
        utc_days = Counter(t.astimezone(UTC).date() for t in TIMES)
        changed_days = Counter(TIMES[i].astimezone(UTC).date() for i in CHANGED)
        assert [(d.day, d.captures, d.changes) for d in summary.days] == [
            (day, utc_days[day], changed_days[day]) for day in sorted(utc_days)
        ]
        assert summary.days[0].day == date(2025, 1, 30)
        assert (summary.total, summary.changed, summary.new, summary.unchanged) == (5, 2, 1, 2)
        assert (summary.first_id, summary.last_id) == (rows[0].id, rows[-1].id)
        assert summary.first_at == TIMES[0] and summary.last_at == TIMES[-1]

        first, cursor = history.page(catalogue, URL, limit=3)
        rest, end = history.page(catalogue, URL, limit=3, cursor=cursor)
        assert [e.id for e in first + rest] == [r.id for r in reversed(rows)] and end is None
        assert [e.id for e in first + rest if e.changed] == [rows[3].id, rows[2].id]
        marked = next(e for e in first if e.changed)
        assert (marked.from_id, marked.words_added, marked.title_changed) == (rows[2].id, 5, True)
        march, _ = history.page(catalogue, URL, limit=10, before=datetime(2025, 4, 1, tzinfo=PLUS2))
        assert [e.id for e in march] == [r.id for r in reversed(rows[:4])]

        assert history.summary(catalogue, "https://e.org/none").total == 0
    finally:
        catalogue.close()
