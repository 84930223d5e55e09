"""One page over HTTP(S), fetched so that a hostile URL cannot turn the fetcher against its host.

Redirects are followed one hop at a time so that every hop is checked, and the address check runs
inside the connector's DNS resolution: the address that was checked is the address connected to,
so a name that resolves differently the second time (DNS rebinding) cannot slip past.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

USER_AGENT = "Declutter/0.1 (+https://github.com/declutter/declutter)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
# Dropped because the body is stored decoded: keeping them would describe bytes we do not keep.
_DECODED_BODY_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class FetchError(Exception):
    """The page could not be fetched; the message says why and what to try."""


class FetchRefused(FetchError):
    """The URL or an address it leads to is not allowed (scheme, non-public address, ...)."""


class FetchTooLarge(FetchError):
    """The response is bigger than the configured cap."""


class FetchTimeout(FetchError):
    """The server did not answer in time."""


class FetchUnresolvable(FetchError):
    """The host name does not resolve."""


class TooManyRedirects(FetchError):
    """The redirect chain is longer than allowed."""


class Guard(Protocol):
    """What ``fetch`` needs from an address guard (``server.security.AddressGuard``)."""

    def check_url(self, url: URL) -> None: ...

    def check_address(self, hostname: str, address: str, port: int) -> None: ...


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    http_version: str = "HTTP/1.1"
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return ""


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` and refuses the whole answer if any address fails the guard."""

    def __init__(self, guard: Guard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            self._guard.check_address(host, result["host"], result["port"] or port)
        return results

    async def close(self) -> None:
        await self._inner.close()


def _check_scheme(url: URL) -> None:
    if url.scheme not in {"http", "https"}:
        raise FetchRefused(f"only http and https URLs can be fetched, not {url.scheme or 'a relative URL'!r}")
    if not url.host:
        raise FetchRefused(f"{url} has no host name")


def parse_url(url: str | URL) -> URL:
    """The URL as yarl reads it, refused early when it cannot be fetched at all."""
    try:
        parsed = url if isinstance(url, URL) else URL(url.strip())
    except (ValueError, TypeError) as exc:
        raise FetchRefused(f"{url!r} is not a valid URL: {exc}") from exc
    _check_scheme(parsed)
    return parsed


async def fetch(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    max_redirects: int = 10,
    guard: Guard | None = None,
    headers: dict[str, str] | None = None,
    resolver: AbstractResolver | None = None,
) -> FetchResult:
    """GET ``url``, following redirects hop by hop, each hop checked by ``guard`` when given.

    The body is decoded (gzip, br, ...) and capped at ``max_bytes`` after decoding, so a small
    compressed bomb cannot exhaust memory. ``timeout`` bounds the whole exchange, redirects included.
    """
    start = parse_url(url)
    request_headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    request_headers.update(headers or {})
    inner = resolver or ThreadedResolver()
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(guard, inner) if guard is not None else inner,
        use_dns_cache=False,
        limit=4,
    )
    session = aiohttp.ClientSession(
        connector=connector,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
    )
    try:
        async with asyncio.timeout(timeout):
            return await _follow(session, start, request_headers, max_bytes, max_redirects, guard)
    except TimeoutError as exc:
        raise FetchTimeout(f"{url} did not answer within {timeout:g} s") from exc
    except FetchError:
        raise
    except aiohttp.InvalidURL as exc:
        raise FetchRefused(f"{url}: invalid URL or host ({exc})") from exc
    except aiohttp.ClientConnectorDNSError as exc:
        raise FetchUnresolvable(f"{url}: the host name does not resolve ({exc.os_error})") from exc
    except (aiohttp.ClientError, OSError) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, FetchError) else None
        if cause is not None:
            raise cause from None
        raise FetchError(f"could not fetch {url}: {exc or type(exc).__name__}") from exc
    finally:
        await session.close()


async def _follow(
    session: aiohttp.ClientSession,
    start: URL,
    request_headers: dict[str, str],
    max_bytes: int,
    max_redirects: int,
    guard: Guard | None,
) -> FetchResult:
    current = start
    visited: list[str] = []
    for _hop in range(max_redirects + 1):
        _check_scheme(current)
        if guard is not None:
            guard.check_url(current)
        async with session.get(
            current, headers=request_headers, allow_redirects=False, max_line_size=16384
        ) as response:
            location = response.headers.get("Location")
            if response.status in REDIRECT_STATUSES and location:
                visited.append(str(current))
                try:
                    current = current.join(URL(location))
                except ValueError as exc:
                    raise FetchError(f"{current} redirects to an invalid URL {location!r}") from exc
                continue
            body = await _read_capped(response, max_bytes)
            return FetchResult(
                url=str(start),
                final_url=str(current),
                status=response.status,
                reason=response.reason or "",
                headers=_stored_headers(response, len(body)),
                body=body,
                request_headers=list(response.request_info.headers.items()),
                http_version=f"HTTP/{response.version.major}.{response.version.minor}"
                if response.version
                else "HTTP/1.1",
                redirects=visited,
            )
    raise TooManyRedirects(f"{start} redirected more than {max_redirects} times")


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > max_bytes and not response.headers.get("Content-Encoding"):
        raise FetchTooLarge(f"{response.url} is {declared} bytes, over the {max_bytes} byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FetchTooLarge(f"{response.url} is larger than the {max_bytes} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _stored_headers(response: aiohttp.ClientResponse, body_length: int) -> list[tuple[str, str]]:
    kept = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in response.raw_headers
        if name.decode("latin-1").lower() not in _DECODED_BODY_HEADERS
    ]
    kept.append(("Content-Length", str(body_length)))
    return kept
