"""Fetch: pages off the web, never from an address the guard refuses. Imports only ``config``."""

from crawler.fetch.guard import AddressGuard, BlockedAddress, parse_address, refusal_reason
from crawler.fetch.guarded import (
    FetchError,
    FetchRefused,
    FetchResult,
    FetchTimeout,
    FetchTooLarge,
    FetchUnresolvable,
    Guard,
    GuardedResolver,
    TooManyRedirects,
    fetch,
    parse_url,
)

__all__ = [
    "AddressGuard",
    "BlockedAddress",
    "FetchError",
    "FetchRefused",
    "FetchResult",
    "FetchTimeout",
    "FetchTooLarge",
    "FetchUnresolvable",
    "Guard",
    "GuardedResolver",
    "TooManyRedirects",
    "fetch",
    "parse_address",
    "parse_url",
    "refusal_reason",
]
