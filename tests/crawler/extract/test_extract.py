"""The extraction engine: the seed article, metadata, sanitising, encodings and bad input."""

from __future__ import annotations

import json

import pytest

from crawler.extract import (
    EXTRACTOR_VERSION,
    MAX_BYTES,
    ExtractionError,
    NoArticleError,
    extract,
    sanitize_html,
)
from crawler.extract.article import Article
from tests.kit.text import collapse

PARAGRAPH = (
    "The council voted on Tuesday to extend the river path by four kilometres, a plan that "
    "residents have argued about for more than a decade, and the work will start in spring."
)


def page(body: str, head: str = "", lang: str = "en") -> str:
    return f"<!DOCTYPE html><html lang='{lang}'><head>{head}</head><body>{body}</body></html>"


def article_body(paragraphs: int = 4, extra: str = "") -> str:
    ps = "".join(f"<p>{PARAGRAPH} Paragraph {i}.</p>" for i in range(paragraphs))
    return f"<article><h1>River path to grow</h1><div class='body'>{ps}{extra}</div></article>"


def test_seed_article_keeps_every_paragraph_and_drops_the_clutter(seed_dir, seed_expectations):
    must, must_not = seed_expectations
    article = extract((seed_dir / "page.html").read_bytes(), "https://news.example/ukraine")
    clean = collapse(f"{article.title}\n{article.text}")
    missing = [line for line in must if line not in clean]
    assert not missing, f"missing from the clean article: {missing}"
    leaked = [line for line in must_not if line.lower() in clean.lower()]
    assert not leaked, f"clutter left in the clean article: {leaked}"


def test_seed_article_metadata(seed_dir):
    article = extract((seed_dir / "page.html").read_bytes(), "https://news.example/ukraine")
    assert isinstance(article, Article)
    assert article.title == "Ukraine discussing with Russia about time and place to talk cease-fire, peace"
    assert article.site_name == "The Post Millennial"
    assert article.published == "2022-02-25T22:14:00+00:00"
    assert article.lang == "en"
    assert article.url.startswith("https://thepostmillennial.example/ukraine-discussing")
    assert article.lead_image == "https://thepostmillennial.example/images/ukraine-talks.jpg"
    assert article.extractor_version == EXTRACTOR_VERSION
    assert 300 < article.word_count < 600
    assert article.reading_minutes >= 1
    assert json.loads(json.dumps(article.to_dict()))["title"] == article.title


def test_seed_text_has_one_block_per_paragraph(seed_dir, seed_expectations):
    must, _ = seed_expectations
    article = extract((seed_dir / "page.html").read_bytes())
    blocks = [collapse(b) for b in article.text.split("\n\n")]
    assert blocks == must[1:]


def test_page_built_by_javascript_has_no_article(seed_dir):
    with pytest.raises(NoArticleError, match="no article found"):
        extract((seed_dir / "page-js.html").read_bytes(), "https://news.example/ukraine")


def test_headline_preferred_over_title_tag_with_site_tail():
    html = page(
        article_body(),
        head="<title>River path to grow | The Town Crier</title>"
        "<meta property='og:site_name' content='The Town Crier'>",
    )
    article = extract(html)
    assert article.title == "River path to grow"
    assert article.site_name == "The Town Crier"
    assert "River path to grow" not in article.text


@pytest.mark.parametrize(
    ("declared", "site", "title"),
    [
        ("Storm hits coast | The Town Crier", "The Town Crier", "Storm hits coast"),
        ("BBC News - Storm hits coast", "BBC News", "Storm hits coast"),
        ("Storm hits coast - live updates", "The Town Crier", "Storm hits coast - live updates"),
        ("Storm hits coast | Crier", None, "Storm hits coast"),
    ],
)
def test_site_tail_is_cut_only_when_it_is_the_site(declared, site, title):
    head = f"<meta property='og:title' content='{declared}'>"
    if site:
        head += f"<meta property='og:site_name' content='{site}'>"
    body = "<article><div>" + "".join(f"<p>{PARAGRAPH}</p>" for _ in range(3)) + "</div></article>"
    assert extract(page(body, head=head)).title == title


