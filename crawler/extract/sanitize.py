"""The allowlist the clean HTML passes through before anyone renders it.

The article HTML ends up inside the reader overlay and the web app, so it must carry no script in
any form. nh3 (the Rust ``ammonia`` sanitiser) enforces the allowlist; lxml first fixes what nh3
cannot: relative URLs and images whose real source hides in ``data-src``/``srcset``.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import lxml.html
import nh3
from lxml.etree import tounicode
from lxml.html import HtmlElement

ALLOWED_TAGS = frozenset(
    """
    a abbr b blockquote br caption cite code dd del dfn div dl dt em figcaption figure h1 h2 h3
    h4 h5 h6 hr i img ins kbd li mark ol p pre q s samp small span strong sub sup table tbody td
    tfoot th thead time tr u ul var
    """.split()
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "abbr": {"title"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_LAZY_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-url", "data-hi-res-src", "data-full-src", "data-lazy")
_PLACEHOLDER = re.compile(r"^(?:data:|about:|javascript:)|(?:blank|spacer|placeholder|pixel|transparent|lazy|loading)\.(?:gif|png|svg|jpe?g)", re.I)


def _best_srcset(srcset: str) -> str | None:
    best, best_size = None, -1.0
    for candidate in srcset.split(","):
        bits = candidate.strip().split()
        if not bits:
            continue
        size = 0.0
        if len(bits) > 1:
            try:
                size = float(bits[1][:-1])
            except ValueError:
                size = 0.0
        if size > best_size:
            best, best_size = bits[0], size
    return best


def resolve_images(content: HtmlElement) -> None:
    """Give every <img> its real source (lazy loaders keep it in data-* or srcset)."""
    for img in content.iter("img"):
        src = (img.get("src") or "").strip()
        if not src or _PLACEHOLDER.search(src):
            real = next((img.get(a) for a in _LAZY_ATTRS if (img.get(a) or "").strip()), None)
            if not real:
                srcset = img.get("data-srcset") or img.get("srcset") or ""
                if not srcset:
                    parent = img.getparent()
                    if parent is not None and parent.tag == "picture":
                        for source in parent.iter("source"):
                            srcset = source.get("srcset") or source.get("data-srcset") or ""
                            if srcset:
                                break
                real = _best_srcset(srcset) if srcset else None
            if real:
                img.set("src", real.strip())
            elif src and _PLACEHOLDER.search(src):
                img.drop_tree()


def absolutise(content: HtmlElement, base_url: str | None) -> None:
    if not base_url:
        return
    for elem, attr in ((e, "href") for e in content.iter("a")):
        value = elem.get(attr)
        if value:
            try:
                elem.set(attr, urljoin(base_url, value.strip()))
            except ValueError:
                elem.attrib.pop(attr, None)
    for img in content.iter("img"):
        value = img.get("src")
        if value:
            try:
                img.set("src", urljoin(base_url, value.strip()))
            except ValueError:
                img.attrib.pop("src", None)


def clean_markup(html: str) -> str:
    """The allowlist itself: tags, attributes and URL schemes that are safe to render."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_BETWEEN_TAGS = re.compile(r">\s{2,}<")


def sanitize_tree(content: HtmlElement, base_url: str | None) -> str:
    resolve_images(content)
    absolutise(content, base_url)
    # Runs of whitespace between tags render as one space; keep one newline, drop the indentation.
    return _BETWEEN_TAGS.sub(">\n<", clean_markup(tounicode(content, method="html"))).strip()


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Any HTML fragment to safe HTML: allowlisted tags, absolute links, lazy images resolved."""
    if not html or not html.strip():
        return ""
    try:
        fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    except (ValueError, AssertionError, lxml.etree.ParserError):
        # lxml refuses some tag soup (several <body>s); the allowlist alone still makes it safe.
        return _BETWEEN_TAGS.sub(">\n<", clean_markup(html)).strip()
    return sanitize_tree(fragment, base_url)
