"""A screenshot's identity by what it shows, not by how its PNG was compressed.

A rendered revisit of an unchanged page is kept without a second screenshot when the new one shows
the same image as the original's (``Archiver._prepare`` skips resources whose digests match). Two
PNGs of one image can differ in their bytes (compression level, zlib's window, a time or text
chunk), so the digest here covers the image header, the palette and the decompressed image data:
the filtered scanlines, which an encoder derives from the pixels alone. Decompression streams into
the hash, so a tall page's screenshot never sits in memory decoded.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IMAGE_CHUNKS = (b"IHDR", b"PLTE")


def pixel_digest(png: bytes) -> str | None:
    """``pixels:sha256:...`` of the image ``png`` shows; None when it is not a readable PNG."""
    if not png.startswith(PNG_SIGNATURE):
        return None
    digest = hashlib.sha256()
    inflate = zlib.decompressobj()
    pos = len(PNG_SIGNATURE)
    try:
        while pos + 8 <= len(png):
            length, kind = struct.unpack(">I4s", png[pos:pos + 8])
            data = png[pos + 8:pos + 8 + length]
            if kind in _IMAGE_CHUNKS:
                digest.update(kind + data)
            elif kind == b"IDAT":
                digest.update(inflate.decompress(data))
            elif kind == b"IEND":
                digest.update(inflate.flush())
                return "pixels:sha256:" + digest.hexdigest()
            pos += 12 + length
    except (zlib.error, struct.error):
        return None
    return None
