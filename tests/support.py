"""Moved to tests.kit (paths, text); kept only until every importer has moved."""

from tests.kit.paths import ROOT, SHARED, shared_path
from tests.kit.text import collapse

__all__ = ["ROOT", "SHARED", "collapse", "shared_path"]