def test_json_ld_metadata_and_byline():
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Crier"},
            {
                "@type": "NewsArticle",
                "headline": "River path to grow",
                "datePublished": "2024-03-05T08:00:00Z",
                "author": [{"@type": "Person", "name": "Ann Lee"}, {"name": "Bo Chen"}],
                "publisher": {"@type": "Organization", "name": "The Town Crier"},
            },
        ],
    }
    html = page(article_body(), head=f"<script type='application/ld+json'>{json.dumps(ld)}</script>")
    article = extract(html)
    assert article.byline == "Ann Lee, Bo Chen"
    assert article.published == "2024-03-05T08:00:00+00:00"
    assert article.site_name == "The Town Crier"


def test_time_element_and_meta_author_fallbacks():
    html = page(
        "<time datetime='2023-11-02'>2 Nov</time>" + article_body(),
        head="<meta name='author' content='By Dana Ruiz'>",
    )
    article = extract(html)
    assert article.byline == "Dana Ruiz"
    assert article.published.startswith("2023-11-02")


def test_paragraph_level_clutter_is_removed():
    extra = (
        "<p>ADVERTISEMENT</p>"
        "<p>Story continues below advertisement</p>"
        "<p>RELATED: <a href='/x'>Another story about rivers and paths</a></p>"
        "<p>Read more: <a href='/y'>Why paths matter</a></p>"
        "<p>Have a news tip? Email us at tips@example.com</p>"
        "<p>View this post on Instagram</p>"
        "<p>Copyright 2024 The Associated Press. All rights reserved.</p>"
        "<p>Anzeige</p>"
        "<p>Image 2 of 5</p>"
        "<p>Sakib Ali/Hindustan Times/Getty Images</p>"
        "<p>Email Jo Park at jpark@example.com or follow her on Twitter.</p>"
        "<p>(Reporting by Ann Lee; Editing by Bo Chen)</p>"
        "<p>Like this story? Share it with a friend!</p>"
        "<p><a href='/a'>Rivers</a> | <a href='/b'>Paths</a> | <a href='/c'>Council news today</a></p>"
        "<p>Tags: <a href='/t/r'>river</a>, <a href='/t/p'>path</a></p>"
        "<p>Updated: Nov. 20, 2019 1:35 a.m.</p>"
        "<p>SUBSCRIBE</p><p>Tempo de leitura: 2 minutos</p>"
        "<p>Note: we are temporarily moderating all comments to deal with spam.</p>"
        "<h3>You may also like...</h3>"
        f"<p>{PARAGRAPH} Final words.</p>"
    )
    article = extract(page(article_body(extra=extra)))
    for clutter in ("ADVERTISEMENT", "continues below", "RELATED", "Read more", "news tip",
                    "Instagram", "Associated Press", "Anzeige", "Image 2", "Getty", "jpark",
                    "Reporting by", "Share it", "Paths", "Tags", "Nov. 20", "SUBSCRIBE",
                    "leitura", "moderating", "also like"):
        assert clutter not in article.text
    assert "Final words." in article.text
    assert article.text.count("The council voted") == 5


@pytest.mark.parametrize(
    "sentence",
    [
        "Category 5 storms are rare, experts say.",
        "Donating blood is safe and takes about an hour.",
        "Copyright law is changing in ways that matter to artists.",
        "Voters can sign up to vote today at any library in the county.",
        "More than 300 people attended the meeting on Tuesday.",
        "Related issues, such as parking, will be discussed later.",
        "Share prices fell sharply after the announcement.",
        "Contact tracing apps from Facebook and Google were tested in the spring.",
        "The new site requires JavaScript to run, its makers said.",
        "Photos of the flood were shared widely",
        "The meeting is on May 5, 2020.",
        "Comments from residents were mostly positive, and few were critical of the plan.",
    ],
)
def test_story_sentences_that_look_like_clutter_are_kept(sentence):
    article = extract(page(article_body(extra=f"<p>{sentence}</p>")))
    assert sentence in article.text


