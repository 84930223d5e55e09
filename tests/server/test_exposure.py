"""A local server cannot be read through DNS rebinding or a cross-site form (issue 21, finding 7).

Real servers on 127.0.0.1 over real storage; the "attacker's" names are only Host headers, never
looked up anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from xml.etree import ElementTree as ET

import pytest

from crawler.config import Settings
from server import state
from tests.kit.api import Api, running_api
from tests.kit.archive import Archive


async def test_clean_needs_a_json_content_type(api: Api) -> None:
    body = '{"url": "https://example.invalid/", "html": "<article><p>x</p></article>"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = await api.client.post("/api/v1/clean", data=body.encode(), headers=headers)
        payload = await response.json()
        assert response.status == 415, (content_type, payload)
        assert payload["error"] == "unsupported_media_type" and "application/json" in payload["detail"]
    ok = await api.client.post("/api/v1/clean", data=body.encode(),
                               headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status != 415
    # A cross-site caller must ask first, and the CORS policy says no to a web page's origin.
    preflight = await api.client.options("/api/v1/clean", headers={
        "Origin": "https://attacker.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 403


@pytest.mark.parametrize("host,served", [
    ("attacker.example", False), ("attacker.example:8080", False), ("127.0.0.1.nip.io", False),
    ("localhost", True), ("LOCALHOST.:1234", True), ("127.0.0.1", True), ("[::1]:80", True),
    ("10.0.0.5:8080", True), ("app.localhost", True),
])
async def test_other_host_names_get_421(api: Api, host: str, served: bool) -> None:
    response = await api.client.get("/api/v1/captures", headers={"Host": host})
    payload = await response.json()
    if served:
        assert response.status == 200, (host, payload)
    else:
        assert response.status == 421, (host, payload)
        assert payload["error"] == "misdirected_request" and "DECLUTTER_ALLOWED_HOSTS" in payload["detail"]


async def test_allowed_hosts_and_public_url(settings: Callable[..., Settings]) -> None:
    chosen = settings(rate_limit=0.0, allowed_hosts=["archive.internal"],
                      public_url="https://archive.example.org/")
    async with running_api(chosen) as api:
        for host, status in (("archive.internal", 200), ("archive.example.org", 200),
                             ("evil.example", 421), ("*", 421)):
            response = await api.client.get("/api/v1/captures", headers={"Host": host})
            assert response.status == status, host
    async with running_api(settings(rate_limit=0.0, allowed_hosts=["*"])) as api:
        response = await api.client.get("/api/v1/captures", headers={"Host": "any.example"})
        assert response.status == 200


async def test_links_come_from_public_url_not_the_host_header(archive: Archive) -> None:
    client, rfc_url = archive.api.client, "http://a.example.org/"
    for host in ("localhost", "127.0.0.1:9"):
        timegate = await client.get(f"/timegate/{rfc_url}", allow_redirects=False, headers={"Host": host})
        assert timegate.status == 302
        assert timegate.headers["Location"].startswith(f"http://{host}/api/v1/captures/")
    poisoned = await client.get(f"/timegate/{rfc_url}", allow_redirects=False,
                                headers={"Host": "attacker.example"})
    assert poisoned.status == 421 and "Location" not in poisoned.headers

    # The same archive behind a server that knows its public address and answers any name.
    archiver = await archive.api.app[state.BACKENDS].archiver()
    public = replace(archive.api.settings, public_url="https://archive.example.org/", allowed_hosts=["*"])
    async with running_api(public, archiver=archiver) as api:
        client = api.client
        timegate = await client.get(f"/timegate/{rfc_url}", allow_redirects=False,
                                    headers={"Host": "attacker.example"})
        assert timegate.headers["Location"].startswith("https://archive.example.org/api/v1/captures/")
        assert "attacker" not in timegate.headers["Link"]
        assert "https://archive.example.org/timemap/link/" in timegate.headers["Link"]
        memento = await client.get(timegate.headers["Location"].replace("https://archive.example.org", ""),
                                   headers={"Host": "attacker.example"})
        assert memento.status == 200 and "attacker" not in memento.headers["Link"]
        timemap = await client.get(f"/timemap/link/{rfc_url}", headers={"Host": "attacker.example"})
        text = await timemap.text()
        assert "attacker" not in text and "https://archive.example.org/api/v1/captures/" in text
        feed = await client.get("/api/v1/feed.atom", headers={"Host": "attacker.example"})
        body = await feed.read()
        assert b"attacker" not in body
        hrefs = [link.get("href") for link in ET.fromstring(body).iter("{http://www.w3.org/2005/Atom}link")]
        assert any(href.startswith("https://archive.example.org/api/v1/captures/") for href in hrefs)
