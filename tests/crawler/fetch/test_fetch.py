"""``crawler.fetch`` against a real loopback site: redirects hop by hop, caps, and the guard."""

from __future__ import annotations

import pytest

from crawler.fetch import (
    AddressGuard,
    BlockedAddress,
    FetchRefused,
    FetchTimeout,
    FetchTooLarge,
    FetchUnresolvable,
    TooManyRedirects,
    fetch,
)
from tests.kit.origin import NamesResolver, Origin

LIMITS = {"timeout": 5.0, "max_bytes": 1024 * 1024}


async def test_fetches_a_page_with_its_exchange(origin: Origin) -> None:
    result = await fetch(origin.page("/article"), **LIMITS)
    assert result.status == 200
    assert b"footbridge" in result.body
    assert result.final_url == origin.page("/article")
    assert result.content_type.startswith("text/html")
    assert any(name == "User-Agent" and "Declutter" in value for name, value in result.request_headers)
    assert result.http_version == "HTTP/1.1"


async def test_follows_redirects_hop_by_hop(origin: Origin) -> None:
    result = await fetch(origin.page("/chain/3"), **LIMITS)
    assert result.status == 200
    assert result.final_url == origin.page("/article")
    assert result.redirects == [origin.page(f"/chain/{n}") for n in (3, 2, 1, 0)]


async def test_redirect_limit(origin: Origin) -> None:
    with pytest.raises(TooManyRedirects):
        await fetch(origin.page("/chain/5"), max_redirects=3, **LIMITS)


async def test_size_cap_counts_decoded_bytes(origin: Origin) -> None:
    with pytest.raises(FetchTooLarge):
        await fetch(origin.page("/big"), **LIMITS)
    with pytest.raises(FetchTooLarge):
        await fetch(origin.page("/gzip"), timeout=5.0, max_bytes=50_000)
    result = await fetch(origin.page("/gzip"), **LIMITS)
    assert b"Zipped" in result.body
    names = {name.lower() for name, _ in result.headers}
    assert "content-encoding" not in names
    assert ("Content-Length", str(len(result.body))) in result.headers


async def test_timeout(origin: Origin) -> None:
    with pytest.raises(FetchTimeout):
        await fetch(origin.page("/slow"), timeout=0.3, max_bytes=1000)


async def test_unknown_names_fail_cleanly() -> None:
    with pytest.raises(FetchUnresolvable):
        await fetch("http://no-such-host.test/", resolver=NamesResolver(), **LIMITS)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "/relative", "http://"])
async def test_only_absolute_http_urls(url: str) -> None:
    with pytest.raises(FetchRefused):
        await fetch(url, **LIMITS)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "127.1", "2130706433", "0x7f000001",
     "[::ffff:127.0.0.1]", "LOCALHOST."],
)
async def test_guard_refuses_loopback_in_every_spelling(host: str, origin: Origin) -> None:
    before = len(origin.hits)
    with pytest.raises(FetchRefused):
        await fetch(
            f"http://{host}:{origin.port}/article",
            guard=AddressGuard(),
            resolver=NamesResolver(),
            **LIMITS,
        )
    assert len(origin.hits) == before


async def test_allowed_origin_cannot_redirect_to_another_loopback_port(
    origin: Origin, other_origin: Origin
) -> None:
    guard = AddressGuard([f"127.0.0.1:{origin.port}"])
    ok = await fetch(origin.page("/redirect?to=/article"), guard=guard, **LIMITS)
    assert ok.status == 200
    before = len(other_origin.hits)
    for target in (other_origin.page("/article"), f"http://localhost:{other_origin.port}/article",
                   f"http://[::1]:{other_origin.port}/article"):
        with pytest.raises(BlockedAddress):
            await fetch(
                origin.page(f"/redirect?to={target}"), guard=guard, resolver=NamesResolver(), **LIMITS
            )
    assert len(other_origin.hits) == before


async def test_a_name_is_checked_at_resolution_on_each_hop(origin: Origin) -> None:
    """A test name pointing at the allowed origin passes; the same name on another port does not."""
    names = NamesResolver({"gazette.test": ["127.0.0.1"]})
    guard = AddressGuard([f"127.0.0.1:{origin.port}"])
    result = await fetch(f"http://gazette.test:{origin.port}/article", guard=guard, resolver=names, **LIMITS)
    assert result.status == 200 and "gazette.test" in names.asked
    with pytest.raises(BlockedAddress):
        await fetch(
            origin.page(f"/redirect?to=http://gazette.test:{origin.port + 1}/"),
            guard=guard,
            resolver=names,
            **LIMITS,
        )
