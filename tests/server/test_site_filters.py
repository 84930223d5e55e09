"""Site filters end to end (issue 13, item 1), through the real server and the CLI, both engines.

Every capture of the demo is on http://127.0.0.1:8090/. Search, the Atom feed and the export, in
the API and in `declutter`, find them by site ``127.0.0.1`` (any port) or ``127.0.0.1:8090`` (that
port only), and never take a look-alike host such as 127.0.0.10.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import Archiver
from crawler.cli import main
from tests.kit.api import Api, running_api
from tests.kit.archive import archive_page
from tests.kit.origin import PARAGRAPHS, article_html
from tests.kit.settings import settings_for, settings_vars

T1 = datetime(2024, 5, 1, 9, tzinfo=UTC)
DEMO = "http://127.0.0.1:8090"
PAGES = [
    f"{DEMO}/articles/footbridge",
    f"{DEMO}/articles/harbour",
    "http://127.0.0.1:9/other-port",
    "http://127.0.0.10:8090/look-alike",
    "http://localhost:8090/named-host",
    "https://example.com/footbridge",
]
ON_PORT = set(PAGES[:2])
ON_HOST = set(PAGES[:3])
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def demo_api(
    request: pytest.FixtureRequest, s3_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    database_url = ""
    if request.param == "postgresql":
        pg = request.getfixturevalue("postgres_server")
        database_url = pg.create_database(f"site{int(time.time() * 1000) % 10**9}")
    settings = settings_for(s3_server, tmp_path_factory.mktemp("site"), database_url, rate_limit=0.0)
    archiver = Archiver.from_settings(settings)
    for i, url in enumerate(PAGES):
        paragraphs = [f"Footbridge report {i} from {url}."] + PARAGRAPHS
        archive_page(archiver, url, article_html(f"Footbridge {i}", paragraphs), T1 + timedelta(hours=i))
    try:
        async with running_api(settings, archiver=archiver) as running:
            yield running
    finally:
        archiver.close()


@pytest.fixture
def cli(demo_api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    for name, value in settings_vars(demo_api.settings).items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


async def _search(api: Api, site: str) -> set[str]:
    response = await api.client.get("/api/v1/search", params={"q": "footbridge", "site": site, "all": "1"})
    assert response.status == 200, await response.text()
    return {hit["url"] for hit in (await response.json())["results"]}


async def test_search_api_finds_the_demo_site_by_host_or_port(demo_api: Api) -> None:
    assert await _search(demo_api, "127.0.0.1") == ON_HOST
    assert await _search(demo_api, "127.0.0.1:8090") == ON_PORT
    assert await _search(demo_api, "http://127.0.0.1:8090/") == ON_PORT
    assert await _search(demo_api, "localhost") == {"http://localhost:8090/named-host"}


async def test_feed_finds_the_demo_site(demo_api: Api) -> None:
    for site, expected in (("127.0.0.1", ON_HOST), ("127.0.0.1:8090", ON_PORT)):
        response = await demo_api.client.get("/api/v1/feed.atom", params={"site": site})
        assert response.status == 200, await response.text()
        root = ET.fromstring(await response.read())
        links = {
            link.get("href")
            for entry in root.iter(f"{ATOM}entry")
            for link in entry.iter(f"{ATOM}link")
            if link.get("rel") == "alternate"
        }
        assert links == expected, site


async def test_export_api_exports_the_demo_site(demo_api: Api) -> None:
    response = await demo_api.client.get(
        "/api/v1/export", params={"site": "127.0.0.1", "format": "jsonl"}, headers=demo_api.auth
    )
    assert response.status == 200, await response.text()
    lines = [json.loads(line) for line in (await response.text()).splitlines() if line]
    assert {line["url"] for line in lines} == ON_HOST and len(lines) == len(ON_HOST)


async def test_cli_search_and_export_by_site(demo_api: Api, cli, tmp_path: Path) -> None:
    code, out, err = cli("search", "footbridge", "--site", "127.0.0.1", "--all", "--json")
    assert code == 0, err
    assert {json.loads(line)["url"] for line in out.splitlines()} == ON_HOST

    code, out, err = cli("search", "footbridge", "--site", "127.0.0.1:8090", "--json")
    assert code == 0, err
    assert {json.loads(line)["url"] for line in out.splitlines()} == ON_PORT

    target = tmp_path / "demo.jsonl"
    code, _, err = cli("export", "--site", "127.0.0.1", "--format", "jsonl", "-o", str(target), "--progress", "never")
    assert code == 0, err
    assert f"wrote {len(ON_HOST)} captures" in err
    assert {json.loads(line)["url"] for line in target.read_text().splitlines()} == ON_HOST


async def test_web_search_and_whole_site_export_find_the_demo_site(demo_api: Api) -> None:
    client, headers = demo_api.client, demo_api.auth
    page = await (await client.get(
        "/web/search", params={"q": "footbridge", "site": "127.0.0.1", "all": "1"}, headers=headers
    )).text()
    assert page.count('<h3><a href="/web/capture/') == len(ON_HOST)
    response = await client.get(
        "/web/export/download", params={"site": "127.0.0.1", "format": "jsonl"}, headers=headers
    )
    assert response.status == 200, await response.text()
    assert {json.loads(line)["url"] for line in (await response.text()).splitlines()} == ON_HOST
