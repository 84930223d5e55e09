"""Revisits across sources: a reader snapshot between two identical crawls leaves the second a
revisit of the first (issue 13, item 7), and each result says whether its URL was new."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime, timedelta

import pytest

from crawler.archive import Archiver
from crawler.snapshot.capture import Capture
from tests.kit.article import PARAGRAPHS, page


def fetched(url: str, body: bytes, when: datetime) -> Capture:
    return Capture(
        url=url, status=200, body=body, captured_at=when,
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        request_headers=[("User-Agent", "Declutter-test")],
    )


@pytest.fixture
def archiver(settings, database):
    arch = Archiver.from_settings(settings(database=database))
    yield arch
    arch.close()


def test_a_crawl_after_a_reader_snapshot_is_a_revisit_of_the_last_identical_fetch(archiver):
    url = f"https://news.example/reader-between/{time.time_ns()}"
    t0 = datetime(2025, 6, 1, 8, tzinfo=UTC)
    body = page()
    crawled = archiver.archive(fetched(url, body, t0))
    reader = archiver.archive(
        Capture.from_reader(url, "<html><body><article><p>the reader's DOM</p></article></body></html>",
                            "the server's fetch was refused", captured_at=t0 + timedelta(hours=1))
    )
    again = archiver.archive(fetched(url, body, t0 + timedelta(hours=2)))

    assert (crawled.first, reader.first, again.first) == (True, False, False)
    assert not reader.revisit, "a reader's DOM never stands in for a server response"
    assert again.revisit, "the second crawl stored a full copy instead of a revisit"
    row = archiver.catalogue.get_capture(again.capture_id)
    assert row.revisit_of == crawled.capture_id
    assert body not in gzip.decompress(archiver.read_warc(again.capture_id))
    assert archiver.read_raw(again.capture_id)[2] == body
    assert all(v.ok for v in archiver.verify([crawled.capture_id, reader.capture_id, again.capture_id]))


def test_a_page_back_to_its_first_bytes_is_a_revisit_of_its_first_capture(archiver):
    url = f"https://news.example/changed/{time.time_ns()}"
    t0 = datetime(2025, 6, 1, 8, tzinfo=UTC)
    first = archiver.archive(fetched(url, page(), t0))
    edited = PARAGRAPHS[:2] + ["The plan now adds three bus lines and a tram."] + PARAGRAPHS[3:]
    other = archiver.archive(fetched(url, page(paragraphs=edited), t0 + timedelta(hours=1)))
    back = archiver.archive(fetched(url, page(), t0 + timedelta(hours=2)))
    assert not other.revisit and other.change is not None
    # the page went back to its first bytes: a revisit of the first capture, not of the second
    assert back.revisit
    assert archiver.catalogue.get_capture(back.capture_id).revisit_of == first.capture_id
