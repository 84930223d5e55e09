"""The crawl's address guard: every Scrapy download judged by the server's ``AddressGuard``.

Two components share one judgement:

- ``GuardedNameResolver`` (``TWISTED_DNS_RESOLVER``) is the resolver Twisted connects with. It
  hands out an answer only when every address in it passes the guard (for the port asked for),
  so the address that was checked is the address connected to: a name cannot be judged on one
  answer and connected on another. Answers are cached for the crawl (Scrapy's DNS cache), so a
  name that is re-pointed mid-crawl (DNS rebinding) keeps the answer that was judged; with
  ``DNSCACHE_ENABLED = false`` every connection is judged on its own fresh answer.
- ``AddressGuardMiddleware`` asks the same resolver before each download (every redirect hop,
  link, feed and sitemap entry, Wayback memento and robots.txt is its own request), so a refusal
  is a typed ``BlockedRequest``, counted as ``skipped.blocked_address`` and logged with its URL,
  not an anonymous DNS error. Non-http(s) URLs (``file:``, ``s3:``, ``data:``) are refused too.

Allowed despite being private: the crawl's seed hosts (host and port; for a Wayback crawl the
CDX and replay hosts), its ``allow_hosts``, and DECLUTTER_ALLOW_FETCH_HOSTS /
DECLUTTER_ALLOW_PRIVATE_FETCH, which open the server's fetches the same way. Cloud metadata
addresses are refused unless named outright.

Not covered here: when a request goes through an HTTP proxy (``HTTPS_PROXY``, ``meta["proxy"]``)
the proxy resolves and connects, so only the pre-check (on our own resolution) applies; rendered
pages are guarded by ``crawler.crawl.sandbox``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.resolver import CachingHostnameResolver
from scrapy.utils.datatypes import LocalCache
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from zope.interface import implementer, provider

from crawler.crawl.definitions import CrawlDef
from crawler.crawl.spiders.base import BlockedRequest, count
from crawler.fetch.guard import AddressGuard, BlockedAddress

log = logging.getLogger(__name__)

# Scrapy settings that carry the guard's configuration from scrapy_settings() to the resolver
ALLOW_SETTING = "DECLUTTER_FETCH_ALLOW"
PRIVATE_SETTING = "DECLUTTER_ALLOW_PRIVATE_FETCH"
# request.meta key where a render records the addresses its page was refused (see sandbox.py)
RENDER_BLOCKED = "declutter_blocked"
CRAWL_ADVICE = (
    "A crawl reaches only public addresses and its own seed hosts; add the host (or host:port) "
    "to the crawl's allow_hosts in crawls.toml if it should be crawled"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_port(url: str) -> str | None:
    """``host:port`` of an http(s) URL, the default port spelled out (the guard matches both)."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or _DEFAULT_PORTS[parts.scheme]}"


def allowed_entries(crawl: CrawlDef, extra: Sequence[str] = ()) -> list[str]:
    """What a crawl may reach even when it is private: what the user named, and nothing else."""
    urls = crawl.all_seeds()
    if crawl.wayback is not None:
        urls += [crawl.wayback.cdx, crawl.wayback.replay]
    named = [entry for entry in map(host_port, urls) if entry]
    return list(dict.fromkeys([*named, *crawl.allow_hosts, *extra]))


def crawl_guard(settings: Any) -> AddressGuard:
    """The guard a crawl's Scrapy settings describe."""
    return AddressGuard(
        settings.getlist(ALLOW_SETTING),
        allow_private=settings.getbool(PRIVATE_SETTING),
        advice=CRAWL_ADVICE,
    )


