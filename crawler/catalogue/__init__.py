"""Catalogue: every capture indexed in SQL (SQLite or PostgreSQL) for listing, search and changes.

Imports ``config`` only.
"""

from crawler.catalogue.errors import BadQuery, CaptureNotFound, CatalogueError
from crawler.catalogue.keys import MATCH_TYPES, key_range, site_key, url_key
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
    "ChangeRow",
    "CrawlRow",
    "ParsedQuery",
    "SearchHit",
    "key_range",
    "new_capture_id",
    "open_catalogue",
    "site_key",
    "url_key",
]
