"""Article metadata from what the page declares: JSON-LD, OpenGraph, meta tags, ``<time>``.

Declared data beats guessing from layout, so each field takes the first source that has it, in an
order that puts the most specific source (the article's own JSON-LD) first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from dateutil import parser as dateparser
from dateutil import tz
from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.patterns import name_words

_ARTICLE_TYPES = re.compile(r"article|posting|report|blog|news|webpage|review|recipe", re.I)
_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " : ", " / ", " · ", " » ")
_BY = re.compile(r"^\s*(?:by|von|par|por|door|di|av|af)\s*[:\s]\s*", re.I)
_SPACE = re.compile(r"\s+")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CDATA = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$")


@dataclass
class Metadata:
    title: str | None = None
    byline: str | None = None
    published: str | None = None
    site_name: str | None = None
    lang: str | None = None
    lead_image: str | None = None
    url: str | None = None
    headline: str | None = None
    """The page's own headline element (an h1), when the page has one that matches the title."""
    base_url: str | None = None
    """What relative links resolve against: ``<base href>`` over the page URL (else canonical)."""


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = _SPACE.sub(" ", value).strip()
    return value or None


def _json_ld_objects(root: HtmlElement) -> list[dict]:
    found: list[dict] = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = _CDATA.sub("", script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            try:
                data = json.loads(re.sub(r"[\x00-\x1f]", " ", raw))
            except ValueError:
                continue
        stack = [data]
        while stack and len(found) < 200:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(reversed(graph))
    return found


def _types(item: dict) -> str:
    kind = item.get("@type")
    if isinstance(kind, list):
        return " ".join(str(k) for k in kind)
    return str(kind or "")


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        names: list[str] = []
        for item in value:
            names.extend(_names(item))
        return names
    return []


def _image(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _image(value.get("url") or value.get("contentUrl"))
    if isinstance(value, list) and value:
        return _image(value[0])
    return None


def _zone(name: str | None, offset: int | None) -> tzinfo | None:
    """Numeric offsets and UTC are kept; ambiguous abbreviations (IST, CST) give local time."""
    if offset is not None:
        return tz.tzoffset(name, offset)
    if name and name.upper() in {"UTC", "GMT", "UT", "Z"}:
        return tz.UTC
    return None


def normalise_date(value: str | None) -> str | None:
    """ISO 8601 from the many date spellings pages use; None when it is not a date."""
    value = _clean(value)
    if not value or len(value) > 64:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    if not re.search(r"\d{4}|\d{1,2}[./-]\d{1,2}[./-]\d{2}", value):
        return None
    try:
        return dateparser.parse(value, fuzzy=True, tzinfos=_zone).isoformat()
    except (ValueError, OverflowError, TypeError, dateparser.ParserError):
        return None


def _meta_map(root: HtmlElement) -> dict[str, str]:
    metas: dict[str, str] = {}
    for meta in root.iter("meta"):
        content = (meta.get("content") or "").strip()
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            for key in (meta.get(attr) or "").lower().split():
                metas.setdefault(key, content)
    return metas


def _first(*values: str | None) -> str | None:
    for value in values:
        cleaned = _clean(value)
        if cleaned:
            return cleaned
    return None


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


_SITE_ONLY_SEPARATORS = frozenset({"|", "–", "—", "·", "»", "::"})


def _looks_like_site(tail: str) -> bool:
    """'The Town Crier', 'NYT', 'example.com': short, and a name rather than words of a sentence."""
    words = tail.split()
    if not 0 < len(words) <= 3:
        return False
    return "." in tail or all(w[:1].isupper() or not w[:1].isalpha() for w in words)


def strip_site_tail(title: str, site_name: str | None) -> str:
    """'Headline | Site' -> 'Headline'; keeps the title when the tail is not obviously a site."""
    site = _norm(site_name or "")
    for sep in _SEPARATORS:
        if sep not in title:
            continue
        head, _, tail = title.rpartition(sep)
        front, _, rest = title.partition(sep)
        if len(head.split()) < 2:
            continue
        tail_key = _norm(tail)
        if site and tail_key and (tail_key in site or site in tail_key or tail_key == site.replace(" ", "")):
            return head.strip()
        if site and _norm(front) == site and len(rest.split()) >= 2:
            return rest.strip()
        if not site and _looks_like_site(tail):
            return head.strip()
        if sep.strip() in _SITE_ONLY_SEPARATORS and len(tail.split()) <= 3 and len(head.split()) >= 3:
            # Headlines use hyphens and colons; pipes and typographic dashes mark a site tail.
            return head.strip()
    return title


def _choose_title(
    root: HtmlElement, declared: list[str], page_title: str | None, site_name: str | None
) -> tuple[str | None, str | None]:
    """(title, the h1 that shows it): the page's own headline, never '<title> | Site'."""
    headings = [t for t in (_clean(h.text_content()) for h in root.iter("h1")) if t and len(t) < 300]
    for h1 in headings:
        key = _norm(h1)
        if not key:
            continue
        for title in declared:
            if _norm(title) == key:
                return title, h1
        for title in declared + ([page_title] if page_title else []):
            if len(key) > 15 and _norm(title).startswith(key):
                return h1, h1
    if declared:
        return strip_site_tail(declared[0], site_name), None
    if page_title:
        return strip_site_tail(page_title, site_name), None
    if len(headings) == 1:
        return headings[0], headings[0]
    return None, None


def read_metadata(root: HtmlElement, url: str | None) -> Metadata:
    """Everything the page declares about itself; call before anything prunes the tree.

    One pass per field, each trying the page's declarations in order of trust: JSON-LD's article
    object, then Dublin Core, OpenGraph and the meta names publishers use, then the page itself.
    """
    metas = _meta_map(root)
    ld_all = _json_ld_objects(root)
    articles = [item for item in ld_all if _ARTICLE_TYPES.search(_types(item))]
    articles.sort(key=lambda item: "webpage" in _types(item).lower())
    ld = articles[0] if articles else {}
    site_name = _site_name(ld, ld_all, metas)
    title, headline = _title(root, ld, metas, site_name)
    page_url, base_url = _addresses(root, metas, url)
    return Metadata(
        title=title,
        byline=_byline(root, ld, metas),
        published=_published(root, ld, metas),
        site_name=site_name,
        lang=_lang(root, ld, metas),
        lead_image=_absolute(_lead_image(ld, metas), base_url),
        url=page_url,
        headline=headline,
        base_url=base_url,
    )


def _site_name(ld: dict, ld_all: list[dict], metas: dict[str, str]) -> str | None:
    orgs = [item for item in ld_all if re.search(r"organization|website", _types(item), re.I)]
    return _first(
        (_names(ld.get("publisher")) or [None])[0],
        metas.get("og:site_name"),
        metas.get("application-name"),
        (_names(orgs[0]) or [None])[0] if orgs else None,
    )


def _title(
    root: HtmlElement, ld: dict, metas: dict[str, str], site_name: str | None
) -> tuple[str | None, str | None]:
    title_tag = root.find(".//title")
    page_title = _clean(title_tag.text_content()) if title_tag is not None else None
    declared = [
        t for t in (
            _clean(ld.get("headline")),
            _clean(ld.get("name")) if ld else None,
            metas.get("dc:title"),
            metas.get("dcterm:title"),
            metas.get("dc.title"),
            metas.get("og:title"),
            metas.get("twitter:title"),
            metas.get("parsely-title"),
            metas.get("title"),
        ) if _clean(t)
    ]
    return _choose_title(root, [_clean(t) for t in declared], page_title, site_name)


def _byline(root: HtmlElement, ld: dict, metas: dict[str, str]) -> str | None:
    authors = _names(ld.get("author")) or _names(ld.get("creator"))
    meta_author = _first(
        metas.get("dc:creator"),
        metas.get("dcterm:creator"),
        metas.get("author"),
        metas.get("og:article:author"),
        metas.get("article:author") if not (metas.get("article:author") or "").startswith("http") else None,
        metas.get("parsely-author"),
        metas.get("sailthru.author"),
        metas.get("dc.creator"),
        metas.get("byl"),
    )
    clean_authors = [a for a in (_clean(a) for a in authors) if a and not a.startswith("http")]
    if clean_authors:
        byline = ", ".join(dict.fromkeys(clean_authors))
    elif meta_author:
        byline = meta_author
    else:
        byline = _byline_from_page(root)
    return (_BY.sub("", byline).strip() or None) if byline else None


def _published(root: HtmlElement, ld: dict, metas: dict[str, str]) -> str | None:
    for candidate in (
        ld.get("datePublished") if isinstance(ld.get("datePublished"), str) else None,
        metas.get("article:published_time"),
        metas.get("og:article:published_time"),
        metas.get("datepublished"),
        metas.get("parsely-pub-date"),
        metas.get("sailthru.date"),
        metas.get("publish-date"),
        metas.get("pubdate"),
        metas.get("date"),
        metas.get("dc.date"),
        metas.get("dc.date.issued"),
        metas.get("dcterms.created"),
        ld.get("dateCreated") if isinstance(ld.get("dateCreated"), str) else None,
        _time_element(root),
    ):
        published = normalise_date(candidate)
        if published:
            return published
    return None


def _lang(root: HtmlElement, ld: dict, metas: dict[str, str]) -> str | None:
    html = root if root.tag == "html" else root.find(".//html")
    lang = _first(
        html.get("lang") if html is not None else None,
        html.get("xml:lang") if html is not None else None,
        html.get("{http://www.w3.org/XML/1998/namespace}lang") if html is not None else None,
        metas.get("content-language"),
        ld.get("inLanguage") if isinstance(ld.get("inLanguage"), str) else None,
        (metas.get("og:locale") or "").replace("_", "-") or None,
    )
    return lang.split(",")[0].strip() if lang else None


def _addresses(root: HtmlElement, metas: dict[str, str], url: str | None) -> tuple[str | None, str | None]:
    """(the page's own address, the base its links resolve against)."""
    canonical = None
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            canonical = link.get("href").strip()
            break
    page_url = _absolute(canonical or metas.get("og:url"), url) or url
    base_url = url or page_url
    base = root.find(".//base[@href]")
    if base is not None and base_url:
        base_url = _absolute(base.get("href"), base_url) or base_url
    return page_url, base_url


def _lead_image(ld: dict, metas: dict[str, str]) -> str | None:
    return _first(
        metas.get("og:image"),
        metas.get("og:image:url"),
        metas.get("og:image:secure_url"),
        _image(ld.get("image")),
        metas.get("twitter:image"),
        metas.get("twitter:image:src"),
    )


def _absolute(link: str | None, base: str | None) -> str | None:
    link = _clean(link)
    if not link:
        return None
    if link.startswith(("javascript:", "data:")):
        return None
    try:
        return urljoin(base, link) if base else link
    except ValueError:
        return link


def _time_element(root: HtmlElement) -> str | None:
    for time in root.iter("time"):
        value = time.get("datetime") or time.get("content")
        if value and _DAY.search(value):
            return value
    return None


def _byline_text(elem: HtmlElement) -> str | None:
    text = _clean(elem.text_content())
    if not text or not 3 < len(text) < 100 or "|" in text or "@" in text:
        return None
    if not any(len(word) > 2 for word in text.split()):
        return None
    return text


_BYLINE_CANDIDATES = etree.XPath(
    "//*[self::a or self::span or self::div or self::p or self::address]"
    "[contains(@rel, 'author') or contains(@itemprop, 'author')"
    " or contains(translate(concat(@class, ' ', @id), 'ABDEHIKLNORTUWY', 'abdehiklnortuwy'), 'author')"
    " or contains(translate(concat(@class, ' ', @id), 'ABDEHIKLNORTUWY', 'abdehiklnortuwy'), 'writer')"
    " or contains(translate(concat(@class, ' ', @id), 'ABDEHIKLNORTUWY', 'abdehiklnortuwy'), 'byline')]"
)


def _byline_from_page(root: HtmlElement) -> str | None:
    """A byline from markup, most explicit first: rel/itemprop author, then class names."""
    candidates = _BYLINE_CANDIDATES(root)
    for elem in candidates:
        if "author" in (elem.get("rel") or "").split() or "author" in (elem.get("itemprop") or "").split():
            text = _byline_text(elem)
            if text:
                return text
    for wanted in ({"author", "authors", "writer"}, {"byline"}):
        for elem in candidates:
            names = f"{elem.get('class', '')} {elem.get('id', '')}"
            if len(names) > 1 and wanted.intersection(name_words(names)):
                text = _byline_text(elem)
                if text:
                    return text
    return None
