"""The address guard: which hosts a server-side fetch may reach.

The guard judges addresses, never names: a URL's host is only trusted after it has been resolved
(by the fetcher's resolver, on every hop), and every spelling of an address (``127.1``,
``2130706433``, ``0x7f000001``, ``::ffff:127.0.0.1``) is reduced to the address itself first.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from yarl import URL

from crawler.fetch.guarded import FetchRefused

if TYPE_CHECKING:
    from crawler.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata services: refused even when private fetches are allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
METADATA_REASON = "a cloud metadata address"
SERVER_ADVICE = (
    "Server-side fetches only reach public addresses; allow a host with "
    "DECLUTTER_ALLOW_FETCH_HOSTS for a private deployment"
)

# WebRTC sends STUN/TURN over UDP from the browser's own sockets: no request interception or
# resolver rule sees it, so every Chromium the project starts gets both of these.
# Chromium 156 (headless) honours --webrtc-ip-handling-policy (measured: 4 STUN packets to a
# loopback listener without it, none with it); --force-webrtc-ip-handling-policy is the branded
# browser's spelling and costs nothing where it is ignored. With no proxy configured,
# disable_non_proxied_udp leaves ICE no way out at all.
CHROMIUM_NO_WEBRTC_ARGS = (
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
# Runs before any page script, in every frame: a page that finds no RTCPeerConnection cannot
# even start ICE, whatever the flags above do in a future Chromium.
NO_WEBRTC_JS = """(() => {
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "mozRTCPeerConnection",
                      "RTCDataChannel", "RTCIceCandidate", "RTCSessionDescription",
                      "RTCRtpSender", "RTCRtpReceiver", "RTCRtpTransceiver", "RTCDtlsTransport",
                      "RTCIceTransport", "RTCSctpTransport", "RTCCertificate"]) {
    try { delete globalThis[name]; } catch (e) {}
    if (name in globalThis) {
      try { Object.defineProperty(globalThis, name, {value: undefined, configurable: false}); }
      catch (e) {}
    }
  }
})();"""


class BlockedAddress(FetchRefused):
    """A URL leads to an address the server must not fetch from."""


def parse_address(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form the C resolver accepts; None for a name."""
    host = host.strip().strip("[]")
    if not host:
        return None
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if ":" in host:
        return None
    try:
        # inet_aton accepts the legacy forms (127.1, 2130706433, 0x7f000001, 0177.0.0.1).
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded = []
    if address.ipv4_mapped is not None:
        embedded.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        embedded.append(address.sixtofour)
    if address.teredo is not None:
        embedded.extend(address.teredo)
    if address in _NAT64 or address in _NAT64_LOCAL:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    # IPv4-compatible (deprecated ::a.b.c.d) addresses.
    if int(address) >> 32 == 0 and int(address) > 1:
        embedded.append(ipaddress.IPv4Address(int(address)))
    return embedded


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or None when it is one."""
    if address in METADATA_ADDRESSES:
        return METADATA_REASON
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            reason = refusal_reason(inner)
            if reason:
                return f"{reason} (embedded in {address})"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a non-public address"
    return None


@dataclass(frozen=True)
class _Allowed:
    host: str | None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    port: int | None

    @classmethod
    def parse(cls, entry: str) -> _Allowed:
        entry = entry.strip().lower()
        if "/" in entry:
            return cls(None, ipaddress.ip_network(entry, strict=False), None)
        port = None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            if rest.startswith(":"):
                port = int(rest[1:])
        elif entry.count(":") == 1:
            host, _, port_text = entry.partition(":")
            port = int(port_text)
        else:
            host = entry
        address = parse_address(host)
        if address is not None:
            return cls(None, ipaddress.ip_network(address), port)
        return cls(host.rstrip("."), None, port)

    def matches(self, hostname: str, address: IPAddress | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None and hostname.lower().rstrip(".") == self.host:
            return True
        return self.network is not None and address is not None and address in self.network


class AddressGuard:
    """Refuses fetches that lead anywhere but the public internet.

    ``allowed_hosts`` entries (``host``, ``host:port``, ``[v6]:port``, ``10.0.0.0/8``) are let
    through whatever they resolve to: that is how tests reach one loopback origin and how a private
    deployment reaches its intranet. ``allow_private`` lets private, loopback and link-local
    addresses through, but never cloud metadata addresses.
    """

    def __init__(
        self,
        allowed_hosts: Iterable[str] = (),
        *,
        allow_private: bool = False,
        advice: str = SERVER_ADVICE,
    ) -> None:
        self.allowed = [_Allowed.parse(entry) for entry in allowed_hosts if entry.strip()]
        self.allow_private = allow_private
        # what the refusal tells the user to do: the server and a crawl open hosts differently
        self.advice = advice

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressGuard:
        return cls(settings.allowed_fetch_hosts, allow_private=settings.allow_private_fetch)

    def check_url(self, url: URL | str) -> None:
        """Refuse a URL whose scheme is not http(s) or whose host is a refused address literal."""
        url = URL(url) if isinstance(url, str) else url
        if url.scheme not in {"http", "https"}:
            raise BlockedAddress(f"only http and https URLs can be fetched, not {url.scheme!r}")
        host = url.raw_host or ""
        if not host:
            raise BlockedAddress(f"{url} has no host name")
        address = parse_address(host)
        if address is not None:
            self.check_address(host, str(address), url.port or 0)

    def check_address(self, hostname: str, address: str, port: int) -> None:
        """Refuse ``address`` (what ``hostname`` resolved to) unless it is public or allowed."""
        parsed = parse_address(address)
        if parsed is None:
            raise BlockedAddress(f"{hostname} resolved to {address!r}, which is not an IP address")
        if any(allowed.matches(hostname, parsed, port) for allowed in self.allowed):
            return
        reason = refusal_reason(parsed)
        if reason is None:
            return
        if self.allow_private and METADATA_REASON not in reason:
            return
        shown = hostname if hostname.strip("[]") == address else f"{hostname} ({address})"
        raise BlockedAddress(
            f"refusing to fetch {shown}: it is {reason}. {self.advice}"
        )
