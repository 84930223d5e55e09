"""The capture log's chain on both engines: appended with each capture, checked end to end, an
edited entry or capture row named, concurrent writers in one chain, old captures backfilled."""

from __future__ import annotations

import shutil
import threading
from datetime import timedelta

import pytest

from crawler.catalogue import capture_log, open_catalogue
from crawler.catalogue.capture_log import GENESIS, entry_hash, log_time
from tests.kit.catalogue import T0, capture_row


@pytest.fixture
def catalogue(settings, database):
    cat = open_catalogue(settings(database=database))
    yield cat
    cat.close()


def _record(catalogue, n: int, start: int = 0) -> list:
    rows = [
        capture_row(f"https://example.com/log/{start + i}", T0 + timedelta(minutes=start + i),
                    article_sha256=f"{start + i:064x}" if i % 2 else None)
        for i in range(n)
    ]
    for row in rows:
        assert catalogue.record_capture(row, text="logged words")
    return rows


def _entries(catalogue) -> list[dict]:
    with catalogue.engine.transaction(write=False) as tx:
        return tx.execute("SELECT * FROM capture_log ORDER BY seq").rows()


def _tamper(catalogue, sql: str, params: list) -> None:
    """What someone with write access to the database does: lift the append-only guard, edit."""
    with catalogue.engine.transaction() as tx:
        if catalogue.kind == "postgresql":
            tx.execute("ALTER TABLE capture_log DISABLE TRIGGER capture_log_append_only")
        else:
            tx.execute("DROP TRIGGER capture_log_no_update")
            tx.execute("DROP TRIGGER capture_log_no_delete")
        tx.execute(sql, params)


def test_each_capture_appends_an_entry_chained_to_the_one_before(catalogue):
    rows = _record(catalogue, 4)
    assert not catalogue.record_capture(rows[0])  # already there: no second entry
    entries = _entries(catalogue)
    assert [e["capture_id"] for e in entries] == [r.id for r in rows]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    prev = GENESIS
    for e, row in zip(entries, rows, strict=True):
        assert e["prev_hash"] == prev
        # Recomputed here from the row as recorded, not from the entry: the entry holds the row.
        expected = entry_hash(
            e["seq"], row.id, row.url, log_time(row.captured_at), row.warc_sha256,
            row.article_sha256 or "", prev,
        )
        assert e["entry_hash"] == expected
        prev = expected
    head = capture_log.head(catalogue.engine)
    assert (head.seq, head.entry_hash, head.checkpoint_seq) == (4, prev, 0)
    check = capture_log.check_chain(catalogue.engine, hashes_at={2, 4})
    assert (check.entries, check.problems) == (4, [])
    assert check.hashes == {2: entries[1]["entry_hash"], 4: prev}


def test_the_log_refuses_updates_and_deletes(catalogue):
    _record(catalogue, 1)
    for sql in ("UPDATE capture_log SET url = 'https://elsewhere.example/'", "DELETE FROM capture_log"):
        with pytest.raises(Exception, match="append-only"):
            with catalogue.engine.transaction() as tx:
                tx.execute(sql)
    assert len(_entries(catalogue)) == 1


def test_an_edited_entry_is_named_and_breaks_the_chain_after_it(catalogue):
    rows = _record(catalogue, 5)
    _tamper(catalogue, "UPDATE capture_log SET url = ? WHERE seq = 3", ["https://forged.example/"])
    problems = capture_log.check_chain(catalogue.engine).problems
    assert problems[0].seq == 3 and problems[0].capture_id == rows[2].id
    assert "edited" in problems[0].message
    assert {p.seq for p in problems} == {3}  # its capture row disagrees too; entries 4, 5 are sound


def test_an_entry_rehashed_to_match_its_edit_breaks_the_next_link(catalogue):
    rows = _record(catalogue, 4)
    e = _entries(catalogue)[1]
    forged = entry_hash(2, e["capture_id"], "https://forged.example/", e["captured_at"],
                        e["warc_sha256"], e["article_sha256"], e["prev_hash"])
    _tamper(catalogue, "UPDATE capture_log SET url = ?, entry_hash = ? WHERE seq = 2",
            ["https://forged.example/", forged])
    problems = capture_log.check_chain(catalogue.engine).problems
    assert (problems[0].seq, problems[0].capture_id) == (2, rows[1].id)
    assert "url" in problems[0].message  # the capture row still says otherwise
    assert any(p.seq == 3 and "previous hash" in p.message for p in problems)


def test_an_edited_capture_row_is_named(catalogue):
    rows = _record(catalogue, 3)
    with catalogue.engine.transaction() as tx:
        tx.execute("UPDATE captures SET warc_sha256 = ? WHERE id = ?", ["f" * 64, rows[1].id])
    [problem] = capture_log.check_chain(catalogue.engine).problems
    assert (problem.seq, problem.capture_id) == (2, rows[1].id)
    assert "warc_sha256" in problem.message


def test_a_removed_last_entry_shows_at_the_head(catalogue):
    _record(catalogue, 3)
    _tamper(catalogue, "DELETE FROM capture_log WHERE seq = 3", [])
    messages = [str(p) for p in capture_log.check_chain(catalogue.engine).problems]
    assert any("head names entry 3" in m for m in messages)
    assert any("not in the log" in m for m in messages)


def test_concurrent_writers_keep_one_chain(settings, database):
    """Four writers with their own connections (pool or file): one unbroken chain of 60."""
    s = settings(database=database)
    catalogues = [open_catalogue(s) for _ in range(4)]
    errors: list[Exception] = []

    def write(k: int) -> None:
        try:
            for i in range(15):
                catalogues[k].record_capture(capture_row(f"https://example.com/w{k}/{i}", T0))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        check = capture_log.check_chain(catalogues[0].engine)
        assert (check.entries, check.problems) == (60, [])
    finally:
        for c in catalogues:
            c.close()


def test_captures_recorded_before_the_log_are_logged_when_it_arrives(
    settings, database, tmp_path, monkeypatch
):
    from crawler.catalogue import schema

    folder = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, folder)
    (folder / database / "0005_capture_log.sql").unlink()
    real = schema.MIGRATIONS
    monkeypatch.setattr(schema, "MIGRATIONS", folder)
    monkeypatch.setattr(capture_log, "append", lambda tx, row: 0)  # the code before the log
    s = settings(database=database)
    with open_catalogue(s) as old:
        assert old.schema_version() == 4
        rows = [capture_row(f"https://example.com/old/{i}", T0 - timedelta(days=i)) for i in range(3)]
        for row in rows:
            old.record_capture(row)
    monkeypatch.undo()
    monkeypatch.setattr(schema, "MIGRATIONS", real)
    with open_catalogue(s) as new:
        assert new.schema_version() >= 5
        assert [e["capture_id"] for e in _entries(new)] == [r.id for r in reversed(rows)]
        assert capture_log.check_chain(new.engine).problems == []
