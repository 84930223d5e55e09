"""Page in, clean article out: ``extract(html, url) -> Article``.

The passes run on one parsed tree: decode and parse, read the declared metadata, prune page
furniture, let readability-lxml choose the article, clean it paragraph by paragraph, then produce
sanitised HTML and plain text. Pure: no I/O, nothing kept between calls.

A pass lands only if no dev set's body F1 drops by more than 0.005 and the recall guard (gold
paragraphs missing entirely) rises on none, in ``python -m bench.extraction`` before and after:
see README.md beside this file for the rule, the protected structures and every rule's name.
"""

from __future__ import annotations

import re
from importlib.metadata import version as _version

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.article import Article
from crawler.extract.cleanup import clean_content
from crawler.extract.decode import MAX_BYTES, decode_page, parse
from crawler.extract.errors import ExtractionError, NoArticleError
from crawler.extract.metadata import read_metadata
from crawler.extract.prune import remove_furniture
from crawler.extract.readable import readable_content, semantic_fallback
from crawler.extract.removals import Removals
from crawler.extract.sanitize import sanitize_html, sanitize_tree
from crawler.extract.text import to_blocks

__all__ = [
    "EXTRACTOR_VERSION",
    "MAX_BYTES",
    "ExtractionError",
    "NoArticleError",
    "extract",
    "sanitize_html",
]

ENGINE_REVISION = 2
"""Bump when a change to the passes changes output, so stored articles can be told apart."""
EXTRACTOR_VERSION = f"declutter-extract/{ENGINE_REVISION} readability-lxml/{_version('readability-lxml')}"
MIN_PROSE_CHARS = 140
"""Less body text than this, headings aside, makes us ask whether the page is a short article or
a shell whose text arrives by JavaScript (then NoArticleError tells the crawler to render it)."""
MIN_SHORT_WORDS = 5
"""A short article still says something: at least this many words (one short sentence)."""
_SHELL_NOSCRIPT = re.compile(r"javascript|enable|browser", re.I)
_SHOWN_TEXT = etree.XPath("//body//text()[not(ancestor::script or ancestor::style or ancestor::template)]")
_MOUNT_IDS = frozenset({"root", "app", "__next", "__nuxt", "___gatsby", "svelte", "react-root", "application"})
WORDS_PER_MINUTE = 230


def _prose_length(content: HtmlElement) -> int:
    texts = content.xpath(
        ".//text()[not(ancestor::h1 or ancestor::h2 or ancestor::h3 or ancestor::h4"
        " or ancestor::h5 or ancestor::h6)]"
    )
    return len(" ".join(" ".join(texts).split()))


def _is_short_article(content: HtmlElement, text: str, html: bytes | str, content_type: str | None) -> bool:
    """A page whose whole article is one short paragraph or list, not a shell awaiting scripts.

    Readers keep a two-line notice or a short recipe list, so it must not be refused; but a page
    that fills itself by JavaScript also has little text, and the crawler renders a page only when
    extraction finds no article. A short page counts as an article when it says something (a few
    words, mostly not links) and shows none of a shell's signs, read from the page as served (the
    prune pass has removed scripts by now, so the rare short page is parsed a second time).
    """
    if len(text.split()) < MIN_SHORT_WORDS:
        return False
    linked = sum(len(" ".join(a.text_content().split())) for a in content.iter("a"))
    if linked > 0.5 * len(text):
        return False
    return not _built_by_script(parse(decode_page(html, content_type)))


def _built_by_script(root: HtmlElement) -> bool:
    """A shell's signs: a <noscript> asking for JavaScript, an empty app mount point, or script
    data far larger than the text shown."""
    for noscript in root.iter("noscript"):
        if _SHELL_NOSCRIPT.search(noscript.text_content()):
            return True
    scripts = list(root.iter("script"))
    if not scripts:
        return False
    for elem in root.iter("div", "main", "section"):
        if elem.get("id") in _MOUNT_IDS and len(elem) == 0 and not (elem.text or "").strip():
            return True
    data = sum(len(s.text or "") for s in scripts if (s.get("type") or "") != "application/ld+json")
    shown = len(" ".join(" ".join(_SHOWN_TEXT(root)).split()))
    return data > 2000 and data > 10 * shown


def extract(
    html: bytes | str, url: str | None = None, *, content_type: str | None = None, explain: bool = False
) -> Article:
    """The clean article of one page; raises ExtractionError (NoArticleError when none is found).

    With ``explain``, ``Article.removed`` lists the blocks our passes took out and why (off by
    default: it costs a little, and stored articles need not carry it).
    """
    removals = Removals() if explain else None
    root = parse(decode_page(html, content_type))
    meta = read_metadata(root, url)
    remove_furniture(root, removals)
    content = readable_content(root)
    chosen = len(" ".join(content.text_content().split())) if content is not None else 0
    fallback = semantic_fallback(root, chosen)
    if fallback is not None:
        content = fallback
    if content is None:
        raise NoArticleError("no article found: the page has no block of article text")
    clean_content(content, meta.headline or meta.title, removals)
    blocks = to_blocks(content, removals)
    if removals is not None:
        Removals.unmark(content)
    text = "\n\n".join(blocks)
    prose = _prose_length(content)
    if prose < MIN_PROSE_CHARS and not _is_short_article(content, text, html, content_type):
        raise NoArticleError(f"no article found: only {prose} characters of text outside headings" + (
            ", and the page shows the signs of one built by JavaScript, which needs rendering first"
            if _built_by_script(parse(decode_page(html, content_type)))
            else " (a list, index or sign-in page has none)"
        ))
    words = len(text.split())
    return Article(
        title=meta.title,
        byline=meta.byline,
        published=meta.published,
        site_name=meta.site_name,
        lang=meta.lang,
        lead_image=meta.lead_image,
        url=meta.url or url,
        html=sanitize_tree(content, meta.base_url),
        text=text,
        word_count=words,
        reading_minutes=max(1, round(words / WORDS_PER_MINUTE)),
        extractor_version=EXTRACTOR_VERSION,
        removed=removals.items if removals is not None else [],
    )
