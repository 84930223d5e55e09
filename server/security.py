"""What keeps the server safe to expose to browsers: CORS, Host names, rate limits, default headers."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from yarl import URL

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


# Every answer that is not an HTML page is data: nothing in it may run, frame or load anything.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


async def add_default_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: ``nosniff`` on every response, a closed CSP on non-HTML ones.

    A JSON, text, Atom or CDX body that a browser sniffed as HTML would run the archived page's
    markup on our origin; handlers that choose their own policy (pages, the sandboxed raw view)
    keep it, since only missing headers are filled in.
    """
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if not (response.content_type or "").startswith("text/html"):
        headers.setdefault("Content-Security-Policy", DATA_CSP)


LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class HostPolicy:
    """Which ``Host`` names the server answers, and the base its links are built on.

    DNS rebinding points a name the attacker owns at 127.0.0.1, so a page of theirs can read a
    local archive "same-origin"; the one thing it cannot change is the ``Host`` header, which
    names their domain. So a name is served only when it is loopback, an IP literal (a rebinding
    needs a name), the listen address, ``DECLUTTER_PUBLIC_URL``'s host or listed in
    ``DECLUTTER_ALLOWED_HOSTS``; anything else is a 421. Links (Memento ``Link`` and
    ``Location``, Atom) use ``DECLUTTER_PUBLIC_URL`` when set, so a forged ``Host`` can never
    poison them; without it they use the (so checked) ``Host`` the client reached us by.
    """

    def __init__(self, public_url: str = "", allowed: Iterable[str] = (), listen_host: str = "") -> None:
        self.public_url = public_url.strip().rstrip("/")
        names = {_name(item) for item in allowed if item.strip()}
        for extra in (listen_host, URL(self.public_url).host if self.public_url else ""):
            if extra:
                names.add(_name(extra))
        self.any = "*" in names
        self.names = frozenset(names | LOOPBACK_NAMES)

    @classmethod
    def from_settings(cls, settings: Any) -> HostPolicy:
        return cls(settings.public_url, settings.allowed_hosts, settings.host)

    def allows(self, host_header: str | None) -> bool:
        if self.any or not host_header:
            return True  # HTTP/1.0 without Host: aiohttp uses the socket's own address
        name = _name(_without_port(host_header))
        if name in self.names or name.endswith(".localhost"):
            return True
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return False
        return True

    def base(self, request: web.Request) -> str:
        """The scheme and authority links start with: the configured one, else the request's."""
        return self.public_url or f"{request.scheme}://{request.host}"


def _without_port(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _name(host: str) -> str:
    return host.strip().lower().rstrip(".")
