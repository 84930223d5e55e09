"""SURT url keys: the sort key that groups captures of one URL and makes a site a key range."""

from __future__ import annotations

from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

from crawler.catalogue.errors import BadQuery


def url_key(url: str) -> str:
    """The SURT form used to group captures of one URL: ``com,example)/path?a=1&b=2``.

    Scheme, ``www.``, default ports, fragments and query order do not make a different page.
    """
    canonical = canonicalize_url(url.strip(), keep_fragments=False)
    parts = urlsplit(canonical)
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    surt_host = ",".join(reversed(host.split("."))) if host else ""
    port = parts.port
    if port and not (
        (parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)
    ):
        surt_host += f":{port}"
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{surt_host}){path}{query}"


def site_key(site: str) -> str:
    """The SURT host prefix of a domain (``example.com`` -> ``com,example``)."""
    host = site.strip().lower()
    if "//" in host:
        host = urlsplit(host).hostname or ""
    host = host.strip("/").rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if not host or "/" in host:
        raise BadQuery(f"{site!r} is not a domain name; pass one like example.com")
    return ",".join(reversed(host.split(".")))


MATCH_TYPES = ("exact", "prefix", "host", "domain")


def key_range(url: str, match_type: str = "exact") -> tuple[str, str | None]:
    """The url_keys a Wayback CDX ``matchType`` selects, as a half-open range ``[low, high)``.

    A range rather than LIKE, so the url_key index answers it (``high`` is None for one key).
    ``host`` is the URL's host only; ``domain`` adds its subdomains but never look-alikes such as
    ``example.com.evil.org`` (``org,evil,com,example)``) or ``examplexcom``.
    """
    if match_type not in MATCH_TYPES:
        raise BadQuery(f"matchType must be one of {', '.join(MATCH_TYPES)}, not {match_type!r}")
    key = url_key(url)
    if match_type == "exact":
        return key, None
    if match_type == "prefix":
        return key, _after(key)
    return _host_range(key.partition(")")[0], subdomains=match_type == "domain")


def _host_range(host: str, *, subdomains: bool) -> tuple[str, str]:
    if not subdomains:
        return host + ")", host + "*"
    # ")" ends the host itself, "," starts a subdomain; "-" is the first character after both.
    return host + ("," if "," not in host else ")"), host + "-"


def _after(key: str) -> str:
    """The smallest string greater than every string that starts with ``key``."""
    return key[:-1] + chr(ord(key[-1]) + 1)

