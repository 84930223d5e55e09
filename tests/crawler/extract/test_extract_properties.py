"""Properties of extract on arbitrary input: only ExtractionError, never active content out."""

from __future__ import annotations

import re

import lxml.html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extract import ExtractionError, extract, sanitize_html

ACTIVE_TAGS = {"script", "style", "iframe", "object", "embed", "form", "svg", "math", "template"}

TAGS = ["p", "div", "a", "script", "style", "iframe", "img", "article", "form", "svg", "span",
        "h1", "li", "ul", "blockquote", "noscript", "object", "math", "template", "body", "meta"]
ATTRS = ["href", "src", "onclick", "onerror", "style", "class", "id", "data-src", "srcset",
         "xlink:href", "formaction", "action", "charset"]
VALUES = ["javascript:alert(1)", "JaVaScRiPt:x", " javascript:x", "java\tscript:x",
          "data:text/html,<script>x</script>", "/rel", "http://a.example/x", "x\" onload=\"y",
          "vbscript:x", "#frag", "utf-16", "comments", "ad"]
WORDS = st.sampled_from(["lorem", "ipsum", "the", "council", "river", ",", ".", "<", ">", "&amp;",
                         "</p>", "<!--", "-->", "\x00", "\ufffd", "é", "市", "  ", "\n"])


@st.composite
def markup(draw, depth: int = 0) -> str:
    tag = draw(st.sampled_from(TAGS))
    attrs = "".join(
        f' {draw(st.sampled_from(ATTRS))}="{draw(st.sampled_from(VALUES))}"'
        for _ in range(draw(st.integers(0, 3)))
    )
    children = []
    for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))):
        if draw(st.booleans()):
            children.append(" ".join(draw(st.lists(WORDS, max_size=25))))
        else:
            children.append(draw(markup(depth + 1)))
    return f"<{tag}{attrs}>{''.join(children)}</{tag}>"


def _assert_inert(html: str) -> None:
    """No script element, no event handler, no script URL: checked on the parsed output."""
    assert "<script" not in html.lower()
    if not html.strip():
        return
    for elem in lxml.html.fragment_fromstring(html, create_parent="div").iter():
        assert elem.tag not in ACTIVE_TAGS, html
        for name, value in elem.attrib.items():
            assert not name.lower().startswith("on"), html
            squeezed = re.sub(r"[\x00-\x20]+", "", value).lower()
            assert not squeezed.startswith(("javascript:", "vbscript:", "data:")), html


PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_only_extraction_errors(data: bytes) -> None:
    try:
        article = extract(data)
    except ExtractionError:
        return
    _assert_inert(article.html)


@PROPERTY_SETTINGS
@given(st.lists(markup(), min_size=1, max_size=6), st.sampled_from([None, "text/html; charset=utf-8"]))
def test_arbitrary_markup_never_yields_active_content(parts: list[str], content_type: str | None) -> None:
    long_text = "<p>" + "The council met on the river bank and talked at length, " * 8 + "</p>"
    page = "<html><body><article>" + "".join(parts) + long_text + "</article></body></html>"
    for data in (page, page.encode("utf-8", "surrogatepass")):
        try:
            article = extract(data, "https://site.example/a/", content_type=content_type)
        except ExtractionError:
            continue
        _assert_inert(article.html)
        assert "\x00" not in article.text


@PROPERTY_SETTINGS
@given(st.lists(markup(), min_size=1, max_size=4))
def test_sanitize_html_never_yields_active_content(parts: list[str]) -> None:
    _assert_inert(sanitize_html("".join(parts), "https://site.example/"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(["@type", "@graph", "headline", "name", "author", "publisher", "image",
                         "datePublished", "inLanguage", "url", "creator", "dateCreated"]),
        inner,
        max_size=5,
    ),
    max_leaves=12,
)
META_NAMES = ["og:title", "og:site_name", "author", "article:published_time", "date", "og:image",
              "dc:title", "parsely-pub-date", "og:locale", "content-language", "title"]


@PROPERTY_SETTINGS
@given(
    st.lists(JSON, max_size=3),
    st.lists(st.tuples(st.sampled_from(META_NAMES), st.text(max_size=40)), max_size=6),
    st.text(max_size=60),
)
def test_arbitrary_metadata_never_breaks_extraction(ld: list, metas: list, lang: str) -> None:
    import html as htmllib
    import json

    head = "".join(
        f"<script type='application/ld+json'>{json.dumps(item)}</script>" for item in ld
    ) + "".join(
        f"<meta property='{name}' content='{htmllib.escape(value, quote=True)}'>" for name, value in metas
    )
    body = "<article><h1>Title</h1><p>" + "A sentence of story text, long enough to count. " * 6
    page = f"<html lang='{htmllib.escape(lang, quote=True)}'><head>{head}</head><body>{body}</p></article></body></html>"
    article = extract(page)
    assert article.text
    for value in (article.title, article.byline, article.published, article.site_name, article.lang):
        assert value is None or isinstance(value, str)
