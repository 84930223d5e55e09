"""SURT url keys: the sort key that groups captures of one URL and makes a site a key range.

Keys come from the ``surt`` library with its defaults, exactly as cdxj-indexer (the WACZ's
index) and pywb compute them, so ``/cdx`` rows and an exported index agree:
``com,example)/news/story?a=1&b=2``. Scheme, ``www``, default ports, the fragment, case, a
trailing slash and query order make no different page. The host is reversed label by label (an
IPv4 address too: ``1,0,0,127``) and a port follows it: ``1,0,0,127:8090)/``.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

import surt

from crawler.catalogue.errors import BadQuery

MATCH_TYPES = ("exact", "prefix", "host", "domain")

KeyRange = tuple[str, str | None]
"""url_keys in ``[low, high)``; ``high`` None means the single key ``low``."""


def url_key(url: str) -> str:
    """The SURT key used to group captures of one URL: ``com,example)/path?a=1&b=2``."""
    try:
        return _surt(url.strip())
    except ValueError as exc:  # surt's only complaint: a port that is not a number
        raise BadQuery(f"{url!r} is not a URL the catalogue can look up ({exc}); check its port") from exc


# surt parses and rewrites the URL in Python (17 us): an eighth of a 20-row listing's catalogue
# read. Readers ask for the same few URLs again and again (histories, listings, Memento).
@functools.lru_cache(maxsize=4096)
def _surt(url: str) -> str:
    return surt.surt(url)


def site_key(site: str) -> str:
    """The SURT host of a site: ``example.com`` -> ``com,example``, ``127.0.0.1:8090`` ->
    ``1,0,0,127:8090`` (a site given with a port means that port only)."""
    text = site.strip()
    parts = urlsplit(text if "//" in text else f"http://{text}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or parts.path.strip("/") or parts.query or port == -1:
        raise BadQuery(f"{site!r} is not a domain name; pass one like example.com or 127.0.0.1:8090")
    return url_key(f"{parts.scheme}://{parts.netloc}/").partition(")")[0]


def key_ranges(url: str, match_type: str = "exact") -> list[KeyRange]:
    """The url_keys a Wayback CDX ``matchType`` selects, as sorted, disjoint half-open ranges.

    Ranges rather than LIKE, so the url_key index answers them. ``host`` is the URL's host on any
    port; ``domain`` adds its subdomains, but never look-alikes such as ``example.com.evil.org``
    (``org,evil,com,example)``), ``examplex.com`` or ``example0.com``. A URL with a port selects
    that port only.
    """
    if match_type not in MATCH_TYPES:
        raise BadQuery(f"matchType must be one of {', '.join(MATCH_TYPES)}, not {match_type!r}")
    key = url_key(url)
    if match_type == "exact":
        return [(key, None)]
    if match_type == "prefix":
        # surt drops a trailing slash; kept here (as pywb does) so "/2024/" does not match "/2024x".
        if urlsplit(url.strip()).path.endswith("/") and not key.endswith("/"):
            key += "/"
        return [(key, _after(key))]
    return host_ranges(key.partition(")")[0], subdomains=match_type == "domain")


def site_ranges(site: str) -> list[KeyRange]:
    """A site filter: the ``domain`` ranges of ``site`` (its subdomains and ports too)."""
    return host_ranges(site_key(site), subdomains=True)


def host_ranges(host: str, *, subdomains: bool) -> list[KeyRange]:
    """The keys of ``host`` (a SURT host), on every port unless it names one.

    After the host, ")" ends it, "," starts a subdomain and ":" its port. "-" is the first
    character after both ")" and ","; ";" the first after ":". Digits and "." sort between "-"
    and ":", so one range from ")" to ";" would also take example0.com: the port is a range of its
    own.
    """
    own = (host + ")", host + ("-" if subdomains else "*"))
    if host.count(":") == 1:  # the port was given: that port only (no subdomain has it as prefix)
        return [(host + ")", host + "*")]
    if ":" in host:  # IPv6, which surt writes unbracketed: its port cannot be told apart; exact
        return [own]
    return [own, (host + ":", host + ";")]


def _after(key: str) -> str:
    """The smallest string greater than every string that starts with ``key``."""
    return key[:-1] + chr(ord(key[-1]) + 1)
