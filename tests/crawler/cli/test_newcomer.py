"""A newcomer's CLI (issue 13): run from a folder other than the checkout, as a new user would.

The read-only commands never create a catalogue and say which one they read; `captures` takes
Wayback-style addresses; `search` takes `-word`; `export -o -` writes to standard output with the
usual file mode otherwise; `diff` and `show` say when nothing changed. Every command goes through
the real entry point over a real SeaweedFS and SQLite catalogue.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import Archiver
from crawler.catalogue import open_catalogue
from crawler.cli import main
from crawler.config import Settings
from crawler.snapshot.capture import Capture

CHECKOUT = Path(__file__).resolve().parents[3]
READ_ONLY = [
    ["captures", "example.com/a"],
    ["show", "01JAAAAAAAAAAAAAAAAAAAAAAA"],
    ["search", "harbour"],
    ["diff", "01JAAAAAAAAAAAAAAAAAAAAAAA", "01JBBBBBBBBBBBBBBBBBBBBBBB"],
    ["export", "--site", "example.com", "--format", "jsonl", "-o", "out.jsonl"],
    ["verify"],
]

FILLER = (
    "Officials in several capitals declined to comment on the record, though one engineer said "
    "that preparations had been under way for weeks and that a schedule had been agreed. "
    "Residents wrote in about the works, the long winter and the price of the crossing."
)


def page(title: str, *paragraphs: str) -> bytes:
    body = "".join(f"<p>{text} {FILLER}</p>" for text in paragraphs)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    ).encode()


BRIDGE = page(
    "Harbour bridge reopens",
    "The harbour bridge reopened to traffic on Monday after two years of repairs.",
    "Cyclists were the first across the bridge, cheered by a small crowd at the harbour gate.",
)
BRIDGE_EDITED = page(
    "Harbour bridge reopens",
    "The harbour bridge reopened to traffic on Tuesday after two years of repairs.",
    "Cyclists were the first across the bridge, cheered by a small crowd at the harbour gate.",
)
FERRY = page(
    "Harbour ferry gets a new hull",
    "The harbour ferry returns in spring with a new hull and a quieter engine.",
    "Its crew of four spent the winter at the yard, where the old hull was cut away in sections.",
)
LIBRARY = page(
    "Library opens at night",
    "The central library will open until midnight during the exam season, the council said.",
    "Students asked for the longer hours in a petition signed by more than two thousand people.",
)

A = "https://news.example.org/city/bridge"
B = "https://news.example.org/city/ferry"
C = "https://news.example.org/culture/library"
D = "https://example.org/library"
LOOKALIKE = "https://example.org.evil.net/library"
README_PAGES = ["https://example.com/news/a", "https://example.com/news/b", "https://sub.example.com/c"]


@dataclass
class Archive:
    settings: Settings
    env: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)


def settings_env(settings: Settings) -> dict[str, str]:
    return {
        "DECLUTTER_DATA_DIR": str(settings.data_dir),
        "DECLUTTER_S3_ENDPOINT": settings.s3_endpoint,
        "DECLUTTER_S3_ACCESS_KEY": settings.s3_access_key,
        "DECLUTTER_S3_SECRET_KEY": settings.s3_secret_key,
        "DECLUTTER_S3_BUCKET": settings.s3_bucket,
        "DECLUTTER_S3_SECURE": "false",
        "DECLUTTER_DATABASE_URL": settings.database_url,
    }


def storage_settings(s3_server: Any, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        s3_endpoint=s3_server.endpoint,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
        s3_bucket=s3_server.bucket,
        s3_secure=False,
        database_url="",
        rate_limit=0.0,
    )


@pytest.fixture(scope="module")
def archive(s3_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """Bridge captured, captured again unchanged (a revisit), then edited; four other pages."""
    settings = storage_settings(s3_server, tmp_path_factory.mktemp("newcomer") / "data")
    plan = [
        ("bridge", A, BRIDGE, 1),
        ("bridge_revisit", A, BRIDGE, 2),
        ("bridge_edited", A, BRIDGE_EDITED, 3),
        ("ferry", B, FERRY, 2),
        ("library", C, LIBRARY, 2),
        ("apex", D, LIBRARY, 2),
        ("lookalike", LOOKALIKE, LIBRARY, 2),
        *((f"readme{i}", url, body, 4) for i, (url, body) in enumerate(
            zip(README_PAGES, (BRIDGE, FERRY, LIBRARY), strict=True))),
    ]
    result = Archive(settings, settings_env(settings))
    with Archiver.from_settings(settings) as archiver:
        for name, url, body, day in plan:
            capture = Capture(
                url=url, status=200, reason="OK", body=body,
                response_headers=[("Content-Type", "text/html; charset=utf-8")],
                captured_at=datetime(2024, 5, day, 9, 0, 0, tzinfo=UTC),
            )
            result.ids[name] = archiver.archive(capture).capture_id
    yield result


@pytest.fixture
def cli(archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    """``declutter ...`` in-process, from an empty folder that is not the checkout."""
    monkeypatch.chdir(tmp_path)
    for name, value in archive.env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def declutter(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real command in a fresh process, with only ``env``'s DECLUTTER_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DECLUTTER_", "XDG_"))}
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], cwd=cwd, env={**clean, **env},
        capture_output=True, timeout=120, check=False,
    )


# --- item 3: the data folder does not depend on the current directory ----------------------


def test_the_default_data_folder_is_the_users_not_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("DECLUTTER_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().data_dir == home / ".local" / "share" / "declutter"
    monkeypatch.setenv("DECLUTTER_DATA_DIR", "relative/data")
    assert Settings().data_dir == tmp_path / "relative" / "data"


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda args: args[0])
def test_read_only_commands_never_create_a_catalogue(args: list[str], tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = declutter(args, elsewhere, {"HOME": str(home), "DECLUTTER_S3_ENDPOINT": "127.0.0.1:9"})
    err = done.stderr.decode()
    expected = home / ".local" / "share" / "declutter" / "catalogue.sqlite3"
    assert done.returncode == 1, err
    assert f"there is no catalogue at {expected}" in err
    assert "DECLUTTER_DATA_DIR" in err and "DECLUTTER_DATABASE_URL" in err
    assert "Traceback" not in err
    assert not expected.exists() and not expected.parent.exists()
    assert list(elsewhere.iterdir()) == [], "nothing may be written in the current folder"


def test_a_missing_sqlite_database_url_is_named_too(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "cat.sqlite3"
    done = declutter(
        ["captures", "example.com"], tmp_path,
        {"HOME": str(tmp_path / "home"), "DECLUTTER_DATABASE_URL": f"sqlite:///{missing}"},
    )
    assert done.returncode == 1
    assert f"there is no catalogue at {missing}" in done.stderr.decode()
    assert not missing.parent.exists()


def test_an_empty_catalogue_is_named(
    s3_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    settings = storage_settings(s3_server, tmp_path / "data")
    open_catalogue(settings).close()
    monkeypatch.chdir(tmp_path)
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    where = f"sqlite:///{settings.sqlite_path}"
    for args in (["captures", "example.com/a"], ["search", "harbour"],
                 ["export", "--site", "example.com", "--format", "csv", "-o", "x.csv"]):
        assert main(args) == 1, args
        err = capsys.readouterr().err
        assert f"the catalogue {where} holds no captures at all" in err, (args, err)
        assert "DECLUTTER_DATA_DIR" in err
    assert main(["verify"]) == 0
    assert f"the catalogue {where} holds no captures" in capsys.readouterr().out
    assert not (tmp_path / "x.csv").exists()


# --- item 5: Wayback-style addresses ---------------------------------------------------------


def ids_of(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines()]


def test_captures_take_an_address_without_a_scheme(archive: Archive, cli) -> None:
    code, with_scheme, _ = cli("captures", A)
    assert code == 0
    code, without, _ = cli("captures", "news.example.org/city/bridge")
    assert code == 0 and without == with_scheme
    assert ids_of(without) == [
        archive.ids["bridge"], archive.ids["bridge_revisit"], archive.ids["bridge_edited"]
    ]


def test_captures_take_a_prefix_and_a_domain(archive: Archive, cli) -> None:
    code, out, _ = cli("captures", "news.example.org/city/*")
    assert code == 0
    assert sorted(ids_of(out)) == sorted(
        archive.ids[n] for n in ("bridge", "bridge_revisit", "bridge_edited", "ferry")
    )
    edited = next(line for line in out.splitlines() if line.startswith(archive.ids["bridge_edited"]))
    assert "changed" in edited and A in edited, "a listing of many URLs names each and its changes"

    code, out, _ = cli("captures", "*.example.org", "--json")
    assert code == 0
    urls = {json.loads(line)["url"] for line in out.splitlines()}
    assert urls == {A, B, C, D}, "the domain and its subdomains, never a look-alike"

    code, _, err = cli("captures", "news.example.org/sport/*")
    assert code == 1 and "no captures of news.example.org/sport/*" in err
    assert f"sqlite:///{archive.settings.sqlite_path}" in err
    assert "holds no captures at all" not in err


# --- item 8: -word, export -o -, modes, identical diffs, revisits ------------------------------


def test_search_accepts_excluded_words(archive: Archive, cli) -> None:
    code, out, err = cli("search", "harbour", "-bridge", "--site", "news.example.org", "--json")
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == [archive.ids["ferry"]]
    # -hull starts like -h (help): it is a word too, and options still work after the words.
    code, out, err = cli("search", "harbour", "-hull", "--all", "--site", "news.example.org", "--json")
    assert code == 0, err
    assert {json.loads(line)["url"] for line in out.splitlines()} == {A}
    code, _, err = cli("search", "-harbour")
    assert code == 1 and "no words" in err


def test_export_to_standard_output(archive: Archive, tmp_path: Path) -> None:
    done = declutter(
        ["export", "--url", "news.example.org/city/ferry", "--format", "jsonl", "-o", "-",
         "--progress", "never"],
        tmp_path, archive.env,
    )
    assert done.returncode == 0, done.stderr.decode()
    [record] = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert record["id"] == archive.ids["ferry"] and "new hull" in record["article"]["text"]
    assert "wrote 1 captures" in done.stderr.decode() and "standard output" in done.stderr.decode()
    assert list(tmp_path.iterdir()) == [], "no file named '-' (or anything else) is written"


def test_exports_get_the_usual_file_mode(archive: Archive, cli, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        code, _, err = cli("export", "--site", "news.example.org", "--format", "csv",
                           "-o", "news.csv", "--progress", "never")
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "news.csv").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["news.csv"], "no temporary file is left"


def test_diff_of_identical_texts_says_so(archive: Archive, cli) -> None:
    code, out, _ = cli("diff", archive.ids["bridge"], archive.ids["bridge_revisit"])
    assert code == 0
    assert "the clean text is the same" in out
    assert "Cyclists were the first" not in out, "the unchanged text is not printed"

    code, out, _ = cli("diff", archive.ids["bridge_revisit"], archive.ids["bridge_edited"],
                       "--color", "never")
    assert code == 0 and "the clean text is the same" not in out
    assert "1 words added, 1 removed" in out and "Tuesday" in out


def test_show_says_a_revisit_is_one(archive: Archive, cli) -> None:
    code, out, _ = cli("show", archive.ids["bridge_revisit"])
    assert code == 0
    assert f"a revisit: the page was the same as capture {archive.ids['bridge']}" in out
    assert "2024-05-01 09:00:00 UTC" in out and "Cyclists were the first" in out
    code, out, _ = cli("show", archive.ids["bridge_edited"])
    assert code == 0 and "revisit" not in out


def test_the_readme_examples_run(archive: Archive, tmp_path: Path) -> None:
    """The README's `declutter` examples, line by line, over pages at the addresses they name."""
    blocks = (CHECKOUT / "README.md").read_text(encoding="utf-8").split("```sh\n")[1:]
    [block] = [b.split("```")[0] for b in blocks if b.startswith("declutter captures")]
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) >= 5
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    for line in lines:
        done = subprocess.run(
            ["bash", "-c", line], cwd=tmp_path, env={**os.environ, **archive.env, "PATH": path},
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert done.returncode == 0 and done.stdout.strip(), (line, done.stderr)
        assert "Traceback" not in done.stderr, line
