"""The capture catalogue: captures, crawls, changes and full-text search.

One query layer serves SQLite (the embedded default, WAL, under ``data/``) and PostgreSQL
(``DECLUTTER_DATABASE_URL=postgresql://...``). The two differ only in a ``Dialect``: placeholder
style, how times and booleans are stored, and the full-text search statement. Schemas evolve by
numbered SQL files in ``crawler/catalogue/migrations/<engine>/``, applied once each, under a lock.
"""

from __future__ import annotations

import base64
import html
import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ulid import ULID
from w3lib.url import canonicalize_url

from crawler.config import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"


class CatalogueError(Exception):
    """The catalogue cannot be opened or used; the message says what to fix."""


class CaptureNotFound(CatalogueError, KeyError):
    """No capture with that id is in the catalogue."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "capture not found"


class BadQuery(CatalogueError, ValueError):
    """A search query that cannot be run (empty, or only exclusions)."""


# --- URL keys --------------------------------------------------------------------------------


def url_key(url: str) -> str:
    """The SURT form used to group captures of one URL: ``com,example)/path?a=1&b=2``.

    Scheme, ``www.``, default ports, fragments and query order do not make a different page.
    """
    canonical = canonicalize_url(url.strip(), keep_fragments=False)
    parts = urlsplit(canonical)
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    surt_host = ",".join(reversed(host.split("."))) if host else ""
    port = parts.port
    if port and not (
        (parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)
    ):
        surt_host += f":{port}"
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{surt_host}){path}{query}"


def site_key(site: str) -> str:
    """The SURT host prefix of a domain (``example.com`` -> ``com,example``)."""
    host = site.strip().lower()
    if "//" in host:
        host = urlsplit(host).hostname or ""
    host = host.strip("/").rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if not host or "/" in host:
        raise BadQuery(f"{site!r} is not a domain name; pass one like example.com")
    return ",".join(reversed(host.split(".")))


MATCH_TYPES = ("exact", "prefix", "host", "domain")


def key_range(url: str, match_type: str = "exact") -> tuple[str, str | None]:
    """The url_keys a Wayback CDX ``matchType`` selects, as a half-open range ``[low, high)``.

    A range rather than LIKE, so the url_key index answers it (``high`` is None for one key).
    ``host`` is the URL's host only; ``domain`` adds its subdomains but never look-alikes such as
    ``example.com.evil.org`` (``org,evil,com,example)``) or ``examplexcom``.
    """
    if match_type not in MATCH_TYPES:
        raise BadQuery(f"matchType must be one of {', '.join(MATCH_TYPES)}, not {match_type!r}")
    key = url_key(url)
    if match_type == "exact":
        return key, None
    if match_type == "prefix":
        return key, _after(key)
    return _host_range(key.partition(")")[0], subdomains=match_type == "domain")


def _host_range(host: str, *, subdomains: bool) -> tuple[str, str]:
    if not subdomains:
        return host + ")", host + "*"
    # ")" ends the host itself, "," starts a subdomain; "-" is the first character after both.
    return host + ("," if "," not in host else ")"), host + "-"


def _after(key: str) -> str:
    """The smallest string greater than every string that starts with ``key``."""
    return key[:-1] + chr(ord(key[-1]) + 1)


# --- rows ------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class _Row:
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)  # type: ignore[call-overload]
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = _iso(value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """The inverse of ``to_dict`` (times come back as aware UTC datetimes)."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        values = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key.endswith("_at") and isinstance(value, str):
                value = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
            values[key] = value
        return cls(**values)


@dataclass
class CaptureRow(_Row):
    id: str
    url: str
    url_key: str
    captured_at: datetime
    status: int
    payload_digest: str
    warc_key: str
    warc_sha256: str
    warc_size: int
    canonical_url: str | None = None
    mime: str = ""
    text_digest: str | None = None
    article_key: str | None = None
    article_sha256: str | None = None
    title: str | None = None
    byline: str | None = None
    published: str | None = None
    lang: str | None = None
    site_name: str | None = None
    word_count: int = 0
    rendered: bool = False
    crawl_id: str | None = None
    revisit: bool = False
    revisit_of: str | None = None
    resource_digests: dict[str, str] = field(default_factory=dict)
    source: str = "server"
    fetch_error: str | None = None


@dataclass
class CrawlRow(_Row):
    id: str
    name: str
    started_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChangeRow(_Row):
    url: str
    url_key: str
    from_id: str
    to_id: str
    words_added: int
    words_removed: int
    title_before: str | None
    title_after: str | None
    detected_at: datetime
    id: int | None = None

    @property
    def title_changed(self) -> bool:
        return (self.title_before or "") != (self.title_after or "")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "title_changed": self.title_changed}


