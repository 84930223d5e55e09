"""The address guard's own checks, without opening any connection.

The guard is asked about private, link-local and metadata addresses directly (and through the
fetcher's resolver with a test resolver), never by letting it stop a real connection: these
machines must not send a packet beyond loopback.
"""

from __future__ import annotations

import ipaddress

import pytest
from yarl import URL

from crawler.fetch import (
    AddressGuard,
    BlockedAddress,
    FetchRefused,
    GuardedResolver,
    parse_address,
    refusal_reason,
)
from tests.kit.origin import NamesResolver

LOOPBACK_URLS = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://127.0.0.1.:8080/",
]

REFUSED_ADDRESSES = {
    "10.0.0.1": "private",
    "10.255.255.254": "private",
    "172.16.0.1": "private",
    "172.31.255.1": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "metadata",
    "169.254.10.10": "link-local",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "fe80::1": "link-local",
    "::ffff:10.0.0.1": "private",
    "::ffff:169.254.169.254": "metadata",
    "2002:a00:1::": "private",  # 6to4 wrapping 10.0.0.1
    "64:ff9b::a9fe:a9fe": "metadata",  # NAT64 wrapping 169.254.169.254
    "100.64.0.1": "shared",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "127.0.0.1": "loopback",
    "127.200.0.3": "loopback",
    "::1": "loopback",
    "192.0.2.10": "",  # documentation range
}


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_every_spelling_of_loopback_is_refused_from_the_url_alone(url: str) -> None:
    with pytest.raises(BlockedAddress) as refused:
        AddressGuard().check_url(URL(url))
    assert "refusing to fetch" in str(refused.value)


@pytest.mark.parametrize("spelling", ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1"])
def test_legacy_ipv4_spellings_parse_to_the_address(spelling: str) -> None:
    assert parse_address(spelling) == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize("address,kind", sorted(REFUSED_ADDRESSES.items()))
def test_non_public_addresses_are_refused_after_resolution(address: str, kind: str) -> None:
    reason = refusal_reason(ipaddress.ip_address(address))
    assert reason is not None
    assert kind in reason
    with pytest.raises(BlockedAddress):
        AddressGuard().check_address("news.example.com", address, 443)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None
    AddressGuard().check_address("news.example.com", address, 443)


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.7", "169.254.169.254", "fd00::5"])
async def test_a_name_resolving_to_a_private_address_is_refused_by_the_resolver(address: str) -> None:
    """The fetcher's resolver checks what a name resolves to; nothing connects here."""
    resolver = GuardedResolver(AddressGuard(), NamesResolver({"intranet.test": [address]}))
    with pytest.raises(BlockedAddress) as refused:
        await resolver.resolve("intranet.test", 80)
    assert address in str(refused.value)


async def test_one_bad_address_among_good_ones_refuses_the_name() -> None:
    names = NamesResolver({"rebind.test": ["93.184.215.14", "10.0.0.8"]})
    with pytest.raises(BlockedAddress):
        await GuardedResolver(AddressGuard(), names).resolve("rebind.test", 443)


async def test_a_public_name_resolves_through_the_guard() -> None:
    names = NamesResolver({"news.test": ["93.184.215.14"]})
    results = await GuardedResolver(AddressGuard(), names).resolve("news.test", 443)
    assert [r["host"] for r in results] == ["93.184.215.14"]


def test_allow_list_admits_one_origin_and_nothing_beside_it() -> None:
    guard = AddressGuard(["127.0.0.1:8001"])
    guard.check_address("127.0.0.1", "127.0.0.1", 8001)
    guard.check_address("localhost", "127.0.0.1", 8001)
    with pytest.raises(BlockedAddress):
        guard.check_address("127.0.0.1", "127.0.0.1", 8002)
    with pytest.raises(BlockedAddress):
        guard.check_address("127.0.0.2", "127.0.0.2", 8001)


def test_allow_list_by_name_network_and_ipv6() -> None:
    guard = AddressGuard(["wiki.corp", "10.20.0.0/16", "[::1]:9000"])
    guard.check_address("wiki.corp", "10.9.9.9", 80)
    guard.check_address("files.corp", "10.20.3.4", 80)
    guard.check_address("::1", "::1", 9000)
    for host, address, port in (("other.corp", "10.9.9.9", 80), ("::1", "::1", 9001)):
        with pytest.raises(BlockedAddress):
            guard.check_address(host, address, port)


def test_allow_private_still_refuses_metadata() -> None:
    guard = AddressGuard(allow_private=True)
    guard.check_address("nas.local", "192.168.1.20", 80)
    guard.check_address("localhost", "127.0.0.1", 80)
    for address in ("169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254"):
        with pytest.raises(BlockedAddress):
            guard.check_address("metadata", address, 80)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/", "javascript:alert(1)"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(FetchRefused):
        AddressGuard().check_url(URL(url))