def test_headings_and_inline_words_that_look_like_clutter_are_kept():
    extra = (
        "<h2>What the EPA wants</h2>"
        "<p>The wall was built in 200 <abbr>AD</abbr> and restored twice since then, records show.</p>"
    )
    article = extract(page(article_body(extra=extra)))
    assert "What the EPA wants" in article.text.split("\n\n")
    assert "built in 200 AD and restored" in article.text


def test_quoted_social_posts_are_story_text():
    extra = (
        "<div class='social-media-embed'><blockquote class='twitter-tweet'><p>The river path is "
        "finally happening and I could not be happier about it, honestly, after all these years.</p>"
        "— Jo Park (@jopark) <a href='https://x.example/s/1'>May 2</a></blockquote></div>"
    )
    article = extract(page(article_body(extra=extra)))
    assert "The river path is finally happening" in article.text


def test_html_is_sanitised_with_absolute_links_and_lazy_images():
    extra = (
        "<p onclick='evil()'>The <a href='javascript:alert(1)'>minutes</a> of the meeting and "
        "<a href='/story/2'>our earlier story</a> explain how the council reached its decision.</p>"
        "<script>alert(1)</script><style>p{}</style><iframe src='https://x.example'></iframe>"
        "<img src='data:image/gif;base64,R0lGOD' data-src='/img/big.jpg' alt='lazy'>"
        "<img srcset='/img/a-320.jpg 320w, /img/a-1024.jpg 1024w' alt='set'>"
        "<form action='/post'><input name='q'></form>"
    )
    article = extract(page(article_body(extra=extra)), "https://news.example/a/b.html")
    html = article.html
    for bad in ("<script", "<style", "<iframe", "<form", "<input", "onclick", "javascript:"):
        assert bad not in html.lower()
    assert 'href="https://news.example/story/2"' in html
    assert 'src="https://news.example/img/big.jpg"' in html
    assert 'src="https://news.example/img/a-1024.jpg"' in html


def test_links_resolve_against_base_element():
    extra = "<p>See <a href='notes/1.html'>the notes</a> and the picture below, for the whole story.</p><img src='img/p.jpg'>"
    html = page(article_body(extra=extra), head="<base href='/archive/'><link rel='canonical' href='https://canon.example/c'>")
    article = extract(html, "https://news.example/a/b.html")
    assert 'href="https://news.example/archive/notes/1.html"' in article.html
    assert 'src="https://news.example/archive/img/p.jpg"' in article.html
    assert article.url == "https://canon.example/c"


def test_noscript_images_replace_lazy_placeholders():
    extra = (
        "<figure><img src='data:image/gif;base64,R0l' class='lazy'>"
        "<noscript><img src='/real.jpg' alt='real'></noscript></figure>"
        f"<p>{PARAGRAPH}</p><noscript><img src='/solo.jpg'></noscript><p>{PARAGRAPH} End.</p>"
    )
    html = extract(page(article_body(extra=extra)), "https://n.example/a").html
    assert '<img src="https://n.example/real.jpg" alt="real">' in html
    assert 'src="https://n.example/solo.jpg"' in html
    assert "data:image" not in html


def test_sanitize_html_allowlist():
    dirty = (
        "<div><p style='x' onmouseover='x()'>Hi <a href='JaVaScRiPt:alert(1)'>a</a>"
        "<a href='rel/link'>b</a></p><svg><script>x</script></svg><object data='x'></object></div>"
    )
    clean = sanitize_html(dirty, "https://site.example/dir/page")
    assert "script" not in clean.lower() and "onmouseover" not in clean and "style" not in clean
    assert "javascript" not in clean.lower()
    assert 'href="https://site.example/dir/rel/link"' in clean
    assert sanitize_html("") == ""
    soup = sanitize_html("<script><body><script></script></body><body onload='x()'></body></script>")
    assert "script" not in soup and "onload" not in soup


def test_text_blocks_for_headings_lists_and_quotes():
    extra = (
        "<h2>What happens next</h2><ul><li>Survey in March, with the public invited.</li>"
        "<li>Building from May until the end of the year.</li></ul>"
        "<blockquote>It is about time, said a resident who walks there daily.</blockquote>"
    )
    article = extract(page(article_body(extra=extra)))
    blocks = article.text.split("\n\n")
    assert "What happens next" in blocks
    assert "Survey in March, with the public invited." in blocks
    assert "It is about time, said a resident who walks there daily." in blocks


