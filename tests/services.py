"""Moved to tests.kit (services, settings); kept only until every importer has moved.

The fixtures are registered from tests.kit.services by tests/conftest.py, not from here.
"""

from tests.kit.settings import settings_for

__all__ = ["settings_for"]
