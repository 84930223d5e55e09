"""An unchanged rendered revisit stores no second screenshot, even when its PNG's bytes differ
(another compression, a time chunk) from the original's; a changed image is stored."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from crawler.archive import Archiver
from crawler.archive.pixels import pixel_digest
from crawler.config import Settings
from crawler.snapshot.warc import read_warc
from tests.kit.archive import capture
from tests.kit.origin import article_html


def png(pixels: list[bytes], *, level: int, stamp: bool = False) -> bytes:
    """A greyscale PNG of ``pixels`` (one bytes object per row), compressed at ``level``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", len(pixels[0]), len(pixels), 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in pixels)
    extra = chunk(b"tIME", struct.pack(">HBBBBB", 2026, 12, 2, 12, 0, level)) if stamp else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra
            + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b""))


ROWS = [bytes((x * y) % 256 for x in range(64)) for y in range(48)]


def test_pixel_digest_sees_the_image_not_the_encoding() -> None:
    one, two = png(ROWS, level=1), png(ROWS, level=9, stamp=True)
    assert one != two and pixel_digest(one) == pixel_digest(two) is not None
    changed = [*ROWS[:-1], bytes(64)]
    assert pixel_digest(png(changed, level=9)) != pixel_digest(one)
    assert pixel_digest(b"not a png") is None


def test_an_unchanged_rendered_revisit_keeps_the_first_screenshot_only(
    settings: Callable[..., Settings],
) -> None:
    url = "https://news.example/articles/ferry.html"
    body = article_html("Ferry", [f"The early ferry moves by twenty minutes, part {n}." * 3
                                  for n in range(8)]).encode()
    when = datetime(2026, 12, 1, tzinfo=UTC)
    shots = [png(ROWS, level=1), png(ROWS, level=9, stamp=True), png([*ROWS[:-1], bytes(64)], level=9)]
    ids = []
    with Archiver.from_settings(settings()) as archiver:
        for n, shot in enumerate(shots):
            page = capture(url, body, when + timedelta(hours=n))
            page.rendered_html = body.decode()
            page.screenshot = shot
            ids.append(archiver.archive(page).capture_id)
        rows = [archiver.catalogue.get_capture(i) for i in ids]
        stored = [read_warc(archiver.store.get(row.warc_key)).resources for row in rows]
        assert [row.revisit for row in rows] == [False, True, True]
        assert "screenshot" in stored[0], "the first screenshot is kept"
        assert "screenshot" not in stored[1], "the same image again was stored a second time"
        assert stored[2].get("screenshot") == shots[2], "a changed image is stored"
        assert archiver.read_screenshot(ids[1]) == shots[0]
