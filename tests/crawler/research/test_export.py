"""Exports read back: WARC and WACZ with warcio, the WACZ index against the catalogue, the wacz
validator, JSONL and CSV, the CLI with its progress bar, and the streamed API."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from warcio.archiveiterator import ArchiveIterator

from crawler.cli import main
from crawler.research.export import Exporter, ExportError, Selection
from server.app import create_app
from tests.kit.archive import SEED_URL, T2, ResearchArchive
from tests.kit.paths import ROOT
from tests.kit.settings import settings_vars

WACZ_BIN = ROOT / ".venv-wacz" / "bin" / "wacz"


def _records(data: bytes) -> list:
    out = []
    for record in ArchiveIterator(io.BytesIO(data)):
        out.append(
            (
                record.rec_type,
                record.rec_headers.get_header("WARC-Target-URI"),
                record.rec_headers.get_header("WARC-Record-ID"),
                record.content_stream().read(),
            )
        )
    return out


def _export(research: ResearchArchive, fmt: str, **selection) -> bytes:
    exporter = Exporter(research.catalogue, research.archiver)
    return b"".join(exporter.export(Selection(**selection), fmt))


def _responses(records: list) -> dict[str, bytes]:
    return {rid: body for kind, _, rid, body in records if kind == "response"}


def test_warc_export_holds_every_capture(research: ResearchArchive) -> None:
    data = _export(research, "warc", site="news.example.org")
    records = _records(data)
    expected = b"".join(
        research.archiver.read_warc(research.ids[name])
        for name in ("first", "edited", "scattered", "revisit")
    )
    assert sorted(_records(expected)) == sorted(records)
    bodies = [body for kind, url, _, body in records if kind == "response" and url == SEED_URL]
    assert bodies == [research.seed, research.edited]
    assert [kind for kind, url, _, _ in records if url == SEED_URL].count("revisit") == 1
    assert not [url for _, url, _, _ in records if url and "elsewhere" in url]


def test_time_range_brings_a_revisits_original(research: ResearchArchive) -> None:
    """From T2 on, the seed URL's revisit needs the edited capture (inside) and nothing else."""
    data = _export(research, "warc", url=SEED_URL, since=T2)
    kinds = [(kind, body) for kind, _, _, body in _records(data) if kind in {"response", "revisit"}]
    assert [k for k, _ in kinds] == ["response", "revisit"]
    assert kinds[0][1] == research.edited

    # Only the revisit is in range: its original (before the range) is added to the WARC.
    revisit_at = research.catalogue.get_capture(research.ids["revisit"]).captured_at
    data = _export(research, "warc", url=SEED_URL, since=revisit_at)
    kinds = [(kind, body) for kind, _, _, body in _records(data) if kind in {"response", "revisit"}]
    assert [k for k, _ in kinds] == ["response", "revisit"]
    assert kinds[0][1] == research.edited


