"""CDX matchType/collapse and collapsed search, through the real server over S3 and both engines."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crawler.archive import Archiver
from tests.kit.api import Api, running_api
from tests.kit.archive import archive_page
from tests.kit.origin import PARAGRAPHS, article_html
from tests.kit.settings import settings_for

T1 = datetime(2023, 3, 1, 8, tzinfo=UTC)
EDITED = [p.replace("slender", "graceful steel") for p in PARAGRAPHS]

# (url, capture time, paragraphs, build): the build comment changes the bytes, not the text.
PAGES: list[tuple[str, datetime, list[str], int]] = [
    ("https://example.com/", T1, PARAGRAPHS[:2], 0),
    ("https://example.com/path", T1, PARAGRAPHS, 0),
    ("https://example.com/path", T1 + timedelta(days=1), PARAGRAPHS, 0),  # same bytes: a revisit
    ("https://example.com/path", T1 + timedelta(days=2), PARAGRAPHS, 1),  # new bytes, same text
    ("https://example.com/path", T1 + timedelta(days=400), EDITED, 1),  # edited, a year later
    ("https://example.com/pathology", T1, PARAGRAPHS[1:], 0),
    ("https://news.example.com/story", T1, PARAGRAPHS[2:], 0),
    ("https://example.com.evil.org/path", T1, PARAGRAPHS, 0),
    ("https://examplex.com/path", T1, PARAGRAPHS, 0),
    ("https://examplexcom.net/path", T1, PARAGRAPHS, 0),
    # Hand-written SURT kept this path's case and trailing slash; surt (the WACZ index's) does not.
    ("https://www.Example.org/News/Story/", T1, PARAGRAPHS, 0),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def site_api(
    request: pytest.FixtureRequest, s3_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    database_url = ""
    if request.param == "postgresql":
        pg = request.getfixturevalue("postgres_server")
        database_url = pg.create_database(f"cdx{int(time.time() * 1000) % 10**9}")
    settings = settings_for(s3_server, tmp_path_factory.mktemp("cdx"), database_url, rate_limit=0.0)
    archiver = Archiver.from_settings(settings)
    for url, when, paragraphs, build in PAGES:
        page = article_html("Council weighs footbridge designs", paragraphs) + f"<!-- build {build} -->"
        archive_page(archiver, url, page, when)
    try:
        async with running_api(settings, archiver=archiver) as running:
            yield running
    finally:
        archiver.close()


async def _cdx(api: Api, **params: str | list[str]) -> list[list[str]]:
    query = [("output", "json")] + [
        (k, item) for k, v in params.items() for item in (v if isinstance(v, list) else [v])
    ]
    response = await api.client.get("/cdx", params=query)
    assert response.status == 200, await response.text()
    rows = await response.json()
    return rows[1:] if rows else []


async def test_cdx_match_types_and_shorthands(site_api: Api) -> None:
    prefix = await _cdx(site_api, url="example.com/path*", fl="original")
    assert [r[0] for r in prefix] == ["https://example.com/path"] * 4 + ["https://example.com/pathology"]
    assert await _cdx(site_api, url="https://example.com/path", matchType="prefix", fl="original") == prefix

    host = {r[0] for r in await _cdx(site_api, url="example.com", matchType="host", fl="original")}
    assert host == {"https://example.com/", "https://example.com/path", "https://example.com/pathology"}

    domain = await _cdx(site_api, url="*.example.com", fl="urlkey,original")
    assert {r[1] for r in domain} == host | {"https://news.example.com/story"}
    assert [r[0] for r in domain] == sorted(r[0] for r in domain)  # SURT order
    assert await _cdx(site_api, url="example.com", matchType="domain", fl="urlkey,original") == domain
    sub = await _cdx(site_api, url="*.news.example.com", fl="original")
    assert sub == [["https://news.example.com/story"]]

    exact = await _cdx(site_api, url="https://example.com/path", fl="timestamp")
    assert [r[0] for r in exact] == ["20230301080000", "20230302080000", "20230303080000", "20240404080000"]

    for bad in ({"matchType": "regex"}, {"collapse": "secret"}, {"collapse": "digest:x"}, {"sort": "closest"}):
        response = await site_api.client.get("/cdx", params={"url": "example.com", **bad})
        assert response.status == 400, bad
        assert next(iter(bad)) in (await response.json())["detail"]


async def test_cdx_collapse_like_the_wayback_cdx_server(site_api: Api) -> None:
    path = "https://example.com/path"
    every = await _cdx(site_api, url=path, fl="timestamp,digest,mimetype")
    assert every[1][2] == "warc/revisit" and every[1][1] == every[0][1]  # the same bytes again
    by_digest = await _cdx(site_api, url=path, fl="timestamp", collapse="digest")
    assert [r[0] for r in by_digest] == ["20230301080000", "20230303080000", "20240404080000"]
    by_year = await _cdx(site_api, url=path, fl="timestamp", collapse="timestamp:4")
    assert [r[0] for r in by_year] == ["20230301080000", "20240404080000"]
    per_url = await _cdx(site_api, url="*.example.com", fl="original", collapse="urlkey")
    assert len(per_url) == 4 and len({r[0] for r in per_url}) == 4
    both = await _cdx(site_api, url=path, fl="timestamp", collapse=["digest", "timestamp:4"])
    assert [r[0] for r in both] == ["20230301080000", "20240404080000"]

    assert [r[0] for r in await _cdx(site_api, url=path, fl="timestamp", collapse="digest", limit="-1")] == [
        "20240404080000"
    ]
    assert [r[0] for r in await _cdx(site_api, url=path, fl="timestamp", collapse="digest", limit="2")] == [
        "20230301080000", "20230303080000"
    ]
    newest = await _cdx(site_api, url=path, fl="timestamp", sort="reverse", limit="2")
    assert [r[0] for r in newest] == ["20240404080000", "20230303080000"]
    last_two = await _cdx(site_api, url=path, fl="timestamp", limit="-2")
    assert [r[0] for r in last_two] == ["20230303080000", "20240404080000"]
    text = await (await site_api.client.get("/cdx", params={"url": path, "collapse": "digest"})).text()
    assert len(text.splitlines()) == 3 and text.split()[0] == "com,example)/path"


async def test_search_collapses_recaptures_and_pages(site_api: Api) -> None:
    client = site_api.client
    params = {"q": "footbridge", "site": "example.com"}
    body = await (await client.get("/api/v1/search", params=params)).json()
    assert body["collapsed"] is True
    hits = body["results"]
    versions = {(h["url"], h["text_digest"]) for h in hits}
    assert len(hits) == len(versions) == 5  # /, /path twice (edited), /pathology, news story
    path_hits = sorted((h for h in hits if h["url"] == "https://example.com/path"), key=lambda h: h["captured_at"])
    assert [h["capture_count"] for h in path_hits] == [3, 1]
    assert path_hits[0]["captured_at"] == "2023-03-03T08:00:00Z"  # the newest of that version
    assert path_hits[0]["first_captured_at"] == "2023-03-01T08:00:00Z"

    every = (await (await client.get("/api/v1/search", params={**params, "all": "1"})).json())["results"]
    assert len(every) == 7 and (await (await client.get("/api/v1/search", params={**params, "all": "true"})).json())["collapsed"] is False

    paged = []
    for offset in range(0, 8, 2):
        page = await (await client.get("/api/v1/search", params={**params, "limit": "2", "offset": str(offset)})).json()
        paged += page["results"]
    assert [h["id"] for h in paged] == [h["id"] for h in hits]
    bad = await client.get("/api/v1/search", params={**params, "all": "maybe"})
    assert bad.status == 400 and "'all'" in (await bad.json())["detail"]


async def test_web_search_shows_one_hit_per_version(site_api: Api) -> None:
    client = site_api.client
    headers = site_api.auth
    page = await (await client.get("/web/search", params={"q": "footbridge", "site": "example.com"}, headers=headers)).text()
    assert page.count('<h3><a href="/web/capture/') == 5
    assert "3 captures with this text" in page
    assert 'name="all"' in page
    every = await (await client.get("/web/search", params={"q": "footbridge", "site": "example.com", "all": "1"}, headers=headers)).text()
    assert every.count('<h3><a href="/web/capture/') == 7


async def test_cdx_rows_are_keyed_as_the_exported_waczs_index(site_api: Api) -> None:
    """/cdx and the CDXJ index cdxj-indexer writes into a WACZ of the same captures agree."""
    for site in ("example.com", "example.org"):
        cdx = await _cdx(site_api, url=f"*.{site}", fl="urlkey,timestamp,original,digest")
        assert cdx, site
        response = await site_api.client.get(
            "/api/v1/export", params={"site": site, "format": "wacz"}, headers=site_api.auth
        )
        assert response.status == 200, await response.text()
        with zipfile.ZipFile(io.BytesIO(await response.read())) as wacz:
            lines = wacz.read("indexes/index.cdx").decode().splitlines()
        index = []
        for line in lines:
            key, stamp, fields = line.split(" ", 2)
            record = json.loads(fields)
            # CDXJ keeps the digest's "sha1:" label; CDX (as the Wayback CDX server) prints it bare.
            index.append([key, stamp, record["url"], record.get("digest", "").removeprefix("sha1:")])
        pages = {row[2] for row in cdx}
        assert sorted(row for row in index if row[2] in pages) == sorted(cdx), site
    story = await _cdx(site_api, url="https://example.org/news/story", fl="urlkey")
    assert story == [["org,example)/news/story"]]
