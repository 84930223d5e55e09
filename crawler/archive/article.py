"""A capture's article: taken from the richest view of the page that has one, and its text digest.

The rendered DOM comes before the body as received, because a page that builds its text in script
has none in its body. The reader's DOM is never one of those views when the server's own fetch
succeeded: a client can post any HTML beside a real URL, and an article taken from it would be a
forgery of that URL labelled ``source: server`` (issue 21, finding 3). It is kept only as the
capture's ``reader`` resource record. A reader-only capture (``source: reader``) has nothing else,
so its article is the reader's, and it is labelled so. A capture with no article is still kept.
"""

from __future__ import annotations

import hashlib
import logging

from crawler.extract import Article, extract
from crawler.extract.decode import decode_page, parse
from crawler.extract.metadata import read_metadata
from crawler.snapshot.capture import Capture

log = logging.getLogger(__name__)

HTML_TYPES = {"text/html", "application/xhtml+xml", ""}


def text_digest(text: str) -> str | None:
    """Digest of the clean text with whitespace collapsed; None when there is no text."""
    words = " ".join(text.split())
    return "sha256:" + hashlib.sha256(words.encode("utf-8")).hexdigest() if words else None


def article_of(capture: Capture) -> Article:
    """The clean article from the richest view the archive itself made (or, for a reader-only
    capture, the reader's DOM, which is then its body); without text when none has one (still
    captured, with the page's title)."""
    views: list[tuple[bytes | str, str | None]] = [
        (view, None) for view in (capture.rendered_html,) if view
    ]
    if capture.mime in HTML_TYPES:
        views.append((capture.body, capture.content_type or None))
    if not views:
        return Article(url=capture.url)
    for view, content_type in views:
        try:
            article = extract(view, capture.url, content_type=content_type)
        except ValueError as exc:
            log.info("no article in a view of %s: %s", capture.url, exc)
            continue
        except Exception:
            log.exception("extraction failed on %s; capturing without an article", capture.url)
            continue
        if article.text.strip():
            return article
    return page_details(views[0], capture.url)


def page_details(view: tuple[bytes | str, str | None], url: str) -> Article:
    """An article with no text but the page's title, site and language: a capture with no
    article is still found by its title in listings and search."""
    html, content_type = view
    try:
        meta = read_metadata(parse(decode_page(html, content_type)), url)
    except Exception:  # a page extraction could not read has no details to give either
        return Article(url=url)
    return Article(url=url, title=meta.title, site_name=meta.site_name, lang=meta.lang)
