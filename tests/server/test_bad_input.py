"""Every bad input gets a JSON 4xx, never a 500 (issue 21, finding 5).

A real server on 127.0.0.1 over real SeaweedFS and SQLite; every URL in these tests names a host
the test resolver does not know, or one the guard refuses, so nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from urllib.parse import quote

import pytest

from crawler.snapshot.capture import Capture
from server import state
from tests.kit.api import Api
from tests.kit.origin import PARAGRAPHS, article_html

IDNA_HOSTS = ["xn--bcher-kva.example", "bücher.example", "xn--zz.example", "xn--.example",
              "a" * 64 + ".example", "ex..ample.com", "-bad-.example", "xn--80ak6aa92e.com"]


async def _json_4xx(response) -> dict:
    text = await response.text()
    assert 400 <= response.status < 500, (response.status, text[:300])
    assert response.content_type == "application/json", text[:300]
    body = json.loads(text)
    assert body["error"] and body["detail"]
    return body


@pytest.mark.parametrize("host", IDNA_HOSTS)
async def test_odd_hosts(api: Api, host: str) -> None:
    url = f"http://{host}/page"
    c = api.client
    for path, params in [
        ("/api/v1/captures", {"url": url}),
        ("/api/v1/changes", {"url": url}),
        ("/api/v1/export", {"url": url, "format": "jsonl"}),
        ("/api/v1/export", {"site": host, "format": "jsonl"}),
        ("/api/v1/search", {"q": "x", "site": host}),
        ("/api/v1/feed.atom", {"site": host}),
        ("/cdx", {"url": url}),
        ("/cdx", {"url": f"*.{host}"}),
    ]:
        r = await c.get(path, params=params)
        if r.status >= 500 or (r.status >= 400 and r.content_type != "application/json"):
            raise AssertionError((path, params, r.status, await r.text()))
    for path in (f"/timemap/link/{url}", f"/timegate/{url}", f"/timemap/link/{quote(url, safe='')}"):
        r = await c.get(path)
        assert r.status < 500, (path, r.status, await r.text())
    for path in ("/api/v1/captures", "/api/v1/clean"):
        r = await c.post(path, json={"url": url}, headers=api.auth)
        assert r.status < 500, (path, r.status, await r.text())


async def test_deeply_nested_json(api: Api) -> None:
    body = '{"url": ' + "[" * 100_000 + "]" * 100_000 + "}"
    for path in ("/api/v1/clean", "/api/v1/captures"):
        r = await api.client.post(path, data=body, headers={**api.auth, "Content-Type": "application/json"})
        await _json_4xx(r)


@pytest.mark.parametrize("encoding,data", [
    ("gzip", b"not gzip at all"),
    ("deflate", b"\x00\x01garbage"),
    ("br", b"\xff\xfe"),
    ("gzip", gzip.compress(b'{"url": "http://x.example/"}')[:-6]),
    ("x-unknown", b'{"url": "http://x.example/"}'),
])
async def test_broken_content_encoding(api: Api, encoding: str, data: bytes) -> None:
    headers = {**api.auth, "Content-Type": "application/json", "Content-Encoding": encoding}
    for path in ("/api/v1/clean", "/api/v1/captures"):
        r = await api.client.post(path, data=data, headers=headers)
        await _json_4xx(r)


async def test_good_content_encoding_still_read(api: Api) -> None:
    data = zlib.compress(json.dumps({"url": "ftp://x.example/"}).encode())
    r = await api.client.post("/api/v1/clean", data=data, headers={
        "Content-Type": "application/json", "Content-Encoding": "deflate"})
    body = await _json_4xx(r)
    assert "http(s)" in body["detail"]


@pytest.mark.parametrize("moment", [
    "2024-01-01T00:00:00+99:00", "2024-01-01T00:00:00-23:59", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "2024-01-01T00:00:00+2400", "00010101", "99991231235959",
])
async def test_extreme_time_bounds(api: Api, moment: str) -> None:
    for path, extra in [("/api/v1/captures", {}), ("/api/v1/search", {"q": "x"}),
                        ("/api/v1/changes", {}), ("/cdx", {"url": "example.com"}),
                        ("/api/v1/export", {"site": "example.com", "format": "jsonl"})]:
        for name in ("from", "to"):
            r = await api.client.get(path, params={**extra, name: moment})
            assert r.status < 500, (path, name, moment, r.status, await r.text())
            if r.status >= 400:
                await _json_4xx(r)


@pytest.mark.parametrize("page_number", ["9" * 30, "9223372036854775808", "-5", "9" * 5000, "x"])
async def test_web_search_page_number(api: Api, page_number: str) -> None:
    r = await api.client.get("/web/search", params={"q": "bridge", "page": page_number})
    assert r.status < 500, (r.status, (await r.text())[:300])


@pytest.mark.parametrize("body,content_type", [
    (b"--b\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\nhttp://x.example/", "multipart/form-data; boundary=b"),
    (b"garbage without any boundary", "multipart/form-data; boundary=zzz"),
    (b"--b\r\n\r\n\r\n--b--\r\n", "multipart/form-data; boundary=b"),
    (b"--b\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\nx\r\n--b--\r\n", "multipart/form-data"),
    (b"url=%ZZ%", "application/x-www-form-urlencoded"),
])
async def test_web_save_broken_form(api: Api, body: bytes, content_type: str) -> None:
    r = await api.client.post("/web/save", data=body, headers={**api.auth, "Content-Type": content_type})
    assert 400 <= r.status < 500, (r.status, (await r.text())[:300])


async def test_an_internationalised_host_finds_its_captures_however_it_is_spelled(api: Api) -> None:
    archiver = await api.app[state.BACKENDS].archiver()
    kept = await asyncio.to_thread(archiver.archive, Capture(
        url="http://bücher.example/neu", status=200,
        body=article_html("Neue Bücher", PARAGRAPHS).encode(),
        response_headers=[("Content-Type", "text/html")],
    ))
    for spelling in ("http://bücher.example/neu", "http://xn--bcher-kva.example/neu",
                     "http://BÜCHER.example/neu"):
        listed = await (await api.client.get("/api/v1/captures", params={"url": spelling})).json()
        assert [row["id"] for row in listed["captures"]] == [kept.capture_id], spelling
        cdx = await (await api.client.get("/cdx", params={"url": spelling, "fl": "timestamp"})).text()
        assert len(cdx.splitlines()) == 1, spelling
        timemap = await api.client.get(f"/timemap/link/{spelling}")
        text = await timemap.text()
        assert timemap.status == 200 and kept.capture_id in text, spelling
        # The original is the host's one spelling, not its percent-encoded request-line form.
        assert text.startswith("<http://xn--bcher-kva.example/neu>; rel=\"original\""), text[:80]
    broken = await (await api.client.get("/api/v1/captures", params={"url": "http://xn--zz.example/"})).json()
    assert "internationalised (IDNA)" in broken["detail"]
