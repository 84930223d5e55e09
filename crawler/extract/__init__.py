"""Page in, clean article out: ``extract(html, url) -> Article``.

The passes run on one parsed tree: decode and parse, read the declared metadata, prune page
furniture, let readability-lxml choose the article, clean it paragraph by paragraph, then produce
sanitised HTML and plain text. Pure: no I/O, nothing kept between calls.
"""

from __future__ import annotations

from crawler.article import Article
from crawler.extract.cleanup import clean_content
from crawler.extract.decode import MAX_BYTES, decode, parse
from crawler.extract.errors import ExtractionError, NoArticleError
from crawler.extract.metadata import read_metadata
from crawler.extract.prune import prune
from crawler.extract.readable import readable_content
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

EXTRACTOR_VERSION = "declutter-0.1+readability-lxml-0.9"
MIN_ARTICLE_CHARS = 250
"""Less body text than this is not an article (a JS shell, a login wall, an index page)."""
WORDS_PER_MINUTE = 230


def extract(html: bytes | str, url: str | None = None, *, content_type: str | None = None) -> Article:
    """The clean article of one page; raises ExtractionError (NoArticleError when none is found)."""
    root = parse(decode(html, content_type))
    meta = read_metadata(root, url)
    prune(root)
    content = readable_content(root)
    if content is None:
        raise NoArticleError("no article found: the page has no block of article text")
    clean_content(content, meta.headline or meta.title)
    blocks = to_blocks(content)
    text = "\n\n".join(blocks)
    if len(text) < MIN_ARTICLE_CHARS:
        raise NoArticleError(
            f"no article found: only {len(text)} characters of text "
            "(a page built by JavaScript needs rendering first)"
        )
    words = len(text.split())
    return Article(
        title=meta.title,
        byline=meta.byline,
        published=meta.published,
        site_name=meta.site_name,
        lang=meta.lang,
        lead_image=meta.lead_image,
        url=meta.url or url,
        html=sanitize_tree(content, meta.url or url),
        text=text,
        word_count=words,
        reading_minutes=max(1, round(words / WORDS_PER_MINUTE)),
        extractor_version=EXTRACTOR_VERSION,
    )
