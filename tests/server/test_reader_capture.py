""""Save snapshot" when the server cannot fetch the page: the reader's DOM is kept, marked as such.

Real SeaweedFS, SQLite and PostgreSQL, a real server on 127.0.0.1. The refused page is a live
loopback site the default guard refuses (it is never contacted); the unreachable one is a loopback
port nothing listens on.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive import Archiver
from crawler.cli.services import free_port
from crawler.config import Settings
from tests.kit.api import Api, running_api
from tests.kit.origin import PARAGRAPHS, Origin, article_html

MARKER = "Only the reader's browser, inside the newsroom intranet, could load this paragraph."
DOM = article_html("Intranet memo on the footbridge", [*PARAGRAPHS, MARKER])


@pytest.fixture(params=["sqlite", "postgresql"])
async def reader_api(
    request: pytest.FixtureRequest, settings: Callable[..., Settings]
) -> AsyncIterator[tuple[Api, int]]:
    dead_port = free_port()
    chosen = settings(database=request.param, rate_limit=0.0)
    async with running_api(chosen, allow=[f"127.0.0.1:{dead_port}"]) as api:
        yield api, dead_port


def _records(data: bytes) -> list[tuple[str, dict[str, str], bytes, bool | None]]:
    found = []
    for record in ArchiveIterator(io.BytesIO(data), check_digests=True):
        content = record.content_stream().read()
        found.append(
            (record.rec_type, dict(record.rec_headers.headers), content, record.digest_checker.passed)
        )
    return found


async def test_refused_page_is_kept_as_the_reader_saw_it(
    reader_api: tuple[Api, int], other_origin: Origin
) -> None:
    api, _ = reader_api
    url = other_origin.page("/article?memo=1")
    hits = len(other_origin.hits)

    refused = await api.client.post("/api/v1/captures", json={"url": url}, headers=api.auth)
    assert refused.status == 403 and (await refused.json())["error"] == "fetch_refused"
    assert (await (await api.client.get("/api/v1/captures", params={"url": url})).json())["captures"] == []

    no_token = await api.client.post("/api/v1/captures", json={"url": url, "html": DOM})
    assert no_token.status == 401
    bad = await api.client.post("/api/v1/captures", json={"url": "ftp://x/", "html": DOM}, headers=api.auth)
    assert bad.status == 400

    response = await api.client.post("/api/v1/captures", json={"url": url, "html": DOM}, headers=api.auth)
    assert response.status == 201, await response.text()
    created = await response.json()
    assert created["source"] == "reader" and created["revisit"] is False
    assert "could not fetch" in created["detail"] and "fetch_refused" in created["detail"]
    assert created["title"] == "Intranet memo on the footbridge"
    assert len(other_origin.hits) == hits, "the refused site must never be contacted"
    capture_id = created["id"]

    detail = await (await api.client.get(f"/api/v1/captures/{capture_id}")).json()
    assert detail["source"] == "reader" and detail["status"] == 0
    assert detail["fetch_error"].startswith("fetch_refused:")
    assert MARKER in detail["article"]["text"]
    listed = (await (await api.client.get("/api/v1/captures", params={"url": url})).json())["captures"]
    assert [row["id"] for row in listed] == [capture_id]
    assert listed[0]["source"] == "reader"

    raw = await api.client.get(f"/api/v1/captures/{capture_id}/raw")
    assert raw.status == 200
    assert raw.headers["Content-Type"] == "text/html; charset=utf-8"
    assert raw.headers["X-Archive-Status"] == "0"
    assert await raw.read() == DOM.encode("utf-8")
    assert MARKER in await (await api.client.get(f"/api/v1/captures/{capture_id}/text")).text()

    warc = await (await api.client.get(f"/api/v1/captures/{capture_id}/warc")).read()
    records = _records(warc)
    assert [r[0] for r in records] == ["warcinfo", "resource", "metadata"]
    assert all(passed is not False for *_, passed in records)
    _, headers, content, passed = records[1]
    assert passed is True and "WARC-Block-Digest" in headers and "WARC-Payload-Digest" in headers
    assert headers["WARC-Target-URI"] == url
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert content == DOM.encode("utf-8")
    metadata = records[2][2].decode()
    assert "source: reader" in metadata and "server-fetch: failed: fetch_refused:" in metadata

    cdx = await (await api.client.get("/cdx", params={"url": url, "output": "json"})).json()
    assert cdx[1][cdx[0].index("statuscode")] == "-"
    assert cdx[1][cdx[0].index("mimetype")] == "text/html"

    page = await api.client.get(f"/web/capture/{capture_id}")
    assert page.status == 200
    html = await page.text()
    assert "as the reader's browser showed it; the server could not fetch it: fetch_refused" in html
    assert "HTTP status" not in html

    again = await api.client.post("/api/v1/captures", json={"url": url, "html": DOM}, headers=api.auth)
    assert again.status == 201
    second = await again.json()
    assert second["revisit"] is True and second["source"] == "reader"
    revisit_records = _records(await (await api.client.get(f"/api/v1/captures/{second['id']}/warc")).read())
    assert [r[0] for r in revisit_records] == ["warcinfo", "revisit", "metadata"]
    assert revisit_records[1][2] == b"" and DOM.encode() not in b"".join(r[2] for r in revisit_records)
    assert revisit_records[1][1]["WARC-Refers-To-Target-URI"] == url
    assert await (await api.client.get(f"/api/v1/captures/{second['id']}/raw")).read() == DOM.encode()

    with Archiver.from_settings(api.settings) as archiver:
        results = list(archiver.verify([capture_id, second["id"]]))
    assert [r.problems for r in results] == [[], []]


async def test_unreachable_page_is_kept_and_a_server_capture_is_never_its_revisit(
    reader_api: tuple[Api, int],
) -> None:
    api, dead_port = reader_api
    url = f"http://127.0.0.1:{dead_port}/story"

    failed = await api.client.post("/api/v1/captures", json={"url": url}, headers=api.auth)
    assert failed.status == 502 and (await failed.json())["error"] == "fetch_failed"

    response = await api.client.post("/api/v1/captures", json={"url": url, "html": DOM}, headers=api.auth)
    assert response.status == 201, await response.text()
    created = await response.json()
    assert created["source"] == "reader" and "fetch_failed" in created["detail"]
    detail = await (await api.client.get(f"/api/v1/captures/{created['id']}")).json()
    assert detail["fetch_error"].startswith("fetch_failed:") and MARKER in detail["article"]["text"]

    changed = DOM.replace(MARKER, "A later edit the reader saw on the intranet.")
    next_save = await api.client.post("/api/v1/captures", json={"url": url, "html": changed}, headers=api.auth)
    assert (await next_save.json())["revisit"] is False
    raw = await api.client.get(f"/api/v1/captures/{(await next_save.json())['id']}/raw")
    assert await raw.read() == changed.encode()
