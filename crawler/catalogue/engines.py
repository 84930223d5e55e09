"""Connections and transactions for the two engines, behind one small interface.

``transaction()`` yields a ``Tx`` speaking the portable ``?`` placeholder; ``run_script`` and
``lock_migrations`` are what the migrations runner (``schema``) needs. SQLite keeps one connection
per thread (WAL, so readers never wait for the writer); PostgreSQL a bounded pool.

A database that cannot be reached (refused, pool timeout, a file that cannot be opened or stays
locked) raises ``CatalogueUnavailable`` from here, so callers tell an outage (retry, a 503) from a
bug by its type, whichever driver is underneath.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crawler.catalogue.dialects import Dialect, PostgresDialect, SQLiteDialect
from crawler.catalogue.errors import CatalogueError, CatalogueUnavailable


class Tx:
    """A cursor inside one transaction, speaking the portable ``?`` placeholder."""

    def __init__(self, dialect: Dialect, cursor: Any) -> None:
        self.dialect = dialect
        self.cursor = cursor

    def execute(self, sql: str, params: list | tuple = (), *, plan_each_time: bool = False) -> Tx:
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

    def tuples(self) -> list[tuple]:
        """The rows as the driver gives them, in the statement's column order: for hot reads that
        build their own rows and would only throw the per-row dicts of ``rows`` away."""
        return [] if self.cursor.description is None else list(self.cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


# SQLite's messages for a file it cannot reach now, as opposed to a statement it cannot run.
_SQLITE_OUTAGES = ("unable to open database file", "database is locked", "disk i/o error")


class SQLiteEngine:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.dialect = SQLiteDialect()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._conn()
        except (OSError, sqlite3.OperationalError) as exc:
            raise self._unavailable(exc) from exc
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

    def _unavailable(self, exc: Exception) -> CatalogueUnavailable:
        return CatalogueUnavailable(
            f"cannot use the SQLite catalogue at {self.path} ({exc}); check that its folder exists"
            " and is writable (DECLUTTER_DATA_DIR, or DECLUTTER_DATABASE_URL=sqlite:///path) and"
            " that no other program holds the file locked"
        )

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.OperationalError as exc:
            raise self._unavailable(exc) from exc
        try:
            yield Tx(self.dialect, conn.cursor())
        except BaseException as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and str(exc).lower() in _SQLITE_OUTAGES:
                raise self._unavailable(exc) from exc
            raise
        conn.execute("COMMIT")

    def run_script(self, tx: Tx, script: str) -> None:
        statement = ""
        for line in script.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                tx.cursor.execute(statement)
                statement = ""
        if statement.strip() and not statement.strip().startswith("--"):
            tx.cursor.execute(statement)

    def lock_migrations(self, tx: Tx) -> None:
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


class PostgresEngine:
    def __init__(self, url: str, *, max_size: int = 8, timeout: float = 5.0) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout

        self.dialect = PostgresDialect()
        self.url = url
        # Server gone, connection lost, no pooled connection in time: an outage, not a bug.
        self._outages = (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError)
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
            raise CatalogueUnavailable(
                f"cannot connect to PostgreSQL at {redact(url)}: {exc}; check that it is running"
                " and DECLUTTER_DATABASE_URL"
            ) from exc

    def describe(self) -> str:
        return redact(self.url)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        try:
            with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield Tx(self.dialect, cur)
        except self._outages as exc:
            raise CatalogueUnavailable(
                f"the PostgreSQL catalogue at {redact(self.url)} is unreachable"
                f" ({type(exc).__name__}: {exc}); check that it is running and DECLUTTER_DATABASE_URL"
            ) from exc

    def run_script(self, tx: Tx, script: str) -> None:
        tx.cursor.execute(script)

    def lock_migrations(self, tx: Tx) -> None:
        tx.cursor.execute("SELECT pg_advisory_xact_lock(724011)")

    def close(self) -> None:
        self.pool.close()


def redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


Engine = SQLiteEngine | PostgresEngine