@dataclass
class SearchHit(_Row):
    """A capture matching a query; ``snippet`` is HTML-escaped text with terms in ``<mark>``.

    ``capture_count`` captures of the URL share this text version (same ``text_digest``), the
    first of them at ``first_captured_at``; a collapsed search shows only the newest of them.
    """

    capture: CaptureRow
    snippet: str
    rank: float
    capture_count: int = 1
    first_captured_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.capture.to_dict(),
            "snippet": self.snippet,
            "rank": self.rank,
            "capture_count": self.capture_count,
            "first_captured_at": _iso(self.first_captured_at or self.capture.captured_at),
        }


CAPTURE_COLUMNS = [f.name for f in fields(CaptureRow)]
_BOOL_COLUMNS = {"rendered", "revisit"}
_JSON_COLUMNS = {"resource_digests", "counts"}


# --- search queries --------------------------------------------------------------------------

_QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class ParsedQuery:
    """A user query: ``words "exact phrases" -excluded``."""

    words: list[str]
    phrases: list[str]
    excluded: list[str]

    @classmethod
    def parse(cls, text: str) -> ParsedQuery:
        words: list[str] = []
        phrases: list[str] = []
        excluded: list[str] = []
        for neg_q, quoted, neg, bare in _QUERY_TOKEN.findall(text or ""):
            if quoted or neg_q:
                target = excluded if neg_q else phrases
                if _WORD.search(quoted):
                    target.append(" ".join(_WORD.findall(quoted)))
            else:
                terms = _WORD.findall(bare)
                if neg and terms:
                    excluded.append(" ".join(terms))
                elif terms and bare.upper() not in {"AND", "OR", "NOT"}:
                    words.extend(terms)
        if not words and not phrases:
            raise BadQuery("the search query has no words to look for; type one or more words")
        return cls(words, phrases, excluded)

    def fts5(self) -> str:
        quote = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731
        expr = " AND ".join([quote(w) for w in self.words] + [quote(p) for p in self.phrases])
        for term in self.excluded:
            expr = f"{expr} NOT {quote(term)}"
        return expr

    def fts5_phrase(self) -> str:
        return '"' + " ".join(self.words + self.phrases).replace('"', '""') + '"'

    def websearch(self) -> str:
        parts = list(self.words) + [f'"{p}"' for p in self.phrases]
        parts += [f'-"{t}"' if " " in t else f"-{t}" for t in self.excluded]
        return " ".join(parts)

    def phrase_text(self) -> str:
        return " ".join(self.words + self.phrases)


def _snippet_html(raw: str | None) -> str:
    escaped = html.escape(raw or "", quote=False)
    return escaped.replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>")


# --- dialects --------------------------------------------------------------------------------


class Dialect:
    name = ""
    placeholder = "?"

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def to_db(self, column: str, value: Any) -> Any:
        if column in _JSON_COLUMNS:
            return json.dumps(value or {}, sort_keys=True, default=str)
        return value

    def from_db(self, column: str, value: Any) -> Any:
        if column in _JSON_COLUMNS:
            return json.loads(value) if value else {}
        if column in _BOOL_COLUMNS:
            return bool(value)
        return value

    def time(self, value: datetime) -> Any:
        raise NotImplementedError

    def insert_text(self) -> str:
        raise NotImplementedError

    def search(
        self, query: ParsedQuery, filters: str, params: list, limit: int, offset: int, collapse: bool
    ) -> tuple[str, list]:
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


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class SQLiteDialect(Dialect):
    name = "sqlite"

    def time(self, value: datetime) -> str:
        return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

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
                _MARK_OPEN, _MARK_CLOSE, query.fts5()]
        return sql, args


class PostgresDialect(Dialect):
    name = "postgresql"
    placeholder = "%s"

    def time(self, value: datetime) -> datetime:
        return _utc(value)

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
            f"StartSel={_MARK_OPEN}, StopSel={_MARK_CLOSE}, MaxFragments=2, MaxWords=24,"
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

    def url_key_sorted(self, prefix: str = "") -> str:
        # Byte order whatever the database's collation; migration 0003 indexes this expression.
        return f'{prefix}url_key COLLATE "C"'


# --- engines: connections and transactions ---------------------------------------------------


