"""`python -m bench`: runs every topic in order and goes on past a failing one."""

from __future__ import annotations

import sys
import types

import pytest

from bench import __main__ as runner


@pytest.fixture
def topics(monkeypatch):
    calls: list[str] = []

    def module(name: str, body) -> None:
        mod = types.ModuleType(f"bench.{name}")
        if body is not None:
            mod.main = body
        monkeypatch.setitem(sys.modules, f"bench.{name}", mod)

    def fails() -> None:
        calls.append("fails")
        raise RuntimeError("boom")

    async def later() -> None:
        calls.append("later")

    module("t_fails", fails)
    module("t_ok", lambda: calls.append("ok"))
    module("t_async", later)
    module("t_helper", None)
    return calls


def test_runs_all_in_order_and_continues_after_a_failure(topics, capsys):
    code = runner.run(["t_fails", "t_ok", "t_async", "t_helper"])
    out, err = capsys.readouterr()
    assert code == 1
    assert topics == ["fails", "ok", "later"]
    assert "## bench.t_ok" in out and "## bench.t_helper" not in out
    assert "boom" in err and "failed: t_fails" in err


def test_discovery_lists_topics_with_main_only(capsys):
    names = runner.discover()
    assert "extraction" in names and "metrics" not in names
    assert runner.main(["no-such-topic"]) == 2
    assert "unknown bench topic" in capsys.readouterr().err


def test_options_after_one_topic_reach_its_main(monkeypatch, capsys):
    seen: list[list[str]] = []
    mod = types.ModuleType("bench.t_opts")
    mod.main = lambda argv=None: seen.append(argv)
    monkeypatch.setitem(sys.modules, "bench.t_opts", mod)
    monkeypatch.setattr(runner, "discover", lambda: ["t_opts", "t_other"])
    assert runner.main(["t_opts", "--explain", "page-1"]) == 0
    assert seen == [["--explain", "page-1"]]
    assert runner.main(["t_opts", "t_other", "--quick"]) == 2
    assert "exactly one topic" in capsys.readouterr().err
