"""The catalogue's errors: each message says what to fix, and the type says who should act.

``CatalogueUnavailable`` is an outage (the database cannot be reached: retry later, a 503), apart
from ``CatalogueError`` in general (a setting or a call to change) so callers branch on the type.
"""

from __future__ import annotations


class CatalogueError(Exception):
    """The catalogue cannot be opened or used; the message says what to fix."""


class CatalogueUnavailable(CatalogueError):
    """The database cannot be reached now (refused, timed out, cannot open); try again later."""


class CaptureNotFound(CatalogueError, KeyError):
    """No capture with that id is in the catalogue."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "capture not found"


class BadQuery(CatalogueError, ValueError):
    """A search query that cannot be run (empty, or only exclusions)."""
