"""A long history page (issue 19): its calendar and counts cover every capture, counted in SQL,
while its timeline is one page of captures, and each capture keeps its mark (new, changed,
unchanged) on whichever page it falls. Over both catalogue engines, through the real server."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape

from crawler.catalogue import ChangeRow, open_catalogue
from crawler.config import Settings
from server.web.history import HISTORY_PAGE
from tests.kit.api import running_api
from tests.kit.catalogue import capture_row

URL = "https://news.example.org/2025/03/pier"
COUNT = 2 * HISTORY_PAGE + 57
START = datetime(2023, 11, 28, 6, tzinfo=UTC)
ITEM = re.compile(r'<li class="(new|changed|unchanged)">\s*<input[^>]*value="([^"]+)"')
OLDER = re.compile(r'<a href="([^"]+)">Older captures</a>')


def _fill(settings: Settings) -> tuple[list[str], dict[str, str], Counter]:
    """COUNT captures 17 hours apart (every third a change); their ids oldest first, the kind each
    must show, and the captures per month."""
    catalogue = open_catalogue(settings)
    ids: list[str] = []
    kinds: dict[str, str] = {}
    months: Counter = Counter()
    for i in range(COUNT):
        moment = START + timedelta(hours=17 * i)
        row = capture_row(URL, moment)
        change = None
        if i and i % 3 == 0:
            change = ChangeRow(
                url=URL, url_key=row.url_key, from_id=ids[-1], to_id=row.id, words_added=i,
                words_removed=1, title_before="a", title_after="a", detected_at=datetime.now(UTC),
            )
        catalogue.record_capture(row, text="the pier", change=change)
        ids.append(row.id)
        kinds[row.id] = "new" if i == 0 else "changed" if change else "unchanged"
        months[(moment.year, moment.month)] += 1
    catalogue.close()
    return ids, kinds, months


async def test_a_long_history_pages_its_timeline_and_counts_everything(
    settings: Callable[..., Settings], database: str
) -> None:
    config = settings(database=database, rate_limit=0.0)
    ids, kinds, months = _fill(config)
    expected = Counter(kinds.values())
    async with running_api(config) as api:
        seen: list[tuple[str, str]] = []
        path: str | None = "/web/" + URL
        first_page = ""
        while path:
            response = await api.client.get(path)
            assert response.status == 200, path
            body = await response.text()
            first_page = first_page or body
            found = ITEM.findall(body)
            assert 0 < len(found) <= HISTORY_PAGE
            seen += [(capture_id, kind) for kind, capture_id in found]
            summary = re.search(r'<p class="summary">(.*?)</p>', body, re.S)
            assert summary is not None
            text = " ".join(summary.group(1).split())
            assert text.startswith(f"{COUNT} captures from"), text
            assert (f"{expected['new']} new, {expected['changed']} changed, "
                    f"{expected['unchanged']} unchanged") in text
            older = OLDER.search(body)
            path = unescape(older.group(1)) if older else None
        # every capture once, newest first, each with the mark of the whole history
        assert [capture_id for capture_id, _ in seen] == ids[::-1]
        assert dict(seen) == kinds
        assert len(seen) == COUNT and COUNT > 2 * HISTORY_PAGE

        # the calendar counts every month, and a month off the first page links to its own page
        cells = re.findall(
            r'<a href="([^"]+)" aria-label="(\d+) in (\w+) (\d{4})[^"]*" class="heat', first_page
        )
        names = ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"]
        calendar = {(int(y), names.index(m) + 1): int(n) for _, n, m, y in cells}
        assert calendar == dict(months)
        oldest_month = min(months)
        link = next(unescape(h) for h, _, m, y in cells
                    if (int(y), names.index(m) + 1) == oldest_month)
        assert link.startswith("/web/history?")
        response = await api.client.get(link)
        assert response.status == 200
        month_page = ITEM.findall(await response.text())
        # the month's page starts at its newest capture and runs down to the oldest
        assert [i for _, i in month_page] == ids[: months[oldest_month]][::-1]
        assert month_page[-1][0] == "new"

        bad = await api.client.get("/web/history", params={"url": URL, "month": "2024-13"})
        assert bad.status == 400
        assert "YYYY-MM" in await bad.text()