CHINESE = "市议会周二投票决定将河边小路延长四公里，居民们为此争论了十多年，工程将于春季开始。"


@pytest.mark.parametrize(
    ("raw", "content_type", "word"),
    [
        (
            b"<meta charset='windows-1251'>"
            + page(article_body()).replace("council", "совет").encode("cp1251"),
            None,
            "совет",
        ),
        (
            page(article_body()).replace("council", "conseil élu").encode("iso-8859-1"),
            "text/html; charset=ISO-8859-1",
            "conseil élu",
        ),
        (
            b"\xef\xbb\xbf" + page(article_body()).replace("council", "Grüße").encode("utf-8"),
            "text/html; charset=latin-1",
            "Grüße",
        ),
        (page(article_body()).replace(PARAGRAPH, CHINESE * 3).encode("gb18030"), None, CHINESE),
        (page(article_body()).replace("council", "Straße").encode("utf-16"), None, "Straße"),
    ],
    ids=["meta-cp1251", "http-latin1", "bom-beats-http", "detected-gb18030", "utf16-bom"],
)
def test_encodings(raw, content_type, word):
    article = extract(raw, content_type=content_type)
    assert "\ufffd" not in article.text
    assert word in article.text


def test_unlabelled_latin1_is_read_as_windows_1252():
    text = "Café crème brûlée, naïve façade, said the chef at the counter. " * 8
    article = extract(page(f"<article><p>{text}</p></article>").encode("latin-1"))
    assert "Café crème brûlée, naïve façade" in article.text


def test_bad_bytes_never_crash():
    raw = page(article_body()).encode("utf-8").replace(b"council", b"coun\xff\xfe\xc3cil")
    article = extract(raw)
    assert "The " in article.text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        ("", "empty"),
        (b"just some words, no markup at all", "not HTML"),
        (b'{"json": true, "list": [1, 2, 3]}', "not HTML"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (bytes(range(256)) * 8, "binary"),
        (b"<html>" + b"\x00" * 100 + b"</html>", "binary"),
    ],
    ids=["empty", "whitespace", "empty-str", "plain-text", "json", "pdf", "png", "binary", "nul"],
)
def test_bad_input_is_a_clear_extraction_error(raw, message):
    with pytest.raises(ExtractionError, match=message):
        extract(raw)


def test_non_html_content_type_is_refused():
    with pytest.raises(ExtractionError, match="image/png"):
        extract(page(article_body()).encode(), content_type="image/png")


def test_oversized_page_is_refused():
    raw = page(article_body() + "<p>" + "x" * MAX_BYTES + "</p>").encode()
    with pytest.raises(ExtractionError, match="too large"):
        extract(raw)


def test_absurd_nesting_is_refused():
    raw = "<html><body>" + "<div>" * 5000 + article_body() + "</div>" * 5000 + "</body></html>"
    with pytest.raises(ExtractionError, match="nested too deeply"):
        extract(raw)


def test_absurdly_many_elements_are_refused():
    raw = "<html><body>" + "<span>x</span>" * 210_000 + "</body></html>"
    with pytest.raises(ExtractionError, match="elements"):
        extract(raw)


def test_ordinary_nesting_is_fine():
    raw = "<html><body>" + "<div>" * 60 + article_body() + "</div>" * 60 + "</body></html>"
    assert "The council voted" in extract(raw).text


@pytest.mark.parametrize(
    "body",
    [
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav><p>Welcome.</p>",
        "<ul>" + "".join(f"<li><a href='/{i}'>Story number {i} headline</a></li>" for i in range(30)) + "</ul>",
        "",
    ],
    ids=["nav-only", "link-list", "empty-body"],
)
def test_page_without_article(body):
    with pytest.raises(NoArticleError):
        extract(page(body))


def test_errors_are_value_errors():
    assert issubclass(ExtractionError, ValueError)
    assert issubclass(NoArticleError, ExtractionError)
    with pytest.raises(ExtractionError, match="bytes or str"):
        extract(12345)  # type: ignore[arg-type]