@provider(IResolutionReceiver)
class _Judged:
    """Holds an answer back until all of it has passed the guard, then passes on all or none."""

    def __init__(self, inner: Any, resolver: GuardedNameResolver, host: str, port: int) -> None:
        self.inner = inner
        self.resolver = resolver
        self.host = host
        self.port = port
        self.addresses: list[IAddress] = []

    def resolutionBegan(self, resolution: IHostResolution) -> None:  # noqa: N802 (Twisted's name)
        self.inner.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:  # noqa: N802
        self.addresses.append(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        try:
            for address in self.addresses:
                self.resolver.guard.check_address(self.host, address.host, self.port)
        except BlockedAddress as exc:
            self.resolver.refused[(self.host, self.port)] = str(exc)
            refused = getattr(self.inner, "refused", None)
            if refused is not None:
                refused(exc)
        else:
            for address in self.addresses:
                self.inner.addressResolved(address)
        self.inner.resolutionComplete()


@provider(IResolutionReceiver)
class _Verdict:
    """The receiver ``judge`` resolves with: fires once, with None or the guard's refusal."""

    def __init__(self) -> None:
        self.deferred: Deferred[None] = Deferred()
        self.error: BlockedAddress | None = None

    def resolutionBegan(self, resolution: IHostResolution) -> None:  # noqa: N802
        pass

    def addressResolved(self, address: IAddress) -> None:  # noqa: N802
        pass

    def refused(self, error: BlockedAddress) -> None:
        self.error = error

    def resolutionComplete(self) -> None:  # noqa: N802
        if self.error is not None:
            self.deferred.errback(self.error)
        else:
            # an unresolvable name passes: the download then fails as the DNS error it is
            self.deferred.callback(None)


@implementer(IHostnameResolver)
class GuardedNameResolver(CachingHostnameResolver):
    """TWISTED_DNS_RESOLVER: Scrapy's caching resolver (IPv4 and IPv6) behind the address guard."""

    def __init__(self, reactor: Any, cache_size: int, guard: AddressGuard) -> None:
        super().__init__(reactor, cache_size)
        self.guard = guard
        # why (host, port) was last refused: turns a connect-time refusal into a typed error
        self.refused: LocalCache[tuple[str, int], str] = LocalCache(1000)

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> Self:
        # Scrapy passes its CrawlerProcess here, not a Crawler: only .settings can be relied on
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, crawl_guard(settings))

    def resolveHostName(  # noqa: N802 (Twisted's interface)
        self,
        resolutionReceiver: IResolutionReceiver,  # noqa: N803
        hostName: str,  # noqa: N803
        portNumber: int = 0,  # noqa: N803
        addressTypes: Sequence[type[IAddress]] | None = None,  # noqa: N803
        transportSemantics: str = "TCP",  # noqa: N803
    ) -> IHostResolution:
        judged = _Judged(resolutionReceiver, self, hostName, portNumber)
        return super().resolveHostName(judged, hostName, portNumber, addressTypes, transportSemantics)

    def judge(self, host: str, port: int) -> Deferred[None]:
        """Fires None when ``host`` may be fetched on ``port``, fails with BlockedAddress if not."""
        verdict = _Verdict()
        self.resolveHostName(verdict, host, port)
        return verdict.deferred


def installed_resolver() -> GuardedNameResolver:
    """The reactor's resolver, which must be ours: without it nothing would be judged."""
    from twisted.internet import reactor

    resolver = reactor.nameResolver  # type: ignore[attr-defined]
    if not isinstance(resolver, GuardedNameResolver):
        raise BlockedAddress(
            "the crawl's address guard is not installed (TWISTED_DNS_RESOLVER must stay "
            f"{GuardedNameResolver.__module__}.GuardedNameResolver); refusing every download"
        )
    return resolver


async def judge_url(url: str) -> None:
    """Raise BlockedAddress unless ``url`` is http(s) and leads to an address the crawl may reach."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError as exc:  # a broken IPv6 literal or port
        raise BlockedAddress(f"{url} is not a URL that can be fetched ({exc})") from exc
    if parts.scheme not in _DEFAULT_PORTS:
        raise BlockedAddress(f"only http and https URLs are crawled, not {parts.scheme or 'a relative URL'!r}")
    if not parts.hostname:
        raise BlockedAddress(f"{url} has no host name")
    resolver = installed_resolver()
    try:
        resolver.guard.check_url(url)  # address literals: judged before any resolution
    except ValueError as exc:
        raise BlockedAddress(f"{url} is not a URL that can be fetched ({exc})") from exc
    await maybe_deferred_to_future(resolver.judge(parts.hostname, port))


class AddressGuardMiddleware:
    """Refuses a download whose address the crawl may not reach, before it starts.

    Runs first among the downloader middlewares (before robots.txt, so a refused host is not
    even asked for its robots.txt). Also counts what a render refused (``sandbox.py`` records it
    on the request), since only a component built by ``from_crawler`` holds the crawl's stats.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        try:
            await judge_url(request.url)
        except BlockedAddress as exc:
            log.warning("refused %s: %s", request.url, exc)
            raise BlockedRequest(f"refused {request.url}: {exc}") from exc

    def process_response(self, request: Request, response: Response) -> Response:
        self.count_render_refusals(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self.count_render_refusals(request)
        if isinstance(exception, DNSLookupError):
            # the connect-time resolution was refused (the name changed since the pre-check)
            parts = urlparse_cached(request)
            key = (parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme, 0))
            try:
                reason = installed_resolver().refused.get(key)
            except BlockedAddress:
                reason = None
            if reason:
                log.warning("refused %s: %s", request.url, reason)
                raise BlockedRequest(f"refused {request.url}: {reason}") from exception
        return None

    def count_render_refusals(self, request: Request) -> None:
        refused = request.meta.pop(RENDER_BLOCKED, None)
        if refused:
            count(self.stats, "skipped/blocked_address", len(refused))
