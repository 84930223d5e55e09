"""Articles come from what the server fetched, never from HTML a client posts (issue 21, finding 3).

A real server on 127.0.0.1 over real SeaweedFS and SQLite, fetching the loopback origin site it is
allowed to; the forged DOM says something the real page never does.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from xml.etree import ElementTree as ET

from aiohttp import web
from warcio.archiveiterator import ArchiveIterator

from crawler.config import Settings
from crawler.snapshot.capture import Capture
from server import state
from tests.kit.api import Api, running_api
from tests.kit.origin import PARAGRAPHS, Origin, article_html, serve

FORGED_LINE = "The council secretly sold the riverbank to a casino developer overnight, sources confirm."
FORGED = article_html("Council sells riverbank to casino", [*PARAGRAPHS[:3], FORGED_LINE])
GENUINE_TITLE = "Council weighs footbridge designs"


def _records(data: bytes) -> list[tuple[str, str, bytes]]:
    return [
        (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
        for r in ArchiveIterator(io.BytesIO(data))
    ]


async def test_posted_html_never_becomes_the_article(api: Api, origin: Origin) -> None:
    url = origin.page("/article?forged=1")
    created = await api.client.post("/api/v1/captures", json={"url": url, "html": FORGED},
                                    headers=api.auth)
    assert created.status == 201, await created.text()
    first = await created.json()
    assert first["source"] == "server" and first["title"] == GENUINE_TITLE
    assert "server's own fetch" in first["detail"]

    detail = await (await api.client.get(f"/api/v1/captures/{first['id']}")).json()
    assert detail["source"] == "server" and detail["title"] == GENUINE_TITLE
    assert detail["article"]["title"] == GENUINE_TITLE
    assert "casino" not in detail["article"]["text"] and "footbridge" in detail["article"]["text"]
    text = await (await api.client.get(f"/api/v1/captures/{first['id']}/text")).text()
    assert "casino" not in text

    # The posted DOM is kept, but only as the reader's resource record, never the response.
    records = _records(await (await api.client.get(f"/api/v1/captures/{first['id']}/warc")).read())
    response = next(body for kind, _, body in records if kind == "response")
    assert b"casino" not in response
    reader = [uri for kind, uri, body in records if kind == "resource" and b"casino" in body]
    assert reader and all(uri.startswith("urn:reader:") for uri in reader)

    search = await (await api.client.get("/api/v1/search", params={"q": "casino"})).json()
    assert search["results"] == []

    # Sent again with another forgery: an unchanged page is a revisit of the genuine capture,
    # and its article is still the genuine one.
    again = await api.client.post(
        "/api/v1/captures", json={"url": url, "html": FORGED.replace("casino", "stadium")},
        headers=api.auth)
    second = await again.json()
    assert second["revisit"] is True and second["title"] == GENUINE_TITLE
    article = (await (await api.client.get(f"/api/v1/captures/{second['id']}")).json())["article"]
    assert "stadium" not in article["text"] and "footbridge" in article["text"]

    # An anonymous reader asking for the URL's article gets the genuine one from the archive.
    cleaned = await (await api.client.post("/api/v1/clean", json={"url": url})).json()
    assert cleaned["source"] == "capture" and cleaned["title"] == GENUINE_TITLE
    assert "casino" not in cleaned["text"] and "stadium" not in cleaned["text"]


async def test_reader_articles_are_not_served_to_other_clients(api: Api, origin: Origin) -> None:
    url = origin.page("/article?reader=1")
    genuine = await (await api.client.post("/api/v1/captures", json={"url": url},
                                           headers=api.auth)).json()
    assert genuine["source"] == "server"
    archiver = await api.app[state.BACKENDS].archiver()
    reader = Capture.from_reader(url, FORGED, "fetch_failed: the origin was down")
    kept = await asyncio.to_thread(archiver.archive, reader)

    # The newest capture is the reader's; it is labelled so, and readable by id...
    listed = (await (await api.client.get("/api/v1/captures", params={"url": url})).json())
    assert [row["source"] for row in listed["captures"]] == ["reader", "server"]
    detail = await (await api.client.get(f"/api/v1/captures/{kept.capture_id}")).json()
    assert detail["source"] == "reader" and "casino" in detail["article"]["text"]
    hits = (await (await api.client.get("/api/v1/search", params={"q": "casino"})).json())["results"]
    assert [hit["source"] for hit in hits] == ["reader"]
    feed = ET.fromstring(await (await api.client.get("/api/v1/feed.atom")).read())
    atom = "{http://www.w3.org/2005/Atom}"
    labels = {
        entry.find(f"{atom}id").text.rsplit(":", 1)[1]: [c.get("term") for c in entry.iter(f"{atom}category")]
        for entry in feed.iter(f"{atom}entry")
    }
    assert "source:reader" in labels[kept.capture_id]
    assert "source:reader" not in labels[genuine["id"]]

    # ...but /clean answers another client with the archive's own fetch, never the reader's DOM.
    cleaned = await (await api.client.post("/api/v1/clean", json={"url": url})).json()
    assert cleaned["source"] == "capture" and cleaned["capture_id"] == genuine["id"]
    assert "casino" not in cleaned["text"]


async def test_reader_only_url_is_fetched_not_served_from_the_archive(
    api: Api, other_origin: Origin
) -> None:
    url = other_origin.page("/article?only-reader=1")  # a site the guard refuses: never contacted
    archiver = await api.app[state.BACKENDS].archiver()
    await asyncio.to_thread(archiver.archive, Capture.from_reader(url, FORGED, "fetch_refused: test"))
    hits = len(other_origin.hits)
    response = await api.client.post("/api/v1/clean", json={"url": url})
    body = await response.json()
    assert response.status == 403 and body["error"] == "fetch_refused", body
    assert len(other_origin.hits) == hits


async def test_a_script_built_page_is_rendered_by_the_server_not_taken_from_the_post(
    settings: Callable[..., Settings],
) -> None:
    """The served HTML has no article: the article is the server's own render, never the post."""

    async def shell(request: web.Request) -> web.Response:
        return web.Response(text=JS_SHELL, content_type="text/html")

    async def script(request: web.Request) -> web.Response:
        return web.Response(text=JS_APP, content_type="text/javascript")

    site = web.Application()
    site.add_routes([web.get("/story", shell), web.get("/app.js", script)])
    async with serve(site) as port, running_api(
        settings(rate_limit=0.0), allow=[f"127.0.0.1:{port}"]
    ) as api:
        url = f"http://127.0.0.1:{port}/story"
        response = await api.client.post("/api/v1/captures", json={"url": url, "html": FORGED},
                                         headers=api.auth)
        created = await response.json()
        assert response.status == 201 and created["source"] == "server", created
        assert created["title"] == "Ferry pier saved"
        detail = await (await api.client.get(f"/api/v1/captures/{created['id']}")).json()
        assert detail["rendered"] is True and "casino" not in detail["article"]["text"]
        assert "river council" in detail["article"]["text"]


JS_SHELL = """<!doctype html><html><head><title>Loading</title></head><body>
<noscript>Please enable JavaScript to read this story.</noscript><div id="root"></div>
<script src="/app.js"></script></body></html>"""
JS_APP = "document.title = 'Ferry pier saved'; document.getElementById('root').innerHTML = " + repr(
    "<article><h1>Ferry pier saved</h1>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</article>"
) + ";"
