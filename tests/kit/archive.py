"""Archives that already hold known captures, for tests of what reads them back.

The research archive: the seed article captured, edited (two words replaced, one sentence added)
and captured again, then captured once more unchanged (a revisit); other pages give search and
site filters something to tell apart. The server's archive: RFC 7089's example URL at its memento
dates, an article edited once, and a rendered capture with a screenshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawler.archive import Archiver
from crawler.config import Settings
from crawler.snapshot.capture import Capture
from tests.kit.api import Api
from tests.kit.paths import shared_path

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


# RFC 7089 section 4 uses these mementos of http://a.example.org (plus ones around them).
RFC_URL = "http://a.example.org/"
RFC_TIMES = [
    datetime(2000, 6, 20, 18, 2, 59, tzinfo=UTC),
    datetime(2000, 6, 21, 1, 17, 31, tzinfo=UTC),
    datetime(2001, 9, 11, 20, 36, 10, tzinfo=UTC),
    datetime(2001, 9, 12, 7, 0, 0, tzinfo=UTC),
    datetime(2009, 10, 27, 20, 49, 54, tzinfo=UTC),
]


def archive_page(archiver: Archiver, url: str, html: str, when: datetime) -> str:
    capture = Capture(
        url=url,
        status=200,
        body=html.encode("utf-8"),
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        captured_at=when,
    )
    return archiver.archive(capture).capture_id


# A 1x1 PNG: the server stores and serves screenshot bytes as they are.
SCREENSHOT = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass
class Archive:
    """A server over storage that already holds known captures."""

    api: Api
    ids: dict[str, list[str]]
    database: str
