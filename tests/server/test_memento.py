"""Memento (RFC 7089) TimeGate and TimeMap, checked against the RFC's own examples, and the CDX API.

The archive fixture holds captures of http://a.example.org/ at the datetimes the RFC's examples
use (sections 4.2.1 and 5.1.1), so the expected mementos are the RFC's.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from tests.kit.archive import RFC_TIMES, RFC_URL, Archive

LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[\w-]+="[^"]*")*)')
PARAM = re.compile(r'([\w-]+)="([^"]*)"')


def parse_links(text: str) -> list[tuple[str, dict[str, str]]]:
    """application/link-format (RFC 6690) into (URI, params), in order."""
    return [(uri, dict(PARAM.findall(params))) for uri, params in LINK.findall(text)]


def by_rel(links: list[tuple[str, dict[str, str]]], rel: str) -> list[tuple[str, dict[str, str]]]:
    return [(uri, params) for uri, params in links if rel in params.get("rel", "").split()]


async def test_timemap_matches_rfc_7089_section_5(archive: Archive) -> None:
    client = archive.api.client
    response = await client.get(f"/timemap/link/{RFC_URL}")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/link-format")
    links = parse_links(await response.text())
    assert links[0] == (RFC_URL, {"rel": "original"})
    (self_uri, self_params), = by_rel(links, "self")
    assert self_uri.endswith(f"/timemap/link/{RFC_URL}")
    assert self_params["type"] == "application/link-format"
    assert self_params["from"] == "Tue, 20 Jun 2000 18:02:59 GMT"
    assert self_params["until"] == "Tue, 27 Oct 2009 20:49:54 GMT"
    (gate, _), = by_rel(links, "timegate")
    assert gate.endswith(f"/timegate/{RFC_URL}")
    mementos = by_rel(links, "memento")
    assert [params["datetime"] for _, params in mementos] == [
        "Tue, 20 Jun 2000 18:02:59 GMT",
        "Wed, 21 Jun 2000 01:17:31 GMT",
        "Tue, 11 Sep 2001 20:36:10 GMT",
        "Wed, 12 Sep 2001 07:00:00 GMT",
        "Tue, 27 Oct 2009 20:49:54 GMT",
    ]
    assert [uri.rsplit("/", 2)[-2] for uri, _ in mementos] == archive.ids["rfc"]
    assert by_rel(links, "first")[0][1]["datetime"] == "Tue, 20 Jun 2000 18:02:59 GMT"
    assert by_rel(links, "last")[0][1]["datetime"] == "Tue, 27 Oct 2009 20:49:54 GMT"


async def test_timegate_rfc_7089_section_4_2_1(archive: Archive) -> None:
    """Accept-Datetime: Tue, 11 Sep 2001 20:35:00 GMT -> 302 to the 20:36:10 memento."""
    client = archive.api.client
    response = await client.get(
        f"/timegate/{RFC_URL}",
        headers={"Accept-Datetime": "Tue, 11 Sep 2001 20:35:00 GMT"},
        allow_redirects=False,
    )
    assert response.status == 302
    assert "accept-datetime" in response.headers["Vary"].lower()
    chosen = archive.ids["rfc"][2]
    assert response.headers["Location"].endswith(f"/api/v1/captures/{chosen}/raw")
    links = parse_links(response.headers["Link"])
    assert (RFC_URL, {"rel": "original"}) in links
    (timemap, params), = by_rel(links, "timemap")
    assert timemap.endswith(f"/timemap/link/{RFC_URL}") and params["type"] == "application/link-format"
    rels = {params["rel"]: params["datetime"] for _, params in links if "datetime" in params}
    assert rels == {
        "first memento": "Tue, 20 Jun 2000 18:02:59 GMT",
        "prev memento": "Wed, 21 Jun 2000 01:17:31 GMT",
        "memento": "Tue, 11 Sep 2001 20:36:10 GMT",
        "next memento": "Wed, 12 Sep 2001 07:00:00 GMT",
        "last memento": "Tue, 27 Oct 2009 20:49:54 GMT",
    }

    memento = await client.session.get(response.headers["Location"])
    assert memento.status == 200
    assert memento.headers["Memento-Datetime"] == "Tue, 11 Sep 2001 20:36:10 GMT"
    memento_links = parse_links(memento.headers["Link"])
    assert (RFC_URL, {"rel": "original"}) in memento_links
    assert by_rel(memento_links, "timegate") and by_rel(memento_links, "timemap")
    assert b"Snapshot number 2" in await memento.read()


async def test_timegate_edges(archive: Archive) -> None:
    client = archive.api.client
    ids = archive.ids["rfc"]
    cases = [
        (None, ids[-1]),  # no Accept-Datetime: the most recent memento
        ("Sat, 01 Jan 1994 00:00:00 GMT", ids[0]),
        ("Fri, 01 Jan 2100 00:00:00 GMT", ids[-1]),
        ("Wed, 21 Jun 2000 01:17:31 GMT", ids[1]),
        ("Mon, 01 Jan 2001 00:00:00 GMT", ids[1]),  # nearest either side, not only before
        ("Sat, 01 Sep 2001 00:00:00 GMT", ids[2]),
    ]
    for header, expected in cases:
        headers = {"Accept-Datetime": header} if header else {}
        response = await client.get(f"/timegate/{RFC_URL}", headers=headers, allow_redirects=False)
        assert response.status == 302, header
        assert response.headers["Location"].endswith(f"/{expected}/raw"), header
    latest = parse_links(
        (await client.get(f"/timegate/{RFC_URL}", allow_redirects=False)).headers["Link"]
    )
    assert {params["rel"] for _, params in latest if "datetime" in params} == {
        "first memento", "prev memento", "last memento"
    }

    bad = await client.get(f"/timegate/{RFC_URL}", headers={"Accept-Datetime": "last tuesday"})
    assert bad.status == 400 and "Accept-Datetime" in (await bad.json())["detail"]
    missing = await client.get("/timegate/http://never.example.org/", allow_redirects=False)
    assert missing.status == 404
    assert (await client.get("/timemap/link/http://never.example.org/")).status == 404


async def test_original_url_spellings(archive: Archive) -> None:
    client = archive.api.client
    for path in (f"/timemap/link/{quote(RFC_URL, safe='')}", "/timemap/link/http:/a.example.org/"):
        response = await client.get(path)
        assert response.status == 200, path
        assert len(by_rel(parse_links(await response.text()), "memento")) == len(RFC_TIMES)
    response = await client.get("/timegate/not-a-url", allow_redirects=False)
    assert response.status == 400


async def test_cdx_json_like_the_wayback_cdx_server(archive: Archive) -> None:
    client = archive.api.client
    rows = await (await client.get("/cdx", params={"url": RFC_URL, "output": "json"})).json()
    assert rows[0] == ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    assert [row[1] for row in rows[1:]] == [t.strftime("%Y%m%d%H%M%S") for t in RFC_TIMES]
    assert {row[0] for row in rows[1:]} == {"org,example,a)/"}
    assert {row[2] for row in rows[1:]} == {RFC_URL}
    assert {row[3] for row in rows[1:]} == {"text/html"}
    assert {row[4] for row in rows[1:]} == {"200"}
    assert all(row[5] and int(row[6]) > 0 for row in rows[1:])

    picked = await (await client.get(
        "/cdx", params={"url": RFC_URL, "output": "json", "fl": "timestamp,statuscode", "from": "2001", "to": "2001"}
    )).json()
    assert picked == [["timestamp", "statuscode"], ["20010911203610", "200"], ["20010912070000", "200"]]
    last = await (await client.get("/cdx", params={"url": RFC_URL, "output": "json", "limit": "-1", "fl": "timestamp"})).json()
    assert last == [["timestamp"], ["20091027204954"]]
    text = await (await client.get("/cdx", params={"url": RFC_URL, "limit": "2"})).text()
    lines = text.splitlines()
    assert len(lines) == 2 and lines[0].split()[1] == "20000620180259"
    empty = await (await client.get("/cdx", params={"url": "http://never.example.org/", "output": "json"})).json()
    assert empty == []
    bad = await client.get("/cdx", params={"url": RFC_URL, "fl": "timestamp,secret"})
    assert bad.status == 400
