"""Any URL a client can write gets an answer below 500 with a JSON error body (issue 21, finding 5).

Hypothesis writes URLs with IDNA and broken punycode labels, labels over 63 characters, odd ports,
unicode and percent-encoding, and sends each to every endpoint that takes a URL or a site. The
server is the real one on 127.0.0.1; its resolver knows no generated name (every generated host
starts with a letter), so no request ever leaves loopback.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

import hypothesis
from hypothesis import HealthCheck
from hypothesis import strategies as st

from tests.kit.api import Api

EXAMPLES = 60

_letters = st.sampled_from("abcdefghijklmnopqrstuvwxyz")
_label = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    st.from_regex(r"xn--[a-z0-9-]{0,12}", fullmatch=True),  # punycode, mostly undecodable
    st.builds(lambda head, n: head + "a" * n, _letters, st.integers(55, 80)),  # around 63
    st.text(alphabet=st.characters(min_codepoint=0xA1, max_codepoint=0x2FFF,
                                   categories=("Ll", "Lu", "Lo", "Mn", "Nd")),
            min_size=1, max_size=8),
    st.from_regex(r"[a-z](%[0-9A-Fa-f]{2}|[a-z]){1,6}", fullmatch=True),  # percent-encoded
)
_host = st.builds(
    lambda first, rest, tld: ".".join([first, *rest, tld]),
    st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
    st.lists(_label, max_size=3),
    st.sampled_from(["example", "test", "invalid", "xn--p1ai", "com."]),
)
_port = st.one_of(
    st.just(""),
    st.integers(0, 70_000).map(lambda p: f":{p}"),
    st.sampled_from([":", ":-1", ":abc", ":080", ":99999999999999999999"]),
)
_path = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_characters="#"),
    max_size=20,
).map(lambda text: "/" + text)
URLS = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https", "HTTP", "ftp"]), _host, _port, _path,
)


async def _check(api: Api, url: str, host: str) -> list[str]:
    """Every endpoint's answer to ``url`` (and ``host`` as a site); what broke, if anything."""
    c = api.client
    calls = [
        c.get("/api/v1/captures", params={"url": url}),
        c.get("/api/v1/changes", params={"url": url}),
        c.get("/api/v1/export", params={"url": url, "format": "jsonl"}),
        c.get("/api/v1/export", params={"site": host, "format": "csv"}),
        c.get("/api/v1/search", params={"q": "bridge", "site": host}),
        c.get("/api/v1/feed.atom", params={"site": host}),
        c.get("/cdx", params={"url": url}),
        c.get("/cdx", params={"url": f"*.{host}"}),
        c.get("/timemap/link/" + quote(url, safe=":/%")),
        c.get("/timegate/" + quote(url, safe="")),
        c.post("/api/v1/clean", json={"url": url}),
        c.post("/api/v1/captures", json={"url": url}, headers=api.auth),
    ]
    broken = []
    for call in calls:
        async with call as response:
            text = await response.text()
            where = f"{response.method} {response.url}"
            if response.status >= 500:
                broken.append(f"{where}: {response.status} {text[:200]}")
            elif response.status >= 400:
                try:
                    body = json.loads(text)
                    assert body["error"] and body["detail"]
                except (ValueError, KeyError, AssertionError, TypeError):
                    broken.append(f"{where}: {response.status} without a JSON error: {text[:200]}")
    return broken


async def test_url_parameters_never_give_a_5xx(api: Api) -> None:
    loop = asyncio.get_running_loop()
    broken: list[str] = []
    tried: list[str] = []

    @hypothesis.given(url=URLS, host=_host)
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    def prop(url: str, host: str) -> None:
        tried.append(url)
        broken.extend(asyncio.run_coroutine_threadsafe(_check(api, url, host), loop).result(60))

    # Hypothesis drives a blocking function; it runs in a thread while this loop serves the app.
    await asyncio.to_thread(prop)
    assert len(tried) >= EXAMPLES
    assert any("xn--" in url for url in tried) and any(len(url) > 120 for url in tried)
    assert not broken, "\n".join(broken[:20])
