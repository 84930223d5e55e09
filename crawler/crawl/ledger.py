"""A run's counts recorded per page, so that a resumed run counts every page once.

A killed crawl restarts from its seeds, so the pages it had already counted are fetched (or
refused by robots.txt, or failed) again. Adding those to the counts saved every few seconds gave
a resumed run more errors and robots skips than a clean run, and lost the last seconds' counts of
everything else. Here each page's counts are a journal line of their own: the page's URL, its
stat keys (``pages``, ``errors/timeout``, ``captured``, ``new``...) and the process that wrote it.
A run's counts are, per URL, those of the last process that counted it: a page counted again after
a resume replaces its earlier counts instead of adding to them. A page the run already captured is
not counted again at all (only as ``skipped/resumed``, which is not a page outcome).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

# Counted when a resumed run meets a page it captured before: a note, not one of the page's
# outcomes, so it is listed but not added to ``skipped`` (a clean run has none).
NOT_AN_OUTCOME = {"skipped/resumed"}
# Every count a page's journal lines can make; present (0 if need be) in a resumed run's counts so
# that counts saved by the killed process never stand in for them.
PAGE_KEYS = ("pages", "captured", "deduplicated", "rendered", "render_failed", "no_article",
             "new", "changed", "unchanged", "errors", "skipped")


def flatten(stat_counts: Mapping[str, int]) -> dict[str, int]:
    """Stat keys to the run's counts: ``errors/timeout`` counts in ``errors`` and
    ``errors.timeout``; other keys as they are."""
    counts: dict[str, int] = {}
    for name, value in stat_counts.items():
        group, _, kind = name.partition("/")
        if kind and group in ("errors", "skipped"):
            if name not in NOT_AN_OUTCOME:
                counts[group] = counts.get(group, 0) + value
            counts[f"{group}.{kind}"] = counts.get(f"{group}.{kind}", 0) + value
        else:
            counts[name] = counts.get(name, 0) + value
    return counts


def capture_keys(*, revisit: bool, outcome: str | None, rendered: bool, no_article: bool) -> list[str]:
    """The stat keys of one archived page."""
    keys = ["deduplicated" if revisit else "captured"]
    if outcome:
        keys.append(outcome)
    if rendered:
        keys.append("rendered")
    if no_article:
        keys.append("no_article")
    return keys


class PageLedger:
    """The per-page counts of one run: those journaled by earlier processes, and this process's
    ``session`` tag for the lines it writes."""

    def __init__(self) -> None:
        self.session = uuid.uuid4().hex[:12]
        self._earlier: dict[str, Counter[str]] = {}
        self._sessions: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self, entry: Mapping[str, Any]) -> None:
        """One journal line of an earlier process: a later process's lines for a URL replace an
        earlier one's, lines of one process add up (a page's fetch, then its capture)."""
        url, keys = entry.get("url"), entry.get("count")
        if not isinstance(url, str) or not isinstance(keys, list):
            return
        session = str(entry.get("s", ""))
        if self._sessions.get(url) != session:
            self._earlier[url] = Counter()
            self._sessions[url] = session
        self._earlier[url].update(str(k) for k in keys)

    def line(self, url: str, keys: Iterable[str]) -> dict[str, Any]:
        """The journal fields for ``keys`` counted for ``url`` by this process."""
        return {"url": url, "count": list(keys), "s": self.session}

    def replace(self, url: str) -> dict[str, int]:
        """This process counts ``url`` now: the counts an earlier process journaled for it, which
        the caller takes back from its own (the resumed run started from their sum)."""
        with self._lock:
            self._sessions.pop(url, None)
            return dict(self._earlier.pop(url, Counter()))

    def totals(self) -> dict[str, int]:
        """The earlier processes' counts, flattened as a run's counts."""
        with self._lock:
            total: Counter[str] = Counter()
            for keys in self._earlier.values():
                total.update(keys)
        return flatten(total)
