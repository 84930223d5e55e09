"""Capture endpoints over real storage (SeaweedFS) and a real catalogue (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from tests.kit.api import Api
from tests.kit.archive import SCREENSHOT, Archive
from tests.kit.origin import PARAGRAPHS, Origin, article_html


async def test_create_needs_a_valid_token(api: Api, origin: Origin) -> None:
    body = {"url": origin.page("/article")}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {api.token}"}):
        response = await api.client.post("/api/v1/captures", json=body, headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        payload = await response.json()
        assert payload["error"] == "unauthorized" and "declutter token create" in payload["detail"]
    listing = await (await api.client.get("/api/v1/captures")).json()
    assert listing["captures"] == []


async def test_capture_then_read_it_back_every_way(api: Api, origin: Origin) -> None:
    reader_dom = article_html(
        "Council weighs footbridge designs",
        [*PARAGRAPHS, "As the reader saw it, below the login wall that a plain fetch never passes."],
    )
    response = await api.client.post(
        "/api/v1/captures", json={"url": origin.page("/article"), "html": reader_dom}, headers=api.auth
    )
    assert response.status == 201, await response.text()
    created = await response.json()
    capture_id = created["id"]
    assert response.headers["Location"] == f"/api/v1/captures/{capture_id}"
    assert created["url"] == origin.page("/article")

    detail = await (await api.client.get(f"/api/v1/captures/{capture_id}")).json()
    assert detail["id"] == capture_id and detail["status"] == 200
    assert detail["article"]["title"] == "Council weighs footbridge designs"
    # The article is the server's fetch; the reader's DOM is kept only as its resource record.
    assert "below the login wall" not in detail["article"]["text"]
    assert detail["article"]["text"].startswith("The river council met")
    assert detail["links"]["raw"].endswith("/raw")

    raw = await api.client.get(f"/api/v1/captures/{capture_id}/raw")
    assert raw.status == 200
    csp = [part.strip() for part in raw.headers["Content-Security-Policy"].split(";")]
    assert csp[0] == "sandbox" and "default-src 'none'" in csp
    assert raw.headers["Content-Type"].startswith("text/html")
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    assert "Memento-Datetime" in raw.headers
    assert b"Council weighs footbridge designs" in await raw.read()

    text = await api.client.get(f"/api/v1/captures/{capture_id}/text")
    assert text.headers["Content-Type"].startswith("text/plain")
    assert len((await text.text()).split()) > 20

    warc = await api.client.get(f"/api/v1/captures/{capture_id}/warc")
    assert warc.headers["Content-Type"] == "application/warc"
    assert capture_id in warc.headers["Content-Disposition"]
    records = list(ArchiveIterator(io.BytesIO(await warc.read())))
    types = [record.rec_type for record in records]
    assert "response" in types
    uris = {record.rec_headers.get_header("WARC-Target-URI") for record in records}
    assert origin.page("/article") in uris
    assert any(b"below the login wall" in record.content_stream().read() for record in
               ArchiveIterator(io.BytesIO(await warc.read())) if record.rec_type != "warcinfo")

    screenshot = await api.client.get(f"/api/v1/captures/{capture_id}/screenshot")
    assert screenshot.status == 404
    assert (await screenshot.json())["error"] == "not_found"


async def test_capture_refuses_unguarded_targets(api: Api, other_origin: Origin) -> None:
    response = await api.client.post(
        "/api/v1/captures", json={"url": other_origin.page("/article")}, headers=api.auth
    )
    assert response.status == 403
    assert (await response.json())["error"] == "fetch_refused"


async def test_missing_capture_is_404(api: Api) -> None:
    for suffix in ("", "/raw", "/text", "/warc", "/screenshot"):
        response = await api.client.get(f"/api/v1/captures/01NOSUCHCAPTURE{suffix}")
        assert response.status == 404, suffix
        assert (await response.json())["error"] == "not_found"


async def test_clean_prefers_the_newest_capture(api: Api, origin: Origin) -> None:
    url = origin.page("/article?v=2")
    fetched = await (await api.client.post("/api/v1/clean", json={"url": url})).json()
    assert fetched["source"] == "fetched"
    created = await (await api.client.post("/api/v1/captures", json={"url": url}, headers=api.auth)).json()
    hits = len(origin.hits)
    stored = await (await api.client.post("/api/v1/clean", json={"url": url})).json()
    assert stored["source"] == "capture" and stored["capture_id"] == created["id"]
    assert stored["text"] == fetched["text"]
    assert len(origin.hits) == hits


async def test_listing_newest_first_with_cursor(archive: Archive) -> None:
    client = archive.api.client
    url = "http://a.example.org/"
    first = await client.get("/api/v1/captures", params={"url": url, "limit": "2"})
    page = await first.json()
    assert [c["id"] for c in page["captures"]] == archive.ids["rfc"][::-1][:2]
    assert page["next_cursor"] and 'rel="next"' in first.headers["Link"]
    seen = [c["id"] for c in page["captures"]]
    while page["next_cursor"]:
        page = await (await client.get(
            "/api/v1/captures", params={"url": url, "limit": "2", "cursor": page["next_cursor"]}
        )).json()
        seen += [c["id"] for c in page["captures"]]
    assert seen == archive.ids["rfc"][::-1]
    dated = await (await client.get(
        "/api/v1/captures", params={"url": url, "from": "2001", "to": "2001-12-31"}
    )).json()
    assert [c["id"] for c in dated["captures"]] == archive.ids["rfc"][3:1:-1]
    bad = await client.get("/api/v1/captures", params={"cursor": "garbage"})
    assert bad.status == 400
    bad = await client.get("/api/v1/captures", params={"from": "yesterday"})
    assert bad.status == 400 and "from" in (await bad.json())["detail"]


async def test_search(archive: Archive) -> None:
    client = archive.api.client
    response = await client.get("/api/v1/search", params={"q": '"graceful steel"'})
    results = (await response.json())["results"]
    assert [r["id"] for r in results] == [archive.ids["article"][1]]
    assert "<mark>" in results[0]["snippet"]
    both = (await (await client.get("/api/v1/search", params={"q": "footbridge", "site": "news.example.com"})).json())["results"]
    assert {r["id"] for r in both} == {*archive.ids["article"], *archive.ids["screenshot"]}
    dated = (await (await client.get(
        "/api/v1/search", params={"q": "footbridge", "site": "news.example.com", "to": "2024-05-31"}
    )).json())["results"]
    assert {r["id"] for r in dated} == set(archive.ids["article"])
    none = (await (await client.get("/api/v1/search", params={"q": "footbridge", "to": "2010"})).json())["results"]
    assert {r["url"] for r in none} <= {"http://a.example.org/"}
    assert (await client.get("/api/v1/search")).status == 400


async def test_token_cli_and_serve_subprocess(tmp_path: Path) -> None:
    """`declutter token create` prints a token the server then accepts (real process)."""
    import asyncio
    import os
    import sys

    from crawler.cli.services import free_port

    env = {**os.environ, "DECLUTTER_DATA_DIR": str(tmp_path / "data"), "DECLUTTER_S3_ENDPOINT": "127.0.0.1:9",
           "DECLUTTER_RATE_LIMIT": "0"}
    create = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler.cli", "token", "create", "--name", "t",
        env=env, stdout=asyncio.subprocess.PIPE,
    )
    token = (await create.communicate())[0].decode().strip()
    assert create.returncode == 0 and token.startswith("dcl_")
    assert token not in (tmp_path / "data" / "tokens.json").read_text()

    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler.cli", "serve", "--port", str(port),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("declutter serve did not start")
            for url in ("http://127.0.0.1:9/", "http://[::1]/", "http://0x7f000001/"):
                async with session.post(
                    f"http://127.0.0.1:{port}/api/v1/clean", json={"url": url}
                ) as response:
                    assert response.status == 403
            async with session.post(
                f"http://127.0.0.1:{port}/api/v1/captures",
                json={"url": "http://127.0.0.1:9/"},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                assert response.status in (403, 503)
                assert (await response.json())["error"] != "unauthorized"
    finally:
        server.terminate()
        await server.wait()


async def test_screenshot_of_a_rendered_capture(archive: Archive) -> None:
    capture_id = archive.ids["screenshot"][0]
    response = await archive.api.client.get(f"/api/v1/captures/{capture_id}/screenshot")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert await response.read() == SCREENSHOT
    detail = await (await archive.api.client.get(f"/api/v1/captures/{capture_id}")).json()
    assert detail["rendered"] is True
