"""Signed checkpoints of the capture log in object storage, and the check of log and checkpoints.

The chain (``crawler.catalogue.capture_log``) shows an edit to one entry, but whoever can write
the catalogue could rewrite every entry after it and the head too. A checkpoint fixes the head
outside the catalogue: ``{count, head, created}`` signed with the archive's key
(``crawler.snapshot.keys``, the key that signs WACZ exports) and put in object storage as
``log/<log id>/checkpoints/<count>.json`` (the id, signed too, keeps two catalogues sharing a
bucket apart). A rewritten chain no longer reaches the head a checkpoint
signed, and a checkpoint cannot be edited or made up without the private key.

The signature is made as a WACZ's is: ``signedData.hash`` is the sha256 of the checkpoint's
canonical JSON (sorted keys, no spaces, without ``signedData``), and ``signature`` an ECDSA
P-384 signature of that hash string, base64 r||s; so a third party checks one with the same
steps and tools (README, Provenance).

One is written after a capture when ``DECLUTTER_LOG_CHECKPOINT_EVERY`` entries came since the
last, or an hour passed: so entries wait at most that long, or that many captures, for a
signature, and a quiet archive signs nothing new. Writers in several processes may both write
the checkpoint of one count; both are valid, and the head row notes one of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.catalogue import Catalogue, capture_log
from crawler.catalogue.capture_log import Problem
from crawler.config import Settings
from crawler.snapshot.keys import KeySigner, PublicKey, public_keys, verify_signature
from crawler.snapshot.store import SnapshotStore, StorageError

log = logging.getLogger(__name__)

KIND = "declutter-capture-log-checkpoint"
VERSION = 1
INTERVAL = timedelta(hours=1)


def prefix(log_id: str) -> str:
    return f"log/{log_id}/checkpoints/"


def checkpoint_key(log_id: str, count: int) -> str:
    """Zero-padded, so listing the prefix gives them in count order."""
    return f"{prefix(log_id)}{count:012d}.json"


def _digest(body: dict[str, Any]) -> str:
    unsigned = {k: v for k, v in body.items() if k != "signedData"}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Checkpoints:
    """Writes a signed checkpoint of the capture log when one is due (see the module header)."""

    def __init__(
        self, store: SnapshotStore, catalogue: Catalogue, data_dir: Path, *, every: int = 1000
    ) -> None:
        if every < 1:
            raise ValueError(
                f"DECLUTTER_LOG_CHECKPOINT_EVERY={every}: a checkpoint needs at least 1 entry"
            )
        self.store = store
        self.catalogue = catalogue
        self.data_dir = Path(data_dir)
        self.every = every

    @classmethod
    def from_settings(cls, store: SnapshotStore, catalogue: Catalogue, settings: Settings) -> Checkpoints:
        return cls(store, catalogue, settings.data_dir, every=settings.log_checkpoint_every)

    def due(self, head: capture_log.Head, now: datetime) -> bool:
        if head.seq <= head.checkpoint_seq:
            return False
        if head.seq - head.checkpoint_seq >= self.every or head.checkpoint_at is None:
            return True
        return now - head.checkpoint_at >= INTERVAL

    def after_capture(self) -> str | None:
        """Write a checkpoint if one is due; its key, or None. Never fails a capture: a checkpoint
        that cannot be written now is written after a later capture (its head is still unsigned)."""
        try:
            # The head this process's capture left: no query. (Another thread's capture may have
            # moved it since: a checkpoint of a head a little older or newer is as valid.)
            head = self.catalogue.log_head or capture_log.head(self.catalogue.engine)
            if not self.due(head, datetime.now(UTC)):
                return None
            return self.write(head)
        except Exception:
            log.warning("the capture log's checkpoint could not be written now", exc_info=True)
            return None

    def write(self, head: capture_log.Head | None = None) -> str | None:
        """Sign and store the log's head now (None when the log is empty); returns the object key."""
        head = head or capture_log.head(self.catalogue.engine)
        if head.seq == 0:
            return None
        now = datetime.now(UTC)
        body: dict[str, Any] = {
            "type": KIND,
            "version": VERSION,
            "log": head.log_id,
            "count": head.seq,
            "head": head.entry_hash,
            "created": capture_log.log_time(now),
        }
        # The key file is read each time (a checkpoint is rare): after `declutter key rotate` a
        # running archive signs with the new key, never on with the retired one.
        signer = KeySigner.for_data_dir(self.data_dir)
        body["signedData"] = signer.sign(_digest(body), body["created"])
        key = checkpoint_key(head.log_id, head.seq)
        data = json.dumps(body, indent=1, sort_keys=True).encode("utf-8")
        self.store.put(key, data, "application/json")
        capture_log.mark_checkpoint(self.catalogue.engine, head.seq, now, after=head.checkpoint_seq)
        return key


