"""Errors every stage shares."""

from __future__ import annotations


class DeclutterError(Exception):
    """An error a user can act on; the CLI prints its message without a traceback."""