class _Tx:
    """A cursor inside one transaction, speaking the portable ``?`` placeholder."""

    def __init__(self, dialect: Dialect, cursor: Any) -> None:
        self.dialect = dialect
        self.cursor = cursor

    def execute(self, sql: str, params: list | tuple = (), *, plan_each_time: bool = False) -> _Tx:
        """``plan_each_time``: never reuse a generic plan (PostgreSQL prepares a statement run
        often); for queries whose best plan depends on the values, such as search."""
        if plan_each_time and self.dialect.name == "postgresql":
            self.cursor.execute(self.dialect.sql(sql), list(params), prepare=False)
        else:
            self.cursor.execute(self.dialect.sql(sql), list(params))
        return self

    def rows(self) -> list[dict[str, Any]]:
        if self.cursor.description is None:
            return []
        names = [d[0] for d in self.cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self.cursor.fetchall()]

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


class _SQLiteEngine:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dialect = SQLiteDialect()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        conn = self._conn()
        if not _has_fts5(conn):
            raise CatalogueError("this Python's SQLite lacks FTS5; install a Python built with it")

    def describe(self) -> str:
        return f"sqlite:///{self.path}"

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[_Tx]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield _Tx(self.dialect, conn.cursor())
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def run_script(self, tx: _Tx, script: str) -> None:
        statement = ""
        for line in script.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                tx.cursor.execute(statement)
                statement = ""
        if statement.strip() and not statement.strip().startswith("--"):
            tx.cursor.execute(statement)

    def lock_migrations(self, tx: _Tx) -> None:
        """BEGIN IMMEDIATE already holds the write lock."""

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass
            self._all.clear()
        self._local = threading.local()


def _has_fts5(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(x)")
        conn.execute("DROP TABLE temp.fts5_probe")
    except sqlite3.OperationalError:
        return False
    return True


class _PostgresEngine:
    def __init__(self, url: str, *, max_size: int = 8, timeout: float = 5.0) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.dialect = PostgresDialect()
        self.url = url
        self._errors = (psycopg.Error,)
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=timeout,
            name="declutter-catalogue",
            check=ConnectionPool.check_connection,
        )
        try:
            self.pool.open(wait=True, timeout=max(timeout, 5.0))
        except Exception as exc:
            self.pool.close()
            raise CatalogueError(
                f"cannot connect to PostgreSQL at {_redact(url)}: {exc}; check DECLUTTER_DATABASE_URL"
            ) from exc

    def describe(self) -> str:
        return _redact(self.url)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[_Tx]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield _Tx(self.dialect, cur)

    def run_script(self, tx: _Tx, script: str) -> None:
        tx.cursor.execute(script)

    def lock_migrations(self, tx: _Tx) -> None:
        tx.cursor.execute("SELECT pg_advisory_xact_lock(724011)")

    def close(self) -> None:
        self.pool.close()


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


# --- the catalogue ---------------------------------------------------------------------------


def _new_id(moment: datetime | None = None) -> str:
    return str(ULID.from_datetime(_utc(moment)) if moment else ULID())


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


