"""The capture log end to end on both engines and the real SeaweedFS: signed checkpoints every N
entries or hour, `declutter verify --log` passing, and failing at an edited catalogue row, an
edited stored checkpoint, or a chain rewritten whole (which only a checkpoint can catch)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from crawler import cli
from crawler.archive import Archiver
from crawler.catalogue import capture_log
from crawler.snapshot.capture import Capture
from tests.kit.article import page
from tests.kit.settings import settings_vars


@pytest.fixture
def setup(settings, database, monkeypatch):
    s = settings(database=database, log_checkpoint_every=2)
    for name, value in settings_vars(s).items():
        monkeypatch.setenv(name, value)
    archiver = Archiver.from_settings(s)
    yield archiver
    archiver.close()


def _capture(n: int) -> Capture:
    return Capture(
        url=f"https://news.example/log/{time.time_ns()}/{n}",
        status=200,
        body=page(),
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        captured_at=datetime.now(UTC),
    )


def _checkpoints(archiver: Archiver) -> dict[int, dict]:
    log_id = capture_log.head(archiver.catalogue.engine).log_id
    found = {}
    for key in archiver.store.keys(f"log/{log_id}/checkpoints/"):
        body = json.loads(archiver.store.get(key))
        found[body["count"]] = body
    return found


def _entries(archiver: Archiver) -> list[dict]:
    with archiver.catalogue.engine.transaction(write=False) as tx:
        return tx.execute("SELECT * FROM capture_log ORDER BY seq").rows()


def _verify_log(capsys) -> tuple[int, str]:
    code = cli.main(["verify", "--log"])
    return code, capsys.readouterr().out


def _verifies_as_the_readme_says(body: dict) -> bool:
    """The README's recipe, from its words alone: sha256 of the canonical JSON without
    signedData is signedData.hash; the signature (r||s) verifies that hash string with publicKey."""
    signed = body["signedData"]
    unsigned = {k: v for k, v in body.items() if k != "signedData"}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if signed["hash"] != "sha256:" + hashlib.sha256(canonical.encode()).hexdigest():
        return False
    key = serialization.load_der_public_key(base64.b64decode(signed["publicKey"]))
    raw = base64.b64decode(signed["signature"])
    der = encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    try:
        key.verify(der, signed["hash"].encode(), ec.ECDSA(hashes.SHA256()))
    except Exception:
        return False
    return True


def test_checkpoints_every_n_entries_sign_the_head(setup, capsys):
    archiver = setup
    ids = [archiver.archive(_capture(n)).capture_id for n in range(5)]
    entries = _entries(archiver)
    assert [e["capture_id"] for e in entries] == ids
    checkpoints = _checkpoints(archiver)
    # The first capture (no checkpoint yet), then every 2 entries.
    assert sorted(checkpoints) == [1, 3, 5]
    for count, body in checkpoints.items():
        assert body["head"] == entries[count - 1]["entry_hash"]
        assert _verifies_as_the_readme_says(body)
    assert cli.main(["key", "show", "--json"]) == 0
    # Signed with the key the archive publishes (the one that signs WACZ exports).
    assert json.loads(capsys.readouterr().out)["publicKey"] == checkpoints[5]["signedData"]["publicKey"]
    code, out = _verify_log(capsys)
    assert code == 0, out
    assert "5 entries chained, 3 signed checkpoints" in out


def test_a_checkpoint_after_an_hour_even_below_n(settings, database):
    archiver = Archiver.from_settings(settings(database=database, log_checkpoint_every=1000))
    try:
        archiver.archive(_capture(0))
        archiver.archive(_capture(1))
        assert sorted(_checkpoints(archiver)) == [1]
        an_hour_ago = capture_log.log_time(datetime.now(UTC) - timedelta(minutes=61))
        with archiver.catalogue.engine.transaction() as tx:
            tx.execute("UPDATE capture_log_head SET checkpoint_at = ?", [an_hour_ago])
        archiver.archive(_capture(2))
        assert sorted(_checkpoints(archiver)) == [1, 3]
    finally:
        archiver.close()


def test_an_edited_catalogue_row_fails_verify_log_naming_its_entry(setup, capsys):
    archiver = setup
    ids = [archiver.archive(_capture(n)).capture_id for n in range(4)]
    with archiver.catalogue.engine.transaction() as tx:
        tx.execute("UPDATE captures SET url = ? WHERE id = ?", ["https://forged.example/", ids[2]])
    code, out = _verify_log(capsys)
    assert code == 1
    assert f"breaks at entry 3 (capture {ids[2]})" in out and "url" in out


def test_an_edited_checkpoint_object_fails_verify_log(setup, capsys):
    archiver = setup
    for n in range(3):
        archiver.archive(_capture(n))
    log_id = capture_log.head(archiver.catalogue.engine).log_id
    key = f"log/{log_id}/checkpoints/{3:012d}.json"
    body = json.loads(archiver.store.get(key))
    body["head"] = "f" * 64
    archiver.store.put(key, json.dumps(body).encode())
    code, out = _verify_log(capsys)
    assert code == 1
    assert "edited" in out and key in out


def test_a_chain_rewritten_whole_fails_at_the_checkpoint_it_no_longer_reaches(setup, capsys):
    """Entry 2 edited, it and every later hash and the head recomputed: the chain alone is sound,
    the signed checkpoint of entry 3 is not reached any more."""
    archiver = setup
    ids = [archiver.archive(_capture(n)).capture_id for n in range(4)]
    engine = archiver.catalogue.engine
    entries = _entries(archiver)
    forged = "https://forged.example/"
    with engine.transaction() as tx:
        if archiver.catalogue.kind == "postgresql":
            tx.execute("ALTER TABLE capture_log DISABLE TRIGGER capture_log_append_only")
        else:
            tx.execute("DROP TRIGGER capture_log_no_update")
        prev = entries[0]["entry_hash"]
        for e in entries[1:]:
            url = forged if e["seq"] == 2 else e["url"]
            digest = capture_log.entry_hash(
                e["seq"], e["capture_id"], url, e["captured_at"], e["warc_sha256"],
                e["article_sha256"], prev,
            )
            tx.execute("UPDATE capture_log SET url = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
                       [url, prev, digest, e["seq"]])
            prev = digest
        tx.execute("UPDATE capture_log_head SET entry_hash = ?", [prev])
        tx.execute("UPDATE captures SET url = ? WHERE id = ?", [forged, ids[1]])
    assert capture_log.check_chain(engine).problems == []
    code, out = _verify_log(capsys)
    assert code == 1
    assert f"breaks at entry 3 (capture {ids[2]})" in out
    assert "rewritten at or before this entry" in out


def test_after_a_key_rotation_checkpoints_use_the_new_key_and_old_ones_still_verify(setup, capsys):
    archiver = setup
    archiver.archive(_capture(0))  # checkpoint 1, with the first key
    assert cli.main(["key", "rotate"]) == 0
    capsys.readouterr()
    for n in range(1, 3):
        archiver.archive(_capture(n))  # checkpoint 3, by the running archiver
    checkpoints = _checkpoints(archiver)
    assert sorted(checkpoints) == [1, 3]
    first, latest = (checkpoints[n]["signedData"]["publicKey"] for n in (1, 3))
    assert first != latest
    code, out = _verify_log(capsys)
    assert code == 0, out


async def test_a_capture_the_server_saves_is_logged_and_checkpointed(settings, origin):
    """The server builds its own archiver (server/state.py): its captures get checkpoints too."""
    from crawler.catalogue import open_catalogue
    from crawler.snapshot.store import SnapshotStore
    from tests.kit.api import running_api

    s = settings(rate_limit=0.0)
    async with running_api(s, allow=[f"127.0.0.1:{origin.port}"]) as api:
        saved = await api.client.post(
            "/web/save", data={"url": origin.page("/article"), "token": api.token},
            allow_redirects=False,
        )
        assert saved.status == 303, await saved.text()
    capture_id = saved.headers["Location"].rsplit("/", 1)[-1]
    with open_catalogue(s) as catalogue:
        head = capture_log.head(catalogue.engine)
        with catalogue.engine.transaction(write=False) as tx:
            [entry] = tx.execute("SELECT capture_id FROM capture_log").rows()
    assert entry["capture_id"] == capture_id and head.checkpoint_seq == 1
    store = SnapshotStore.from_settings(s)
    assert list(store.keys(f"log/{head.log_id}/checkpoints/")) == [
        f"log/{head.log_id}/checkpoints/{1:012d}.json"
    ]