@dataclass
class LogReport:
    """What ``verify_log`` found; ``problems`` in log order, the first is where the log breaks."""

    entries: int = 0
    checkpoints: int = 0
    last_checkpoint: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsigned(self) -> int:
        """Entries after the last checkpoint: held by the chain only, until the next one."""
        return max(0, self.entries - self.last_checkpoint)


def verify_log(store: SnapshotStore, catalogue: Catalogue, data_dir: Path) -> LogReport:
    """Check every checkpoint's signature, the whole chain, and each checkpoint's head against it."""
    keys = public_keys(data_dir)
    log_id = capture_log.head(catalogue.engine).log_id
    checkpoints: list[tuple[int, str]] = []  # (count, head) of each checkpoint that verifies
    report = LogReport()
    bad: list[Problem] = []
    for key, body in _read_checkpoints(store, log_id):
        report.checkpoints += 1
        reason = _checkpoint_problem(key, body, keys, log_id)
        if reason:
            bad.append(Problem(0, "", f"checkpoint {key}: {reason}"))
        else:
            checkpoints.append((int(body["count"]), str(body["head"])))
    chain = capture_log.check_chain(catalogue.engine, hashes_at={count for count, _ in checkpoints})
    report.entries = chain.entries
    problems = list(chain.problems)
    for count, head in checkpoints:
        report.last_checkpoint = max(report.last_checkpoint, count)
        if count > chain.entries:
            problems.append(Problem(
                count, "?", f"checkpoint {checkpoint_key(log_id, count)} signed {count} entries but the log"
                f" holds {chain.entries}: entries were removed"
            ))
        elif chain.hashes.get(count) != head:
            problems.append(Problem(
                count, _capture_at(catalogue, count),
                f"differs from the head that checkpoint {checkpoint_key(log_id, count)} signed: the log was"
                " rewritten at or before this entry",
            ))
    noted = capture_log.head(catalogue.engine).checkpoint_seq
    if noted and noted not in {count for count, _ in checkpoints}:
        bad.append(Problem(0, "", f"the catalogue notes checkpoint {checkpoint_key(log_id, noted)}"
                           " but storage holds no valid one: it was removed or edited"))
    problems.sort(key=lambda p: (p.seq == 0, p.seq))
    report.problems = problems + bad
    return report


def _read_checkpoints(store: SnapshotStore, log_id: str) -> Iterator[tuple[str, Any]]:
    for key in sorted(store.keys(prefix(log_id))):
        try:
            yield key, json.loads(store.get(key))
        except ValueError:
            yield key, None
        except StorageError as exc:
            yield key, exc


def _checkpoint_problem(key: str, body: Any, keys: list[PublicKey], log_id: str) -> str:
    """Why a stored checkpoint cannot be trusted, or "" when it verifies with one of our keys."""
    if isinstance(body, StorageError):
        return f"cannot be read ({body})"
    if not isinstance(body, dict) or body.get("type") != KIND:
        return "is not a capture-log checkpoint (not JSON, or another type)"
    signed = body.get("signedData")
    if not isinstance(signed, dict) or not isinstance(body.get("count"), int):
        return "has no signedData or count"
    if key != checkpoint_key(str(body.get("log")), body["count"]) or body.get("log") != log_id:
        return f"says log {body.get('log')}, count {body['count']}: it belongs under another name"
    if signed.get("hash") != _digest(body):
        return "its contents do not match the hash that was signed: the object was edited"
    ours = next((k for k in keys if k.base64 == signed.get("publicKey")), None)
    if ours is None:
        return "is signed by a key that is not this archive's (see `declutter key show`)"
    if not verify_signature(ours, str(signed.get("signature", "")), signed["hash"]):
        return "its signature does not verify"
    created = datetime.fromisoformat(str(body.get("created", "")).replace("Z", "+00:00"))
    # A retirement time is kept to the second: a checkpoint of that same second is before it.
    if ours.retired is not None and created.replace(microsecond=0) > ours.retired:
        return f"is signed by a key retired at {ours.retired:%Y-%m-%dT%H:%M:%SZ}, after its retirement"
    return ""


def _capture_at(catalogue: Catalogue, seq: int) -> str:
    with catalogue.engine.transaction(write=False) as tx:
        rows = tx.execute("SELECT capture_id FROM capture_log WHERE seq = ?", [seq]).rows()
    return rows[0]["capture_id"] if rows else "?"
