"""`declutter captures`, `show` and `search` over the archive, on both catalogue engines."""

from __future__ import annotations

import json

import pytest

from crawler.cli import main
from tests.kit.archive import SEED_URL, ResearchArchive
from tests.kit.settings import settings_vars


@pytest.fixture
def cli(research: ResearchArchive, monkeypatch, capsys):
    for name, value in settings_vars(research.settings).items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_captures_lists_a_url_oldest_first(research: ResearchArchive, cli) -> None:
    code, out, _ = cli("captures", SEED_URL)
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == [
        research.ids["first"], research.ids["edited"], research.ids["revisit"]
    ]
    assert "changed" in lines[1] and "revisit" in lines[2] and "changed" not in lines[0]

    code, out, _ = cli("captures", SEED_URL, "--from", "2024-05-02", "--to", "2024-05-02", "--json")
    assert code == 0
    [row] = [json.loads(line) for line in out.splitlines()]
    assert row["id"] == research.ids["edited"] and row["changed"] is True

    code, _, err = cli("captures", "https://news.example.org/never-captured")
    assert code == 1 and "no captures" in err
    code, _, err = cli("captures", SEED_URL, "--from", "yesterday")
    assert code == 1 and "ISO 8601" in err


def test_show_text_and_json(research: ResearchArchive, cli) -> None:
    capture_id = research.ids["edited"]
    code, out, _ = cli("show", capture_id, "--text")
    assert code == 0
    assert out.rstrip("\n") == research.catalogue.capture_text(capture_id)[1].rstrip("\n")

    code, out, _ = cli("show", capture_id)
    assert code == 0
    assert out.startswith("Ukraine discussing with Russia")
    assert SEED_URL in out and "The talks were later postponed." in out

    code, out, _ = cli("show", capture_id, "--json")
    data = json.loads(out)
    assert data["capture"]["id"] == capture_id and data["article"]["word_count"] > 300

    code, _, err = cli("show", "not-an-id")
    assert code == 1 and "declutter captures URL" in err


def test_show_raw_gives_the_archived_bytes(research: ResearchArchive, monkeypatch, capfdbinary) -> None:
    for name, value in settings_vars(research.settings).items():
        monkeypatch.setenv(name, value)
    assert main(["show", research.ids["revisit"], "--raw"]) == 0
    assert capfdbinary.readouterr().out == research.edited


def test_search_ranks_the_exact_phrase_first(research: ResearchArchive, cli) -> None:
    code, out, _ = cli("search", "peace", "talks", "--json")
    assert code == 0
    hits = [json.loads(line) for line in out.splitlines()]
    ids = [hit["id"] for hit in hits]
    scattered = ids.index(research.ids["scattered"])
    for name in ("first", "revisit", "other_site"):
        assert ids.index(research.ids[name]) < scattered, f"{name} holds the phrase"
    assert research.ids["edited"] not in ids  # same text as its revisit: one hit, the newest
    assert "<mark>" in hits[0]["snippet"]

    code, out, _ = cli("search", "peace talks", "--site", "elsewhere.example.net", "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [research.ids["other_site"]]

    code, out, _ = cli("search", "postponed", "--json")
    [hit] = [json.loads(line) for line in out.splitlines()]
    assert hit["id"] == research.ids["revisit"] and hit["capture_count"] == 2
    code, out, _ = cli("search", "postponed", "--all", "--json")
    assert {json.loads(line)["id"] for line in out.splitlines()} == {
        research.ids["edited"], research.ids["revisit"]
    }
    code, out, _ = cli("search", "postponed", "--all", "--offset", "1", "--limit", "5", "--json")
    assert len(out.splitlines()) == 1
    code, out, _ = cli("search", "postponed", "--to", "2024-05-02", "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [research.ids["edited"]]

    code, out, _ = cli("search", "postponed")
    assert code == 0 and research.ids["revisit"] in out and "<mark>" not in out
    assert "2 captures with this text, first 2024-05-02" in out

    code, _, err = cli("search", "zebra")
    assert code == 1 and "nothing matches" in err
    code, _, err = cli("search", "--", "-peace")
    assert code == 1 and "no words" in err