class Catalogue:
    """Captures, crawls and changes in one database; every write is one transaction."""

    def __init__(self, engine: _SQLiteEngine | _PostgresEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
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
        """Apply the numbered SQL files not yet applied; returns the versions applied now."""
        folder = MIGRATIONS / self.dialect.name
        scripts = sorted(
            (int(p.name.split("_", 1)[0]), p) for p in folder.glob("*.sql") if p.name[0].isdigit()
        )
        applied_now: list[int] = []
        with self.engine.transaction() as tx:
            self.engine.lock_migrations(tx)
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {r["version"] for r in tx.execute("SELECT version FROM schema_migrations").rows()}
            for version, path in scripts:
                if version in done:
                    continue
                self.engine.run_script(tx, path.read_text(encoding="utf-8"))
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [version, path.name, _iso(datetime.now(UTC))],
                )
                applied_now.append(version)
        return applied_now

    def schema_version(self) -> int:
        with self.engine.transaction(write=False) as tx:
            rows = tx.execute("SELECT MAX(version) AS v FROM schema_migrations").rows()
        return int(rows[0]["v"] or 0)

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
            return [self._capture(r) for r in tx.execute(sql, params).rows()]

    def record_capture(
        self, row: CaptureRow, *, text: str = "", change: ChangeRow | None = None
    ) -> bool:
        """Insert a capture with its search text and change, atomically; False if already there."""
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
        ranges: list[tuple[str, str | None]] = []
        if url is not None:
            ranges.append(key_range(url, match))
        if site is not None:
            ranges.append(_host_range(site_key(site), subdomains=True))
        for low, high in ranges:
            if high is None:
                clauses.append(f"{prefix}url_key = ?")
                params.append(low)
            else:
                column = self.dialect.url_key_sorted(prefix)
                clauses.append(f"{column} >= ? AND {column} < ?")
                params += [low, high]
        if since is not None:
            clauses.append(f"{prefix}captured_at >= ?")
            params.append(self.dialect.time(since))
        if until is not None:
            clauses.append(f"{prefix}captured_at < ?")
            params.append(self.dialect.time(until))
        return clauses, params

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
            next_cursor = _encode_cursor(_iso(last.captured_at) or "", last.id)
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
        """Matching captures in CDX order (url_key, then time), a page at a time off the index."""
        clauses, params = self._filters(url=url, since=since, until=until, match=match)
        key = self.dialect.url_key_sorted()
        op, order = ("<", "DESC") if reverse else (">", "ASC")
        tail = f"ORDER BY {key} {order}, captured_at {order}, id {order} LIMIT ?"
        after: list[Any] = []
        while True:
            where = clauses + ([f"({key}, captured_at, id) {op} (?, ?, ?)"] if after else [])
            rows = self._select("WHERE " + " AND ".join(where), [*params, *after, batch], tail)
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1]
            after = [last.url_key, self.dialect.time(last.captured_at), last.id]

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
                _snippet_html(r["snippet"]),
                float(r["rank"]),
                int(r["capture_count"]),
                self.dialect.from_db("first_captured_at", r["first_captured_at"]),
            )
            for r in rows
        ]

    # crawls

    def start_crawl(self, name: str) -> str:
        crawl_id = _new_id()
        with self.engine.transaction() as tx:
            tx.execute(
                "INSERT INTO crawls (id, name, started_at, counts) VALUES (?, ?, ?, ?)",
                [crawl_id, name, self.dialect.time(datetime.now(UTC)), "{}"],
            )
        return crawl_id

    def update_crawl(self, crawl_id: str, counts: dict[str, Any]) -> None:
        self._set_crawl(crawl_id, counts, finished=False)

    def finish_crawl(self, crawl_id: str, counts: dict[str, Any]) -> None:
        self._set_crawl(crawl_id, counts, finished=True)

    def _set_crawl(self, crawl_id: str, counts: dict[str, Any], *, finished: bool) -> None:
        sql = "UPDATE crawls SET counts = ?" + (", finished_at = ?" if finished else "") + " WHERE id = ?"
        params: list[Any] = [self.dialect.to_db("counts", counts)]
        if finished:
            params.append(self.dialect.time(datetime.now(UTC)))
        with self.engine.transaction() as tx:
            if tx.execute(sql, [*params, crawl_id]).rowcount != 1:
                raise CatalogueError(f"no crawl with id {crawl_id!r}; start it with start_crawl()")

    def get_crawl(self, crawl_id: str) -> CrawlRow | None:
        rows = self._crawls("WHERE id = ?", [crawl_id])
        return rows[0] if rows else None

    def list_crawls(self, limit: int = 100) -> list[CrawlRow]:
        return self._crawls("ORDER BY started_at DESC, id DESC LIMIT ?", [limit])

    def _crawls(self, tail: str, params: list) -> list[CrawlRow]:
        names = [f.name for f in fields(CrawlRow)]
        with self.engine.transaction(write=False) as tx:
            rows = tx.execute(f"SELECT {', '.join(names)} FROM crawls {tail}", params).rows()
        return [CrawlRow(**{k: self.dialect.from_db(k, r[k]) for k in names}) for r in rows]

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
        names = [f.name for f in fields(ChangeRow)]
        with self.engine.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {', '.join(names)} FROM changes {where}"
                " ORDER BY detected_at DESC, id DESC LIMIT ?",
                [*params, limit],
            ).rows()
        return [ChangeRow(**{k: self.dialect.from_db(k, r[k]) for k in names}) for r in rows]


def open_catalogue(settings: Settings, *, pool_timeout: float = 5.0) -> Catalogue:
    """SQLite under ``data/`` unless ``DECLUTTER_DATABASE_URL`` names PostgreSQL (or a SQLite file).

    ``pool_timeout``: how long a PostgreSQL call waits for a connection before failing (and the
    archiver spooling), when the server is down or every pooled connection is busy.
    """
    url = (settings.database_url or "").strip()
    if not url:
        return Catalogue(_SQLiteEngine(settings.sqlite_path))
    if url.startswith(("postgresql://", "postgres://")):
        return Catalogue(_PostgresEngine(url, timeout=pool_timeout))
    if url.startswith("sqlite:///"):
        return Catalogue(_SQLiteEngine(Path(url[len("sqlite:///"):])))
    raise CatalogueError(
        f"DECLUTTER_DATABASE_URL={_redact(url)!r} is not understood; use postgresql://user:pass@host/db,"
        " sqlite:///path/file.sqlite3, or leave it empty for SQLite under the data directory"
    )
