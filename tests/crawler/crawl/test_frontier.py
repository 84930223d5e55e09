"""The shared run's Redis bookkeeping, against a real redis-server: pops are tracked until
acknowledged, a dead worker's requests come back, a URL is claimed by one worker only."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from crawler.crawl.frontier import SharedRun

CRAWL = "frontier-unit"


@pytest.fixture
def client(redis_server: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_server.rsplit("/", 1)[0] + "/7")
    c.flushdb()
    yield c
    c.flushdb()
    c.close()


def push(client: redis.Redis, run: SharedRun, *members: bytes) -> None:
    for score, member in enumerate(members):
        client.zadd(run.queue_key, {member: score})


def test_pop_holds_requests_in_flight_until_acknowledged(client: redis.Redis) -> None:
    run = SharedRun(client, CRAWL, "run1", worker="w1", ttl=5)
    run.join()
    push(client, run, b"first", b"second")
    token, data = run.pop()
    assert data == b"first"
    assert run.state() == (1, 1, 1)
    assert not run.drained()
    token2, data2 = run.pop()
    assert (data2, run.pop()) == (b"second", None)
    run.ack([token, token2])
    assert run.state() == (0, 0, 1) and run.drained()


def test_a_dead_workers_requests_and_unfinished_claims_go_back(client: redis.Redis) -> None:
    dead = SharedRun(client, CRAWL, "run2", worker="dead", ttl=0.2)
    alive = SharedRun(client, CRAWL, "run2", worker="alive", ttl=5)
    dead.join()
    alive.join()
    push(client, dead, b"a", b"b", b"c")
    dead.pop()
    dead.pop()
    assert dead.claim(["http://x/done"]) and dead.claim(["http://x/half"])
    dead.record(("http://x/done",), "capture-1")
    assert not alive.claim(["http://x/half", "http://x/other"]), "claimed by a live worker"
    assert alive.recover_dead() == 0, "not dead yet"
    time.sleep(0.3)
    assert alive.recover_dead() == 2
    assert sorted(client.zrange(alive.queue_key, 0, -1)) == [b"a", b"b", b"c"]
    assert alive.workers() == ["alive"]
    assert alive.claim(["http://x/half"]), "an uncaptured claim of a dead worker is released"
    assert not alive.claim(["http://x/done"]), "a captured URL stays claimed"
    assert "http://x/done" in alive.captured and "http://x/half" not in alive.captured
    assert alive.totals()["requeued"] == 2


def test_counts_add_up_across_workers_with_exact_capture_numbers(client: redis.Redis) -> None:
    one = SharedRun(client, CRAWL, "run3", worker="one")
    two = SharedRun(client, CRAWL, "run3", worker="two")
    one.record(("u1",), "c1")
    two.record(("u2", "u2b"), "c2", revisit=True, rendered=True)
    one.save_counts({"pages": 3, "captured": 0, "errors": 1})
    totals = two.totals({"pages": 4, "captured": 1, "errors": 0})
    assert totals["pages"] == 7 and totals["errors"] == 1
    assert (totals["captured"], totals["deduplicated"], totals["rendered"]) == (1, 1, 1)
    assert totals["workers"] == 2


def test_host_gate_limits_requests_in_flight_and_spaces_them(client: redis.Redis) -> None:
    from crawler.crawl.frontier import HostGate

    one = HostGate(client, concurrency=2, delay=0, lease=1)
    two = HostGate(client, concurrency=2, delay=0, lease=1)
    assert one.try_acquire("news.example", "a") and two.try_acquire("news.example", "b")
    assert not one.try_acquire("news.example", "c"), "a third request in flight to one host"
    assert two.try_acquire("other.example", "d"), "hosts are limited separately"
    one.release("news.example", "a")
    assert two.try_acquire("news.example", "c") and two.in_flight("news.example") == 2
    time.sleep(1.1)
    assert one.try_acquire("news.example", "e"), "a dead worker's lease expires"

    spaced = HostGate(client, concurrency=5, delay=0.3, lease=5)
    assert spaced.try_acquire("slow.example", "x")
    assert not spaced.try_acquire("slow.example", "y"), "the delay holds across workers"
    time.sleep(0.35)
    assert spaced.try_acquire("slow.example", "y")


def test_worker_and_shared_crawl_say_what_to_do_without_redis(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    from crawler.cli import main
    from crawler.cli.services import free_port

    crawls = tmp_path / "crawls.toml"
    crawls.write_text('[crawls.news]\nspider = "urls"\nseeds = ["http://127.0.0.1:9/a"]\n')
    monkeypatch.setenv("DECLUTTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DECLUTTER_REDIS_URL", raising=False)
    assert main(["worker", "--file", str(crawls)]) == 1
    assert "set DECLUTTER_REDIS_URL" in capsys.readouterr().err
    monkeypatch.setenv("DECLUTTER_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["worker", "--file", str(crawls), "--once"]) == 1
    assert "cannot reach Redis" in capsys.readouterr().err
    assert main(["crawl", "news", "--file", str(crawls)]) == 1
    assert "cannot reach Redis" in capsys.readouterr().err
