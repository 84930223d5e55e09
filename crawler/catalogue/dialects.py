"""How the two SQL engines differ, as a ``Dialect`` strategy: one query layer speaks to both.

SQLite and PostgreSQL differ in placeholder style, how times, booleans and JSON are stored, the
full-text search statement and how url_key is compared in byte order; everything else is shared.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from crawler.catalogue.query import MARK_CLOSE, MARK_OPEN, ParsedQuery
from crawler.catalogue.rows import BOOL_COLUMNS, CAPTURE_COLUMNS, JSON_COLUMNS, CaptureRow


def utc(value: datetime) -> datetime:
    """An aware UTC time; a naive one is taken to be UTC already."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _json_object(value: Any) -> Any:
    # Most rows hold no resource digests: "{}" is answered without the parser.
    return json.loads(value) if value and value != "{}" else {}


def _sqlite_time(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _postgres_time(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


class Dialect:
    """What differs between engines; ``?`` placeholders everywhere, rewritten by ``sql``."""

    name = ""
    placeholder = "?"

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def to_db(self, column: str, value: Any) -> Any:
        if column in JSON_COLUMNS:
            return json.dumps(value or {}, sort_keys=True, default=str)
        return value

    def converter(self, column: str) -> Callable[[Any], Any] | None:
        """What ``from_db`` does to ``column``, as one direct call; None when it keeps the value."""
        if column in JSON_COLUMNS:
            return _json_object
        if column in BOOL_COLUMNS:
            return bool
        return None

    def from_db(self, column: str, value: Any) -> Any:
        if column in JSON_COLUMNS:
            return json.loads(value) if value else {}
        if column in BOOL_COLUMNS:
            return bool(value)
        return value

    def time(self, value: datetime) -> Any:
        raise NotImplementedError

    def capture_maker(self) -> Callable[[Sequence[Any]], CaptureRow]:
        """A function from a driver's tuple of ``CAPTURE_COLUMNS`` to a ``CaptureRow``.

        Only times, booleans and JSON need converting (four of 27 columns): converting just those,
        positionally, instead of a dict per row and a ``from_db`` call per column, was most of
        the catalogue's share of a listing's CPU.
        """
        converters = [
            (index, convert)
            for index, column in enumerate(CAPTURE_COLUMNS)
            if (convert := self.converter(column)) is not None
        ]

        def make(values: Sequence[Any]) -> CaptureRow:
            values = list(values)
            for index, convert in converters:
                values[index] = convert(values[index])
            return CaptureRow(*values)

        return make

    def day_of(self, column: str) -> str:
        """The UTC day of a time column, as an expression a GROUP BY can use off the index."""
        raise NotImplementedError

    def day_value(self, value: Any) -> date:
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    def insert_text(self) -> str:
        raise NotImplementedError

    def search(
        self, query: ParsedQuery, filters: str, params: list, limit: int, offset: int, collapse: bool
    ) -> tuple[str, list]:
        raise NotImplementedError

    def search_count(
        self, query: ParsedQuery, filters: str, params: list, collapse: bool
    ) -> tuple[str, list]:
        """How many hits ``search`` would list over every page: no rank, no snippet."""
        raise NotImplementedError

    def text_of(self) -> str:
        raise NotImplementedError

    def url_key_sorted(self, prefix: str = "") -> str:
        """url_key compared byte by byte, as SURT prefix ranges need (SQLite's default)."""
        return f"{prefix}url_key"


def _page(matches: str, newest_of_each: str | None, *, materialized: bool = False) -> str:
    """One page of matches, best first; ``newest_of_each`` keeps one row per URL and text version.

    A capture without a text digest is a version of its own. Only the page's rows then get
    snippets and their version's count and first capture (over the whole archive, off the
    url_key index), so a page costs one pass over the matches however many there are.
    """
    pool = f" g AS ({newest_of_each})," if newest_of_each else " g AS (SELECT * FROM m),"
    return (
        f" m AS {'MATERIALIZED ' if materialized else ''}({matches}),{pool}"
        " page AS (SELECT * FROM g ORDER BY phrase DESC, rank DESC, captured_at DESC, id DESC"
        "  LIMIT ? OFFSET ?)"
    )


_SAME_TEXT = (
    " FROM captures v WHERE v.url_key = page.url_key AND COALESCE(v.text_digest, v.id) = page.version"
)
_VERSION_COLUMNS = (
    f" (SELECT COUNT(*){_SAME_TEXT}) AS capture_count,"
    f" (SELECT MIN(v.captured_at){_SAME_TEXT}) AS first_captured_at,"
)
_PAGE_ORDER = " ORDER BY page.phrase DESC, page.rank DESC, page.captured_at DESC, page.id DESC"


class SQLiteDialect(Dialect):
    name = "sqlite"

    def time(self, value: datetime) -> str:
        return utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def day_of(self, column: str) -> str:
        # Times are stored as ISO text in UTC, so the day is the first ten characters.
        return f"substr({column}, 1, 10)"

    def converter(self, column: str) -> Callable[[Any], Any] | None:
        return _sqlite_time if column.endswith("_at") else super().converter(column)

    def from_db(self, column: str, value: Any) -> Any:
        if column.endswith("_at") and isinstance(value, str):
            return datetime.fromisoformat(value)
        return super().from_db(column, value)

    def insert_text(self) -> str:
        return (
            "INSERT INTO capture_text (rowid, title, body)"
            " VALUES ((SELECT rowid FROM captures WHERE id = ?), ?, ?)"
        )

    def text_of(self) -> str:
        return (
            "SELECT t.title, t.body FROM capture_text t"
            " JOIN captures c ON c.rowid = t.rowid WHERE c.id = ?"
        )

    def search(
        self, query: ParsedQuery, filters: str, params: list, limit: int, offset: int, collapse: bool
    ) -> tuple[str, list]:
        columns = ", ".join(f"c.{name}" for name in CAPTURE_COLUMNS)
        matches = (
            "SELECT c.id, c.url_key, COALESCE(c.text_digest, c.id) AS version, c.captured_at,"
            " -bm25(capture_text, 4.0, 1.0) AS rank,"
            " (capture_text.rowid IN (SELECT rowid FROM capture_text WHERE capture_text MATCH ?))"
            " AS phrase"
            " FROM capture_text JOIN captures c ON c.rowid = capture_text.rowid"
            f" WHERE capture_text MATCH ? {filters}"
        )
        # bm25() cannot feed an aggregate: the matches are materialized first. The bare columns
        # of a GROUP BY with one max() come from the row holding the max: the newest capture.
        newest = (
            "SELECT id, url_key, version, phrase, rank, captured_at,"
            " MAX(captured_at || ' ' || id) AS newest FROM m GROUP BY url_key, version"
        )
        sql = (
            "WITH" + _page(matches, newest if collapse else None, materialized=collapse) +
            f" SELECT {columns}, page.rank AS rank,{_VERSION_COLUMNS}"
            " snippet(capture_text, 1, ?, ?, ' … ', 24) AS snippet"
            " FROM page JOIN captures c ON c.id = page.id"
            " JOIN capture_text ON capture_text.rowid = c.rowid"
            " WHERE capture_text MATCH ?" + _PAGE_ORDER
        )
        args = [query.fts5_phrase(), query.fts5(), *params, limit, offset,
                MARK_OPEN, MARK_CLOSE, query.fts5()]
        return sql, args

    def search_count(
        self, query: ParsedQuery, filters: str, params: list, collapse: bool
    ) -> tuple[str, list]:
        matches = (
            "SELECT c.url_key, COALESCE(c.text_digest, c.id) AS version"
            " FROM capture_text JOIN captures c ON c.rowid = capture_text.rowid"
            f" WHERE capture_text MATCH ? {filters}"
        )
        counted = f"SELECT DISTINCT url_key, version FROM ({matches})" if collapse else matches
        return f"SELECT COUNT(*) AS n FROM ({counted})", [query.fts5(), *params]


class PostgresDialect(Dialect):
    name = "postgresql"
    placeholder = "%s"

    def time(self, value: datetime) -> datetime:
        return utc(value)

    def day_of(self, column: str) -> str:
        return f"({column} AT TIME ZONE 'UTC')::date"

    def converter(self, column: str) -> Callable[[Any], Any] | None:
        return _postgres_time if column.endswith("_at") else super().converter(column)

    def from_db(self, column: str, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return super().from_db(column, value)

    def insert_text(self) -> str:
        return "INSERT INTO capture_text (capture_id, title, body) VALUES (?, ?, ?)"

    def text_of(self) -> str:
        return "SELECT title, body FROM capture_text WHERE capture_id = ?"

    def search(
        self, query: ParsedQuery, filters: str, params: list, limit: int, offset: int, collapse: bool
    ) -> tuple[str, list]:
        columns = ", ".join(f"c.{name}" for name in CAPTURE_COLUMNS)
        options = (
            f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, MaxFragments=2, MaxWords=24,"
            " MinWords=8, FragmentDelimiter=' … '"
        )
        matches = (
            "SELECT c.id, c.url_key, COALESCE(c.text_digest, c.id) AS version, c.captured_at,"
            " t.tsv @@ q.p AS phrase, ts_rank_cd(t.tsv, q.q) AS rank"
            " FROM capture_text t JOIN captures c ON c.id = t.capture_id, q"
            f" WHERE t.tsv @@ q.q {filters}"
        )
        newest = (
            "SELECT DISTINCT ON (url_key, version) * FROM m"
            " ORDER BY url_key, version, captured_at DESC, id DESC"
        )
        sql = (
            "WITH q AS (SELECT websearch_to_tsquery('english', ?) AS q,"
            " phraseto_tsquery('english', ?) AS p)," + _page(matches, newest if collapse else None) +
            f" SELECT {columns}, page.rank AS rank,{_VERSION_COLUMNS}"
            " ts_headline('english', t.body, q.q, ?) AS snippet"
            " FROM page JOIN captures c ON c.id = page.id"
            " JOIN capture_text t ON t.capture_id = page.id, q" + _PAGE_ORDER
        )
        return sql, [query.websearch(), query.phrase_text(), *params, limit, offset, options]

    def search_count(
        self, query: ParsedQuery, filters: str, params: list, collapse: bool
    ) -> tuple[str, list]:
        version = "DISTINCT c.url_key, COALESCE(c.text_digest, c.id)" if collapse else "c.id"
        sql = (
            f"SELECT COUNT(*) AS n FROM (SELECT {version}"
            " FROM capture_text t JOIN captures c ON c.id = t.capture_id,"
            " websearch_to_tsquery('english', ?) AS q"
            f" WHERE t.tsv @@ q {filters}) AS hits"
        )
        return sql, [query.websearch(), *params]

    def url_key_sorted(self, prefix: str = "") -> str:
        # Byte order whatever the database's collation; migration 0003 indexes this expression.
        return f'{prefix}url_key COLLATE "C"'
