"""Catalogue: every capture indexed in SQL (SQLite or PostgreSQL) for listing, search and changes.

Imports ``config`` only.
"""

from crawler.catalogue import history
from crawler.catalogue.errors import BadQuery, CaptureNotFound, CatalogueError, CatalogueUnavailable
from crawler.catalogue.keys import MATCH_TYPES, KeyRange, key_ranges, site_key, site_ranges, url_key
from crawler.catalogue.query import ParsedQuery
from crawler.catalogue.rows import CAPTURE_COLUMNS, CaptureRow, ChangeRow, CrawlRow, SearchHit
from crawler.catalogue.store import Catalogue, new_capture_id, open_catalogue

__all__ = [
    "CAPTURE_COLUMNS",
    "MATCH_TYPES",
    "BadQuery",
    "CaptureNotFound",
    "CaptureRow",
    "Catalogue",
    "CatalogueError",
    "CatalogueUnavailable",
    "ChangeRow",
    "CrawlRow",
    "ParsedQuery",
    "history",
    "SearchHit",
    "KeyRange",
    "key_ranges",
    "new_capture_id",
    "open_catalogue",
    "site_key",
    "site_ranges",
    "url_key",
]
