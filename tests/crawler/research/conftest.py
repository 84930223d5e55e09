"""An archive with known captures, over the session's real SeaweedFS and SQLite or PostgreSQL.

The seed article is captured, edited (two words replaced, one sentence added) and captured again,
then captured once more unchanged (a revisit); other pages give search and site filters something
to tell apart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import Archiver
from crawler.config import Settings
from crawler.snapshot.capture import Capture
from tests.services import settings_for
from tests.support import shared_path

SEED_URL = "https://news.example.org/world/ukraine-talks"
EDITS = [
    (
        "officials have signaled some hope of that by Friday evening",
        "officials have signaled cautious hope of that by Friday night",
    ),
    ("producer Camilla Schick.", "producer Camilla Schick. The talks were later postponed."),
]
WORDS_ADDED, WORDS_REMOVED = 2 + 5, 2
T1 = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)
T2 = datetime(2024, 5, 2, 9, 0, 0, tzinfo=UTC)
T3 = datetime(2024, 5, 3, 9, 0, 0, tzinfo=UTC)

# Both words, never side by side, and more often than in the seed article: only the phrase rule
# can put the seed article first for the query `peace talks`.
SCATTERED_URL = "https://news.example.org/opinion/scattered"
SCATTERED = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Peace and talks: talks about peace</title></head><body><article><h1>Peace and talks</h1>
<p>Peace was the word of the week. Negotiators held talks, and more talks, while peace stayed
far away. Every speaker mentioned peace; every minister promised talks.</p>
<p>Diplomats say peace requires patience, and that talks take months. Some called for peace at
once; others wanted the talks to pause. Peace, they said, cannot be rushed by talks alone.</p>
<p>Readers wrote in about peace, about talks, about the long winter and the price of bread.</p>
</article></body></html>"""
OTHER_SITE_URL = "https://elsewhere.example.net/peace-talks"
OTHER_SITE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Peace talks elsewhere</title></head><body><article><h1>Peace talks elsewhere</h1>
<p>Another site reports that peace talks may begin soon, according to officials who spoke on
condition of anonymity about the planned meeting and its location.</p>
<p>The report could not be independently verified by this newspaper at the time of writing.</p>
<p>Officials in several capitals declined to comment on the record, though one diplomat said that
preparations for a meeting had been under way for days and that a venue had been proposed.</p>
<p>Analysts cautioned that earlier rounds of contact had produced little beyond statements, and
that any agreement on a ceasefire would depend on guarantees neither side has yet offered.</p>
</article></body></html>"""


def settings_env(settings: Settings) -> dict[str, str]:
    """The DECLUTTER_* variables that make ``config.load()`` return ``settings`` (for the CLI)."""
    return {
        "DECLUTTER_DATA_DIR": str(settings.data_dir),
        "DECLUTTER_S3_ENDPOINT": settings.s3_endpoint,
        "DECLUTTER_S3_ACCESS_KEY": settings.s3_access_key,
        "DECLUTTER_S3_SECRET_KEY": settings.s3_secret_key,
        "DECLUTTER_S3_BUCKET": settings.s3_bucket,
        "DECLUTTER_S3_SECURE": "false",
        "DECLUTTER_DATABASE_URL": settings.database_url,
    }


def capture(url: str, body: bytes, when: datetime) -> Capture:
    return Capture(
        url=url,
        status=200,
        reason="OK",
        body=body,
        response_headers=[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Server", "test-origin"),
        ],
        request_headers=[("User-Agent", "Declutter tests"), ("Accept", "text/html")],
        captured_at=when,
    )


@dataclass
class ResearchArchive:
    settings: Settings
    archiver: Archiver
    database: str
    seed: bytes
    edited: bytes
    ids: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def catalogue(self) -> Any:
        return self.archiver.catalogue


def edited_seed(seed: bytes) -> bytes:
    text = seed.decode("utf-8")
    for old, new in EDITS:
        assert text.count(old) == 1, f"the seed page no longer holds {old!r}"
        text = text.replace(old, new)
    return text.encode("utf-8")


def build_archive(settings: Settings, database: str) -> ResearchArchive:
    seed = shared_path("fixtures", "seed-article", "page.html").read_bytes()
    archiver = Archiver.from_settings(settings)
    archive = ResearchArchive(settings, archiver, database, seed, edited_seed(seed))
    plan = [
        ("first", SEED_URL, seed, T1),
        ("edited", SEED_URL, archive.edited, T2),
        ("revisit", SEED_URL, archive.edited, T3),
        ("scattered", SCATTERED_URL, SCATTERED.encode(), T2),
        ("other_site", OTHER_SITE_URL, OTHER_SITE.encode(), T2),
    ]
    for name, url, body, when in plan:
        archive.ids[name] = archiver.archive(capture(url, body, when)).capture_id
        archive.bodies[name] = body
        archive.urls[name] = url
    return archive


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def research(
    request: pytest.FixtureRequest, s3_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ResearchArchive]:
    """The archive on each catalogue engine (module scope: built once per engine per module)."""
    yield from _research(request, s3_server, tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def research_sqlite(
    request: pytest.FixtureRequest, s3_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ResearchArchive]:
    """The same archive on SQLite only, for tests whose subject is not the catalogue engine."""
    yield from _research(request, s3_server, tmp_path_factory, "sqlite")


def _research(
    request: pytest.FixtureRequest, s3_server: Any, factory: pytest.TempPathFactory, database: str
) -> Iterator[ResearchArchive]:
    database_url = ""
    if database == "postgresql":
        pg = request.getfixturevalue("postgres_server")
        database_url = pg.create_database(f"research{time.time_ns() % 10**12}")
    data_dir: Path = factory.mktemp("research")
    settings = settings_for(s3_server, data_dir, database_url, rate_limit=0.0)
    archive = build_archive(settings, database)
    try:
        yield archive
    finally:
        archive.archiver.close()
