"""The capture log: an append-only hash chain of every capture, kept in the catalogue.

Each entry holds what proves a capture (its id, URL, capture time, the sha256 of its WARC and
article objects) and the hash of the entry before it; its own hash covers all of that. Editing,
removing or reordering any entry breaks every hash after it, and editing a capture row makes it
disagree with its entry. The archive signs the head every N entries or hour and puts that
checkpoint in object storage (``crawler.archive.checkpoints``), so even a rewrite of the whole
chain shows against a checkpoint the catalogue's owner cannot re-sign.

Appends happen inside ``record_capture``'s transaction: a capture is never recorded unlogged, nor
logged unrecorded. Writers must not fork the chain (two entries on one previous hash), so each
append starts by moving the head row ``capture_log_head`` on (``UPDATE ... RETURNING``, which
also reads the previous hash), under a lock held to commit: on SQLite the database write lock
that ``BEGIN IMMEDIATE`` already took (one writer at a time, every process); on PostgreSQL the
row lock of that UPDATE, so crawl processes queue on the head for the rest of the capture's
transaction, and the next one's UPDATE sees the head the last one committed. ``seq`` is the
primary key as well: a fork could not commit even if the lock were bypassed. Two statements on
PostgreSQL (the entry and the head's new hash go in one), so the log adds two round trips to a
capture's transaction and no transaction of its own: see ``bench/storage.py``.

Named ``capture_log``, not ``log``: ``log`` is every module's logger.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ulid import ULID

from crawler.catalogue.dialects import utc
from crawler.catalogue.engines import Engine, Tx
from crawler.catalogue.rows import CaptureRow

# The previous hash of the first entry.
GENESIS = "0" * 64
ENTRY_COLUMNS = (
    "seq", "capture_id", "url", "captured_at", "warc_sha256", "article_sha256", "prev_hash",
    "entry_hash",
)
# Entries read per query while checking: memory stays flat however long the log is.
PAGE = 2000


def log_time(moment: datetime) -> str:
    """The one text form of a capture time that is hashed and stored (microseconds, UTC, Z)."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    seq: int, capture_id: str, url: str, captured_at: str, warc_sha256: str,
    article_sha256: str, prev_hash: str,
) -> str:
    """sha256 of the entry as canonical JSON (sorted keys, no spaces, UTF-8): easy to recompute
    with any JSON library, and no field can bleed into the next as in a joined string."""
    fields = {
        "seq": seq,
        "capture_id": capture_id,
        "url": url,
        "captured_at": captured_at,
        "warc_sha256": warc_sha256,
        "article_sha256": article_sha256,
        "prev": prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Head:
    """The chain's last entry (``seq`` 0 and ``GENESIS`` when empty), the last checkpoint, and the
    log's id (see ``backfill``)."""

    seq: int
    entry_hash: str
    checkpoint_seq: int
    checkpoint_at: datetime | None
    log_id: str


def append(tx: Tx, row: CaptureRow) -> Head:
    """Log ``row`` inside the transaction that records it; returns the head after it (the archive
    decides from it whether a checkpoint is due, with no query of its own)."""
    return _append(
        tx, [row.id, row.url, log_time(row.captured_at), row.warc_sha256, row.article_sha256 or ""]
    )


_INSERT = (
    "INSERT INTO capture_log (seq, capture_id, url, captured_at, warc_sha256, article_sha256,"
    " prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SET_HASH = "UPDATE capture_log_head SET entry_hash = ? WHERE id = 1"


def _append(tx: Tx, values: list[str]) -> Head:
    # Takes the head's lock (see the module header); entry_hash is still the previous entry's.
    [now] = tx.execute(
        "UPDATE capture_log_head SET seq = seq + 1 WHERE id = 1"
        " RETURNING seq, entry_hash, checkpoint_seq, checkpoint_at, log_id"
    ).rows()
    seq, prev = int(now["seq"]), now["entry_hash"]
    digest = entry_hash(seq, *values, prev)
    if tx.dialect.name == "postgresql":
        # One round trip for both writes (a data-modifying WITH; SQLite has none, and needs none).
        tx.execute(f"WITH entry AS ({_INSERT}) {_SET_HASH}", [seq, *values, prev, digest, digest])
    else:
        tx.execute(_INSERT, [seq, *values, prev, digest])
        tx.execute(_SET_HASH, [digest])
    return _head({**now, "entry_hash": digest})


def backfill(tx: Tx) -> None:
    """Schema version 5: the log's id, and captures recorded before the log existed, logged
    oldest first. The id names the log's checkpoints in object storage and is signed in each,
    so two catalogues sharing a bucket never mistake each other's checkpoints for their own."""
    tx.execute("UPDATE capture_log_head SET log_id = ? WHERE id = 1", [str(ULID()).lower()])
    rows = tx.execute(
        "SELECT id, url, captured_at, warc_sha256, article_sha256 FROM captures"
        " ORDER BY captured_at, id"
    ).rows()
    for r in rows:
        captured_at = log_time(tx.dialect.from_db("captured_at", r["captured_at"]))
        _append(tx, [r["id"], r["url"], captured_at, r["warc_sha256"], r["article_sha256"] or ""])


def head(engine: Engine) -> Head:
    with engine.transaction(write=False) as tx:
        [r] = tx.execute(
            "SELECT seq, entry_hash, checkpoint_seq, checkpoint_at, log_id FROM capture_log_head"
            " WHERE id = 1"
        ).rows()
    return _head(r)


def _head(r: dict[str, Any]) -> Head:
    at = r["checkpoint_at"]
    moment = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else None
    return Head(int(r["seq"]), r["entry_hash"], int(r["checkpoint_seq"]), moment, r["log_id"])


def mark_checkpoint(engine: Engine, seq: int, at: datetime, *, after: int) -> bool:
    """Note a checkpoint of ``seq`` written; False when another writer noted a later one first."""
    with engine.transaction() as tx:
        return tx.execute(
            "UPDATE capture_log_head SET checkpoint_seq = ?, checkpoint_at = ?"
            " WHERE id = 1 AND checkpoint_seq = ?",
            [seq, log_time(at), after],
        ).rowcount == 1


@dataclass(frozen=True)
class Problem:
    """Where the log breaks: the entry (``seq`` 0 for the log as a whole) and what is wrong."""

    seq: int
    capture_id: str
    message: str

    def __str__(self) -> str:
        where = f"entry {self.seq} (capture {self.capture_id})" if self.seq else "the log"
        return f"{where}: {self.message}"


@dataclass
class ChainCheck:
    """What ``check_chain`` found: entries walked, problems in log order, recomputed hashes asked for."""

    entries: int
    problems: list[Problem]
    hashes: dict[int, str]


def check_chain(engine: Engine, *, hashes_at: set[int] | frozenset[int] = frozenset()) -> ChainCheck:
    """Walk the log from its first entry, recomputing every hash and comparing each entry with its
    capture row; ``hashes_at``: the seqs whose recomputed hash the checkpoints need."""
    problems: list[Problem] = []
    hashes: dict[int, str] = {}
    expected_seq, prev, entries = 1, GENESIS, 0
    for e, capture in _entries(engine):
        entries += 1
        seq = e["seq"]
        where = (seq, e["capture_id"])
        if seq != expected_seq:
            problems.append(Problem(*where, f"follows entry {expected_seq - 1}: entries are missing"))
        if e["prev_hash"] != prev:
            problems.append(Problem(*where, "its previous hash is not the hash of the entry before"))
        fields = [e[c] for c in ENTRY_COLUMNS[1:6]]
        digest = entry_hash(seq, *fields, e["prev_hash"])
        if digest != e["entry_hash"]:
            problems.append(Problem(*where, "its hash does not match its contents: the entry was edited"))
        problems.extend(Problem(*where, m) for m in _against_capture(e, capture, engine))
        if seq in hashes_at:
            hashes[seq] = digest
        # The next link is checked against the hash stored here, so an entry edited without
        # rehashing is named alone, and one rehashed to match its edit breaks the next link.
        expected_seq, prev = seq + 1, e["entry_hash"]
    problems.extend(_head_and_unlogged(engine, entries, prev))
    return ChainCheck(entries, problems, hashes)


def _entries(engine: Engine) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Every entry in seq order with its capture row's logged fields (None when the row is gone)."""
    after = 0
    columns = ", ".join(f"l.{c}" for c in ENTRY_COLUMNS)
    while True:
        with engine.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {columns}, c.id AS c_id, c.url AS c_url, c.captured_at AS c_captured_at,"
                " c.warc_sha256 AS c_warc_sha256, c.article_sha256 AS c_article_sha256"
                " FROM capture_log l LEFT JOIN captures c ON c.id = l.capture_id"
                " WHERE l.seq > ? ORDER BY l.seq LIMIT ?",
                [after, PAGE],
            ).rows()
        for r in rows:
            capture = {k[2:]: v for k, v in r.items() if k.startswith("c_")} if r["c_id"] else None
            yield {c: r[c] for c in ENTRY_COLUMNS}, capture
        if len(rows) < PAGE:
            return
        after = rows[-1]["seq"]


def _against_capture(entry: dict[str, Any], capture: dict[str, Any] | None, engine: Engine) -> list[str]:
    if capture is None:
        return ["its capture is no longer in the catalogue"]
    at = engine.dialect.from_db("captured_at", capture["captured_at"])
    found = {
        "url": capture["url"],
        "captured_at": log_time(at),
        "warc_sha256": capture["warc_sha256"],
        "article_sha256": capture["article_sha256"] or "",
    }
    return [
        f"the capture's {name} in the catalogue differs from the one logged"
        for name, value in found.items()
        if entry[name] != value
    ]


def _head_and_unlogged(engine: Engine, entries: int, last_hash: str) -> list[Problem]:
    """The head row must name the last entry; every capture row must have an entry."""
    problems: list[Problem] = []
    now = head(engine)
    if (now.seq, now.entry_hash) != (entries, last_hash):
        problems.append(Problem(
            0, "", f"the head names entry {now.seq} but the chain ends at entry {entries}"
            " with another hash: entries were removed or rewritten"
        ))
    with engine.transaction(write=False) as tx:
        missing = tx.execute(
            "SELECT c.id FROM captures c LEFT JOIN capture_log l ON l.capture_id = c.id"
            " WHERE l.seq IS NULL ORDER BY c.id LIMIT 5"
        ).rows()
    problems.extend(
        Problem(0, "", f"capture {r['id']} is in the catalogue but not in the log") for r in missing
    )
    return problems
