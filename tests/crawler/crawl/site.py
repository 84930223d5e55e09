"""Moved to tests.kit.site; kept only until every importer has moved."""

from tests.kit.site import ARTICLES, DEMO, DEMO_ORIGIN, SPECIAL, SiteServer

__all__ = ["ARTICLES", "DEMO", "DEMO_ORIGIN", "SPECIAL", "SiteServer"]
