"""Catalogue: every capture indexed in SQL (SQLite or PostgreSQL) for listing, search and changes.

Imports ``config`` only.
"""

from crawler.catalogue.store import (
    CAPTURE_COLUMNS,
    MATCH_TYPES,
    BadQuery,
    CaptureNotFound,
    CaptureRow,
    Catalogue,
    CatalogueError,
    ChangeRow,
    CrawlRow,
    ParsedQuery,
    SearchHit,
    key_range,
    new_capture_id,
    open_catalogue,
    site_key,
    url_key,
)

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
