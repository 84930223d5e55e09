"""Bytes to text, and text to one lxml tree, refusing what is not an HTML page.

The order follows what browsers do: a byte-order mark wins, then the HTTP ``charset``, then a
``<meta charset>`` near the top, then strict UTF-8, then statistical detection. Whatever the
result, undecodable bytes become U+FFFD instead of errors, so odd pages never crash a crawl.
"""

from __future__ import annotations

import codecs
import re
import threading

import lxml.html
from charset_normalizer import from_bytes
from lxml import etree

from crawler.extract.errors import ExtractionError

MAX_BYTES = 10 * 1024 * 1024
"""Pages larger than this are refused (the default of ``Settings.max_page_bytes``)."""
MAX_ELEMENTS = 200_000
"""More elements than this is no article page (real ones have a few thousand); refused."""
_COUNT_ELEMENTS = etree.XPath("count(//*)")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (b"\x1f\x8b", "gzip-compressed data (decompress it first)"),
    (b"RIFF", "a RIFF media file"),
    (b"\x7fELF", "an executable"),
    (b"BZh", "bzip2-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"OggS", "an Ogg media file"),
    (b"ID3", "an MP3 file"),
    (b"\x00\x00\x00", "a binary file"),
)
_NON_HTML_TYPES = re.compile(
    r"^(image|audio|video|font)/|^application/(pdf|zip|gzip|octet-stream|x-|msword|vnd\.)", re.I
)
_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I
)
_TAG = re.compile(r"<\s*(?:!doctype|html|head|body|[a-z][a-z0-9]*[\s/>])", re.I)
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# WHATWG aliases that differ from Python's codec of the same name.
_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
    "utf8": "utf-8",
    "unicode": "utf-8",
    "x-user-defined": "cp1252",
}
_LOCAL = threading.local()


def _parser() -> lxml.html.HTMLParser:
    """One parser per thread: lxml parsers keep state (the error log) and are not shared."""
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = lxml.html.HTMLParser(
            encoding="utf-8", remove_comments=True, remove_pis=True, default_doctype=False
        )
    return parser


def _codec(label: bytes | str | None) -> str | None:
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    label = label.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # A page that says utf-16 in a meta tag is never really utf-16 by then (it was ASCII-readable).
    return "utf-8" if name.startswith("utf-16") or name.startswith("utf-32") else name


def _refuse_binary(data: bytes, content_type: str | None) -> None:
    if content_type and _NON_HTML_TYPES.search(content_type.strip()):
        raise ExtractionError(
            f"not HTML: the content type is {content_type.split(';')[0].strip()!r}; "
            "extract only reads HTML pages"
        )
    head = data[:16].lstrip()
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise ExtractionError(f"not HTML: the input looks like {what}")
    sample = data[:4096]
    if sample.count(0) > 0 or sum(b < 9 or (13 < b < 32 and b != 27) for b in sample[:1024]) > 16:
        raise ExtractionError("not HTML: the input is binary (it has NUL or control bytes)")


def decode_page(data: bytes | str, content_type: str | None = None) -> str:
    """The page as text; raises ExtractionError for empty, oversized or binary input."""
    if isinstance(data, str):
        if len(data) > MAX_BYTES:
            raise ExtractionError(
                f"page too large: {len(data)} characters, the limit is {MAX_BYTES} bytes"
            )
        text = data
    else:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ExtractionError(f"extract needs bytes or str, not {type(data).__name__}")
        data = bytes(data)
        if len(data) > MAX_BYTES:
            raise ExtractionError(
                f"page too large: {len(data)} bytes, the limit is {MAX_BYTES} bytes"
            )
        text = _decode_bytes(data, content_type)
    if not text.strip():
        raise ExtractionError("empty page: there is nothing to extract")
    text = text.lstrip("\ufeff")
    if _BAD_CHARS.search(text):
        text = _BAD_CHARS.sub("", text)
    if not _TAG.search(text, 0, 65536):
        raise ExtractionError("not HTML: the input has no HTML tags (is it plain text or JSON?)")
    return text


def _decode_bytes(data: bytes, content_type: str | None) -> str:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(name, "replace")
    if not data.strip():
        return ""
    _refuse_binary(data, content_type)
    declared = None
    if content_type:
        found = _CHARSET_PARAM.search(content_type.encode("latin-1", "ignore"))
        declared = _codec(found.group(1)) if found else None
    if declared is None:
        found = _META_CHARSET.search(data, 0, 4096)
        declared = _codec(found.group(1)) if found else None
    if declared is not None and declared != "utf-8":
        if not data.isascii():
            # Valid multi-byte UTF-8 is almost never an accident: the label is stale (a page
            # re-saved or transcoded by a proxy), so the bytes win over it.
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return data.decode(declared, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if declared == "utf-8":
            return data.decode("utf-8", "replace")
    matches = from_bytes(data[:65536])
    best = matches.best()
    name = _codec(best.encoding) if best is not None else None
    if best is not None and name != "cp1252":
        # Latin code pages often tie; an unlabelled page is windows-1252 (the WHATWG default).
        tied = (m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence))
        if any(_codec(m.encoding) == "cp1252" for m in tied):
            name = "cp1252"
    return data.decode(name or "cp1252", "replace")


def parse(text: str) -> lxml.html.HtmlElement:
    """One lxml tree for the page; everything after works on it, so the page is parsed once."""
    parser = _parser()
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"not HTML: the page could not be parsed ({exc})") from None
    for entry in parser.error_log:
        if entry.type_name == "ERR_RESOURCE_LIMIT" or "Excessive depth" in entry.message:
            raise ExtractionError(
                "page nested too deeply (more than 255 levels of tags): not a real article page"
            )
    elements = int(_COUNT_ELEMENTS(root))
    if elements > MAX_ELEMENTS:
        raise ExtractionError(
            f"page has {elements} elements, more than the {MAX_ELEMENTS} an article page can have"
        )
    return root