def _wacz(data: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return archive


def test_wacz_round_trip_and_index_match_catalogue(research: ResearchArchive) -> None:
    data = _export(research, "wacz", site="news.example.org")
    archive = _wacz(data)
    names = set(archive.namelist())
    assert names == {
        "archive/data.warc.gz",
        "indexes/index.cdx",
        "pages/pages.jsonl",
        "datapackage.json",
        "datapackage-digest.json",
    }
    assert archive.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED
    warc = archive.read("archive/data.warc.gz")
    assert warc == _export(research, "warc", site="news.example.org")

    package = json.loads(archive.read("datapackage.json"))
    assert package["wacz_version"] == "1.1.1" and package["profile"] == "data-package"
    for resource in package["resources"]:
        content = archive.read(resource["path"])
        assert resource["bytes"] == len(content)
        assert resource["hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
    digest = json.loads(archive.read("datapackage-digest.json"))
    assert digest["hash"] == "sha256:" + hashlib.sha256(archive.read("datapackage.json")).hexdigest()

    lines = archive.read("indexes/index.cdx").decode().splitlines()
    assert lines == sorted(lines)
    entries = []
    for line in lines:
        key, stamp, fields = line.split(" ", 2)
        entries.append((key, stamp, json.loads(fields)))
    selected = ("first", "edited", "revisit", "scattered")
    for name in selected:
        row = research.catalogue.get_capture(research.ids[name])
        stamp = row.captured_at.strftime("%Y%m%d%H%M%S")
        main_entries = [e for e in entries if e[1] == stamp and e[2]["url"] == row.url]
        assert len(main_entries) == 1, (name, main_entries)
        key, _, fields = main_entries[0]
        assert key == row.url_key
        if row.revisit:
            assert fields["mime"] == "warc/revisit"
        else:
            assert fields["status"] == str(row.status)
            assert fields["mime"] == "text/html"
        assert fields["digest"] == row.payload_digest
        assert fields["filename"] == "data.warc.gz"
        # The offset and length find that very record in the WACZ's WARC.
        offset, length = int(fields["offset"]), int(fields["length"])
        [(kind, target, _, body)] = _records(warc[offset : offset + length])
        assert kind == ("revisit" if row.revisit else "response")
        assert target == row.url
        if not row.revisit:
            assert body == research.bodies[name]

    pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").splitlines()]
    assert pages[0]["format"] == "json-pages-1.0"
    assert [p["id"] for p in pages[1:]] == [
        r.id for r in research.catalogue.iter_captures(site="news.example.org")
    ]
    seed_page = next(p for p in pages[1:] if p["id"] == research.ids["edited"])
    assert seed_page["ts"] == "2024-05-02T09:00:00Z" and seed_page["url"] == SEED_URL
    assert "The talks were later postponed." in seed_page["text"]


def test_wacz_passes_the_wacz_validator(research_sqlite: ResearchArchive, tmp_path: Path) -> None:
    if not WACZ_BIN.exists():
        pytest.fail(f"{WACZ_BIN} is missing: run `make wacz` to install the validator's venv")
    path = tmp_path / "export.wacz"
    path.write_bytes(_export(research_sqlite, "wacz", site="news.example.org"))
    result = subprocess.run(
        [str(WACZ_BIN), "validate", "-f", str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout

    broken = tmp_path / "broken.wacz"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "pages/pages.jsonl":
                content += b'{"id": "x", "url": "http://tampered.example/", "ts": "2024-01-01T00:00:00Z"}\n'
            target.writestr(info, content)
    result = subprocess.run(
        [str(WACZ_BIN), "validate", "-f", str(broken)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0, "the validator must notice a file whose digest changed"


def test_jsonl_and_csv_carry_the_clean_articles(research: ResearchArchive) -> None:
    lines = _export(research, "jsonl", url=SEED_URL).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [research.ids[n] for n in ("first", "edited", "revisit")]
    assert "The talks were later postponed." in records[1]["article"]["text"]
    assert records[1]["article"]["title"] == records[1]["title"]
    assert records[2]["revisit"] is True

    rows = list(csv.DictReader(io.StringIO(_export(research, "csv", url=SEED_URL).decode())))
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert rows[1]["text"] == records[1]["article"]["text"]
    assert rows[0]["captured_at"].startswith("2024-05-01T09:00:00")


def test_bad_selections_are_refused() -> None:
    with pytest.raises(ExportError, match="exactly one of a URL or a site"):
        Selection()
    with pytest.raises(ExportError, match="exactly one"):
        Selection(url=SEED_URL, site="example.org")
    with pytest.raises(ExportError, match="before its end"):
        Selection(site="example.org", since=T2, until=T2)


def test_cli_export_with_progress_bar(
    research_sqlite: ResearchArchive, tmp_path: Path, monkeypatch, capsys
) -> None:
    for name, value in settings_vars(research_sqlite.settings).items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "site.wacz"
    code = main(["export", "--site", "news.example.org", "--format", "wacz", "-o", str(out),
                 "--progress", "always"])
    assert code == 0
    err = capsys.readouterr().err
    assert "exporting" in err and "4/4" in err and "wrote 4 captures" in err
    assert _wacz(out.read_bytes()).read("archive/data.warc.gz") == _export(
        research_sqlite, "warc", site="news.example.org"
    )

    out = tmp_path / "seed.warc.gz"
    assert main(["export", "--url", SEED_URL, "--to", "2024-05-01", "--format", "warc",
                 "-o", str(out)]) == 0
    assert [b for k, _, _, b in _records(out.read_bytes()) if k == "response"] == [research_sqlite.seed]

    missing = tmp_path / "none.csv"
    assert main(["export", "--site", "nothing.example", "--format", "csv", "-o", str(missing)]) == 1
    assert "nothing was written" in capsys.readouterr().err
    assert not missing.exists()
    assert main(["export", "--site", "news.example.org", "--format", "csv",
                 "-o", str(tmp_path / "no" / "dir.csv")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "--site", "a b/c", "--format", "csv", "-o", str(missing)]) == 1
    assert "is not a domain name" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*.part")), "no half-written file is left behind"


async def test_api_export_streams_the_same_bytes(research: ResearchArchive) -> None:
    app = create_app(research.settings, archiver=research.archiver, app_modules=[])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get(
            "/api/v1/export", params={"site": "news.example.org", "format": "warc"}
        )
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/warc"
        assert response.headers.get("Transfer-Encoding") == "chunked"
        assert 'filename="declutter-news.example.org.warc.gz"' in response.headers["Content-Disposition"]
        assert await response.read() == _export(research, "warc", site="news.example.org")

        response = await client.get("/api/v1/export", params={"url": SEED_URL, "format": "wacz"})
        assert response.status == 200
        archive = _wacz(await response.read())
        assert archive.read("archive/data.warc.gz") == _export(research, "warc", url=SEED_URL)

        for params, status in (
            ({"site": "news.example.org"}, 400),
            ({"format": "csv"}, 400),
            ({"format": "csv", "site": "a b/c"}, 400),
            ({"format": "csv", "site": "news.example.org", "from": "2024-05-03", "to": "2024-05-01"}, 400),
            ({"format": "csv", "site": "nothing.example"}, 404),
        ):
            response = await client.get("/api/v1/export", params=params)
            assert response.status == status, params
            assert (await response.json())["detail"]


def test_a_missing_object_stops_the_export_with_its_capture_named(
    research_sqlite: ResearchArchive, tmp_path: Path
) -> None:
    from crawler.catalogue import CaptureRow, url_key

    url = "https://missing.example/gone"
    research_sqlite.catalogue.record_capture(
        CaptureRow(id="01MISSINGOBJECT000000000001", url=url, url_key=url_key(url),
                   captured_at=T2, status=200, payload_digest="sha1:X",
                   warc_key="warc/never/written.warc.gz", warc_sha256="0" * 64, warc_size=1)
    )
    exporter = Exporter(research_sqlite.catalogue, research_sqlite.archiver)
    target = tmp_path / "out.wacz"
    with pytest.raises(ExportError, match="01MISSINGOBJECT000000000001.*missing from storage"):
        exporter.export_to(Selection(site="missing.example"), "wacz", target)
    assert list(tmp_path.iterdir()) == [], "nothing, not even a partial file, is left"


async def test_api_export_over_the_open_limit_needs_a_token(research_sqlite: ResearchArchive) -> None:
    import dataclasses

    from server.auth import TokenStore

    settings = dataclasses.replace(research_sqlite.settings, export_open_limit=2)
    token = TokenStore.from_settings(settings).create("export-limit-tests")
    app = create_app(settings, archiver=research_sqlite.archiver, app_modules=[])
    small = {"url": "https://elsewhere.example.net/peace-talks", "format": "jsonl"}
    large = {"site": "news.example.org", "format": "warc"}
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/api/v1/export", params=small)
        assert response.status == 200
        assert [json.loads(line)["url"] for line in (await response.text()).splitlines()] == [small["url"]]

        response = await client.get("/api/v1/export", params=large)
        assert response.status == 401
        assert "Transfer-Encoding" not in response.headers
        payload = await response.json()
        assert payload["error"] == "unauthorized"
        assert "selects 4 captures" in payload["detail"] and "more than the 2" in payload["detail"]
        assert "declutter token create" in payload["detail"]

        response = await client.get(
            "/api/v1/export", params=large, headers={"Authorization": "Bearer dcl_not-a-token"}
        )
        assert response.status == 401
        assert "not valid" in (await response.json())["detail"]

        # a date range that leaves two captures is under the limit again
        response = await client.get(
            "/api/v1/export", params={**large, "from": "2024-05-02", "to": "2024-05-02"}
        )
        assert response.status == 200, await response.text()

        response = await client.get(
            "/api/v1/export", params=large, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        assert await response.read() == _export(research_sqlite, "warc", site="news.example.org")
