"""What keeps the server safe to expose: the SSRF guard, API tokens, CORS, body and rate limits.

The guard judges addresses, never names: a URL's host is only trusted after it has been resolved
(by the fetcher's resolver, on every hop), and every spelling of an address (``127.1``,
``2130706433``, ``0x7f000001``, ``::ffff:127.0.0.1``) is reduced to the address itself first.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from yarl import URL

from crawler.fetch import FetchRefused

if TYPE_CHECKING:
    from aiohttp import web

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

    def __init__(self, allowed_hosts: Iterable[str] = (), *, allow_private: bool = False) -> None:
        self.allowed = [_Allowed.parse(entry) for entry in allowed_hosts if entry.strip()]
        self.allow_private = allow_private

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
            f"refusing to fetch {shown}: it is {reason}. Server-side fetches only reach public "
            "addresses; allow a host with DECLUTTER_ALLOW_FETCH_HOSTS for a private deployment"
        )


class TokenStore:
    """API tokens, kept as SHA-256 digests in a JSON file under the data directory.

    Tokens are 32 random bytes, so a plain digest (no salt, no slow hash) is enough: there is no
    dictionary to attack, and checking stays cheap on every write request.
    """

    PREFIX = "dcl_"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[float, dict[str, dict]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenStore:
        return cls(settings.data_dir / "tokens.json")

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def _load(self) -> dict[str, dict]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if self._cache and self._cache[0] == mtime:
            return self._cache[1]
        data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        self._cache = (mtime, data)
        return data

    def create(self, name: str = "") -> str:
        token = self.PREFIX + secrets.token_urlsafe(32)
        tokens = dict(self._load())
        tokens[self.digest(token)] = {"name": name, "created": int(time.time())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(tokens, handle, indent=1)
        tmp.replace(self.path)
        self._cache = None
        return token

    def verify(self, token: str) -> bool:
        if not token:
            return False
        wanted = self.digest(token)
        return any(hmac.compare_digest(wanted, known) for known in self._load())

    def __len__(self) -> int:
        return len(self._load())


def bearer_token(authorization: str | None) -> str:
    """The token in an ``Authorization: Bearer ...`` header, or "" when there is none."""
    if not authorization:
        return ""
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


SIGN_IN_COOKIE = "declutter_token"


def request_token(request: web.Request) -> str:
    """The token a request carries: ``Authorization: Bearer``, else the web app's sign-in cookie."""
    return bearer_token(request.headers.get("Authorization")) or request.cookies.get(SIGN_IN_COOKIE, "")


def require_valid_token(
    tokens: TokenStore,
    token: str,
    *,
    needed_for: str = "this endpoint",
    how: str = "send 'Authorization: Bearer <token>'",
) -> None:
    """The one token check behind every write action (API, web form, large export).

    Callers pick where the token comes from (header, cookie, form field); the refusal and the way
    to get a token are worded here once, so every place says the same.
    """
    from server.errors import Unauthorized

    if not token:
        raise Unauthorized(
            f"{needed_for} needs an API token: {how} (create one with `declutter token create`)"
        )
    if not tokens.verify(token):
        raise Unauthorized(
            f"the API token is not valid ({needed_for} needs one); "
            "create one with `declutter token create`"
        )


EXTENSION_SCHEMES = ("chrome-extension://", "moz-extension://", "safari-web-extension://")


class CorsPolicy:
    """Cross-origin access for browser extensions and explicitly configured origins, nobody else."""

    ALLOW_METHODS = "GET, POST, OPTIONS"
    ALLOW_HEADERS = "Authorization, Content-Type, Accept, Accept-Datetime"
    EXPOSE_HEADERS = "Link, Location, Memento-Datetime, Retry-After"

    def __init__(self, origins: Iterable[str] = ()) -> None:
        self.origins = {origin.rstrip("/").lower() for origin in origins if origin.strip()}

    def allows(self, origin: str | None) -> bool:
        if not origin:
            return False
        origin = origin.lower()
        return origin.startswith(EXTENSION_SCHEMES) or origin.rstrip("/") in self.origins

    def headers(self, origin: str, *, preflight: bool) -> dict[str, str]:
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": self.EXPOSE_HEADERS,
        }
        if preflight:
            headers.update(
                {
                    "Access-Control-Allow-Methods": self.ALLOW_METHODS,
                    "Access-Control-Allow-Headers": self.ALLOW_HEADERS,
                    "Access-Control-Max-Age": "600",
                }
            )
        return headers


class RateLimiter:
    """A token bucket per client: ``rate`` requests a second sustained, ``burst`` at once.

    Keyed by the peer address (a proxy in front should do its own limiting); ``rate`` 0 turns it
    off. Idle buckets are dropped once the table grows, so memory stays bounded.
    """

    def __init__(self, rate: float, burst: int, *, max_clients: int = 10_000) -> None:
        self.rate = rate
        self.burst = max(burst, 1)
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, client: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_clients:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        for client, (_, last) in list(self._buckets.items()):
            if now - last > full_after:
                del self._buckets[client]
