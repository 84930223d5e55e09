"""Schema migrations: numbered SQL files per engine, each applied once, in order, under a lock.

``migrations/<engine>/NNNN_name.sql`` holds what SQL can do. A version may also have a Python
step in ``STEPS`` (run after its SQL, in the same transaction), for what SQL cannot do, such as
recomputing url keys with the ``surt`` library. The lock (SQLite's write lock, a PostgreSQL
advisory lock) lets several processes open one catalogue at once and still apply each version once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from crawler.catalogue.capture_log import backfill
from crawler.catalogue.engines import Engine, Tx
from crawler.catalogue.errors import BadQuery
from crawler.catalogue.keys import url_key
from crawler.catalogue.rows import iso

MIGRATIONS = Path(__file__).with_name("migrations")

Step = Callable[[Tx], None]


def surt_url_keys(tx: Tx) -> None:
    """Version 4: every url_key rewritten from the hand-written SURT to the surt library's.

    One UPDATE per URL whose key changes, found through the url_key index; a stored URL that
    cannot be keyed (never the case for a fetched one) keeps its old key rather than block opening.
    """
    for table in ("captures", "changes"):
        updates = []
        for row in tx.execute(f"SELECT DISTINCT url, url_key FROM {table}").rows():
            try:
                new = url_key(row["url"])
            except BadQuery:
                continue
            if new != row["url_key"]:
                updates.append((new, row["url_key"], row["url"]))
        if updates:
            sql = f"UPDATE {table} SET url_key = ? WHERE url_key = ? AND url = ?"
            tx.cursor.executemany(tx.dialect.sql(sql), updates)


STEPS: dict[int, Step] = {4: surt_url_keys, 5: backfill}


def migrate(engine: Engine) -> list[int]:
    """Apply the versions not yet applied; returns the versions applied now."""
    folder = MIGRATIONS / engine.dialect.name
    scripts = sorted(
        (int(p.name.split("_", 1)[0]), p) for p in folder.glob("*.sql") if p.name[0].isdigit()
    )
    applied_now: list[int] = []
    with engine.transaction() as tx:
        engine.lock_migrations(tx)
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {r["version"] for r in tx.execute("SELECT version FROM schema_migrations").rows()}
        for version, path in scripts:
            if version in done:
                continue
            engine.run_script(tx, path.read_text(encoding="utf-8"))
            step = STEPS.get(version)
            if step is not None:
                step(tx)
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [version, path.name, iso(datetime.now(UTC))],
            )
            applied_now.append(version)
    return applied_now


def schema_version(engine: Engine) -> int:
    """The highest version applied."""
    with engine.transaction(write=False) as tx:
        rows = tx.execute("SELECT MAX(version) AS v FROM schema_migrations").rows()
    return int(rows[0]["v"] or 0)
