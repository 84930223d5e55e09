"""Fixtures shared by every test; the helpers they use live in tests.kit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kit.paths import shared_path
from tests.kit.text import collapse

# Fixture plugins from the kit: real services (S3, PostgreSQL, Redis, the settings factory) and
# the loopback origin site with its test-only resolver. Registered once, here, for every folder.
pytest_plugins = ["tests.kit.services", "tests.kit.origin"]


@pytest.fixture(scope="session")
def seed_dir() -> Path:
    return shared_path("fixtures", "seed-article")


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def seed_expectations(seed_dir: Path) -> tuple[list[str], list[str]]:
    """(must_contain, must_not_contain) lines of the seed article, whitespace collapsed."""
    return (
        [collapse(line) for line in _lines(seed_dir / "must_contain.txt")],
        [collapse(line) for line in _lines(seed_dir / "must_not_contain.txt")],
    )
