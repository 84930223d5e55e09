"""The capture catalogue: captures, crawls, changes and full-text search.

One query layer serves SQLite (the embedded default, WAL, under ``data/``) and PostgreSQL
(``DECLUTTER_DATABASE_URL=postgresql://...``). The two differ only in a ``Dialect``
(``dialects``); connections are ``engines``, schema versions ``schema``, url keys ``keys``.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ulid import ULID

from crawler.catalogue import capture_log, schema
from crawler.catalogue.crawl_runs import CrawlRuns
from crawler.catalogue.dialects import utc
from crawler.catalogue.engines import Engine, PostgresEngine, SQLiteEngine, redact
from crawler.catalogue.errors import BadQuery, CaptureNotFound, CatalogueError
from crawler.catalogue.keys import KeyRange, key_ranges, site_ranges, url_key
from crawler.catalogue.query import ParsedQuery, snippet_html
from crawler.catalogue.rows import (
    CAPTURE_COLUMNS,
    CHANGE_COLUMNS,
    CaptureRow,
    ChangeRow,
    SearchHit,
    iso,
)
from crawler.config import Settings


def _new_id(moment: datetime | None = None) -> str:
    return str(ULID.from_datetime(utc(moment)) if moment else ULID())


def new_capture_id(captured_at: datetime) -> str:
    """A ULID whose time part is the capture time, so ids sort as captures happened."""
    return _new_id(captured_at)


def _encode_cursor(captured_at: str, capture_id: str) -> str:
    return base64.urlsafe_b64encode(f"{captured_at}|{capture_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, capture_id = raw.partition("|")
        return datetime.fromisoformat(moment.replace("Z", "+00:00")), capture_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadQuery("the cursor is not one this catalogue returned; start without it") from exc


class Catalogue(CrawlRuns):
    """Captures, crawls and changes in one database; every write is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self._make_capture = self.dialect.capture_maker()
        # The capture log's head after this process's last capture (see ``capture_log.append``).
        self.log_head: capture_log.Head | None = None
        self.migrate()

    def __repr__(self) -> str:
        return f"Catalogue({self.engine.describe()})"

    @property
    def kind(self) -> str:
        return self.dialect.name

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # migrations

    def migrate(self) -> list[int]:
        """Apply the schema versions not yet applied; returns the versions applied now."""
        return schema.migrate(self.engine)

    def schema_version(self) -> int:
        return schema.schema_version(self.engine)

    def ping(self) -> bool:
        try:
            with self.engine.transaction(write=False) as tx:
                tx.execute("SELECT 1 AS ok").rows()
        except Exception:
            return False
        return True

    # captures

    def _capture(self, row: dict[str, Any]) -> CaptureRow:
        return CaptureRow(**{k: self.dialect.from_db(k, row[k]) for k in CAPTURE_COLUMNS})

    def _select(self, where: str = "", params: list | tuple = (), tail: str = "") -> list[CaptureRow]:
        sql = f"SELECT {', '.join(CAPTURE_COLUMNS)} FROM captures {where} {tail}"
        with self.engine.transaction(write=False) as tx:
            return [self._make_capture(r) for r in tx.execute(sql, params).tuples()]

    def record_capture(
        self, row: CaptureRow, *, text: str = "", change: ChangeRow | None = None
    ) -> bool:
        """Insert a capture with its search text, change and capture-log entry, atomically; False if
        already there."""
        values = [
            self.dialect.time(getattr(row, c)) if c == "captured_at" else self.dialect.to_db(c, getattr(row, c))
            for c in CAPTURE_COLUMNS
        ]
        placeholders = ", ".join("?" for _ in CAPTURE_COLUMNS)
        with self.engine.transaction() as tx:
            inserted = tx.execute(
                f"INSERT INTO captures ({', '.join(CAPTURE_COLUMNS)}) VALUES ({placeholders})"
                " ON CONFLICT (id) DO NOTHING",
                values,
            ).rowcount
            if inserted != 1:
                return False
            self.log_head = capture_log.append(tx, row)
            if text or row.title:
                tx.execute(self.dialect.insert_text(), [row.id, row.title or "", text or ""])
            if change is not None:
                tx.execute(
                    "INSERT INTO changes (url, url_key, from_id, to_id, words_added, words_removed,"
                    " title_before, title_after, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (to_id) DO NOTHING",
                    [
                        change.url,
                        change.url_key,
                        change.from_id,
                        change.to_id,
                        change.words_added,
                        change.words_removed,
                        change.title_before,
                        change.title_after,
                        self.dialect.time(change.detected_at),
                    ],
                )
        return True

    def get_capture(self, capture_id: str) -> CaptureRow | None:
        rows = self._select("WHERE id = ?", [capture_id])
        return rows[0] if rows else None

    def require_capture(self, capture_id: str) -> CaptureRow:
        row = self.get_capture(capture_id)
        if row is None:
            raise CaptureNotFound(f"no capture with id {capture_id!r} in the catalogue")
        return row

    def capture_text(self, capture_id: str) -> tuple[str, str] | None:
        """(title, clean text) as indexed for search, or None when the capture had no article."""
        with self.engine.transaction(write=False) as tx:
            rows = tx.execute(self.dialect.text_of(), [capture_id]).rows()
        return (rows[0]["title"], rows[0]["body"]) if rows else None

    def _filters(
        self,
        *,
        url: str | None = None,
        site: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        prefix: str = "",
        match: str = "exact",
    ) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for ranges in (
            key_ranges(url, match) if url is not None else None,
            site_ranges(site) if site is not None else None,
        ):
            if ranges is not None:
                clause, values = self._key_clause(ranges, prefix)
                clauses.append(clause)
                params += values
        if since is not None:
            clauses.append(f"{prefix}captured_at >= ?")
            params.append(self.dialect.time(since))
        if until is not None:
            clauses.append(f"{prefix}captured_at < ?")
            params.append(self.dialect.time(until))
        return clauses, params

    def _key_clause(self, ranges: list[KeyRange], prefix: str = "") -> tuple[str, list[Any]]:
        """url_key in any of ``ranges``: each an index range (an OR of them for a site's ports)."""
        terms: list[str] = []
        params: list[Any] = []
        column = self.dialect.url_key_sorted(prefix)
        for low, high in ranges:
            if high is None:
                terms.append(f"{prefix}url_key = ?")
                params.append(low)
            else:
                terms.append(f"({column} >= ? AND {column} < ?)")
                params += [low, high]
        return (terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"), params

    def list_captures(
        self,
        url: str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
        site: str | None = None,
        newest_first: bool = False,
        match: str = "exact",
    ) -> tuple[list[CaptureRow], str | None]:
        """One page of captures in time order (``until`` exclusive) and the cursor of the next.

        ``match`` (a ``MATCH_TYPES`` value) widens ``url`` as the Wayback CDX server's matchType.
        """
        clauses, params = self._filters(url=url, site=site, since=since, until=until, match=match)
        if cursor:
            moment, last_id = _decode_cursor(cursor)
            op = "<" if newest_first else ">"
            clauses.append(f"(captured_at {op} ? OR (captured_at = ? AND id {op} ?))")
            params += [self.dialect.time(moment), self.dialect.time(moment), last_id]
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        order = "DESC" if newest_first else "ASC"
        limit = max(1, min(int(limit), 10_000))
        rows = self._select(where, [*params, limit + 1], f"ORDER BY captured_at {order}, id {order} LIMIT ?")
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = _encode_cursor(iso(last.captured_at) or "", last.id)
        return rows, next_cursor

    def iter_captures(
        self,
        url: str | None = None,
        *,
        site: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        batch: int = 500,
    ) -> Iterator[CaptureRow]:
        """Every matching capture, oldest first, fetched a page at a time (flat memory)."""
        cursor = None
        while True:
            rows, cursor = self.list_captures(
                url, site=site, since=since, until=until, limit=batch, cursor=cursor
            )
            yield from rows
            if cursor is None:
                return

    def iter_by_key(
        self,
        url: str,
        *,
        match: str = "exact",
        since: datetime | None = None,
        until: datetime | None = None,
        reverse: bool = False,
        batch: int = 1000,
    ) -> Iterator[CaptureRow]:
        """Matching captures in CDX order (url_key, then time), a page at a time off the index.

        A match of several key ranges (a host, then its ports) reads them one after the other:
        they are disjoint and sorted, so each stays one index range scan in key order. Their first
        pages come in one transaction: one pool checkout, not one per range.
        """
        ranges = key_ranges(url, match)
        ranges = ranges[::-1] if reverse else ranges
        query = functools.partial(
            self._range_page, since=since, until=until, reverse=reverse, batch=batch
        )
        with self.engine.transaction(write=False) as tx:
            firsts = [[self._make_capture(r) for r in tx.execute(*query(kr)).tuples()] for kr in ranges]
        for key_range, rows in zip(ranges, firsts, strict=True):
            while True:
                yield from rows
                if len(rows) < batch:
                    break
                last = rows[-1]
                after = [last.url_key, self.dialect.time(last.captured_at), last.id]
                with self.engine.transaction(write=False) as tx:
                    rows = [self._make_capture(r) for r in tx.execute(*query(key_range, after=after)).tuples()]

    def _range_page(
        self, key_range: KeyRange, *, since: datetime | None, until: datetime | None,
        reverse: bool, batch: int, after: list[Any] | None = None,
    ) -> tuple[str, list[Any]]:
        """One page of a key range in CDX order, after the (url_key, captured_at, id) ``after``."""
        clause, params = self._key_clause([key_range])
        clauses, more = self._filters(since=since, until=until)
        key = self.dialect.url_key_sorted()
        op, order = ("<", "DESC") if reverse else (">", "ASC")
        if after:
            clauses.append(f"({key}, captured_at, id) {op} (?, ?, ?)")
        sql = (
            f"SELECT {', '.join(CAPTURE_COLUMNS)} FROM captures WHERE "
            + " AND ".join([clause, *clauses])
            + f" ORDER BY {key} {order}, captured_at {order}, id {order} LIMIT ?"
        )
        return sql, [*params, *more, *(after or []), batch]

    def latest_capture(self, url: str) -> CaptureRow | None:
        rows = self._select(
            "WHERE url_key = ?", [url_key(url)], "ORDER BY captured_at DESC, id DESC LIMIT 1"
        )
        return rows[0] if rows else None

    def count_captures(
        self,
        url: str | None = None,
        *,
        site: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """How many captures ``list_captures`` would page through, counted over the same indexes."""
        clauses, params = self._filters(url=url, site=site, since=since, until=until)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self.engine.transaction(write=False) as tx:
            rows = tx.execute(f"SELECT COUNT(*) AS n FROM captures {where}", params).rows()
            return int(rows[0]["n"])

    # search

    def search(
        self,
        query: str,
        *,
        site: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
        offset: int = 0,
        collapse: bool = True,
    ) -> list[SearchHit]:
        """Captures whose clean text matches; exact-phrase matches first, then by relevance.

        Query syntax: words (all must match), ``"exact phrases"``, ``-excluded`` words.
        ``collapse``: one hit per URL and text version (its newest capture), so an article
        re-captured unchanged appears once; False lists every capture.
        """
        parsed = ParsedQuery.parse(query)
        clauses, params = self._filters(site=site, since=since, until=until, prefix="c.")
        filters = "".join(f" AND {c}" for c in clauses)
        limit = max(1, min(int(limit), 1000))
        sql, args = self.dialect.search(
            parsed, filters, params, limit, max(0, int(offset)), collapse
        )
        with self.engine.transaction(write=False) as tx:
            rows = tx.execute(sql, args, plan_each_time=True).rows()
        return [
            SearchHit(
                self._capture(r),
                snippet_html(r["snippet"]),
                float(r["rank"]),
                int(r["capture_count"]),
                self.dialect.from_db("first_captured_at", r["first_captured_at"]),
            )
            for r in rows
        ]

    def count_search(
        self,
        query: str,
        *,
        site: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        collapse: bool = True,
    ) -> int:
        """How many hits ``search`` finds over all its pages, counted as it lists them."""
        parsed = ParsedQuery.parse(query)
        clauses, params = self._filters(site=site, since=since, until=until, prefix="c.")
        filters = "".join(f" AND {c}" for c in clauses)
        sql, args = self.dialect.search_count(parsed, filters, params, collapse)
        with self.engine.transaction(write=False) as tx:
            rows = tx.execute(sql, args, plan_each_time=True).rows()
        return int(rows[0]["n"]) if rows else 0

    # changes

    def changes(
        self, url: str | None = None, *, since: datetime | None = None, limit: int = 100
    ) -> list[ChangeRow]:
        """Recorded text changes, newest first."""
        clauses: list[str] = []
        params: list[Any] = []
        if url is not None:
            clauses.append("url_key = ?")
            params.append(url_key(url))
        if since is not None:
            clauses.append("detected_at >= ?")
            params.append(self.dialect.time(since))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self.engine.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {', '.join(CHANGE_COLUMNS)} FROM changes {where}"
                " ORDER BY detected_at DESC, id DESC LIMIT ?",
                [*params, limit],
            ).rows()
        return [ChangeRow(**{k: self.dialect.from_db(k, r[k]) for k in CHANGE_COLUMNS}) for r in rows]


def open_catalogue(settings: Settings, *, pool_timeout: float = 5.0) -> Catalogue:
    """SQLite under ``data/`` unless ``DECLUTTER_DATABASE_URL`` names PostgreSQL (or a SQLite file).

    ``pool_timeout``: how long a PostgreSQL call waits for a connection before failing (and the
    archiver spooling), when the server is down or every pooled connection is busy.
    """
    url = (settings.database_url or "").strip()
    if not url:
        return Catalogue(SQLiteEngine(settings.sqlite_path))
    if url.startswith(("postgresql://", "postgres://")):
        return Catalogue(PostgresEngine(url, timeout=pool_timeout))
    if url.startswith("sqlite:///"):
        return Catalogue(SQLiteEngine(Path(url[len("sqlite:///"):])))
    raise CatalogueError(
        f"DECLUTTER_DATABASE_URL={redact(url)!r} is not understood; use postgresql://user:pass@host/db,"
        " sqlite:///path/file.sqlite3, or leave it empty for SQLite under the data directory"
    )
