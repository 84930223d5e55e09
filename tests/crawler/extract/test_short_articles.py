"""Short articles are articles; pages that fill themselves by JavaScript are not (yet).

The crawler renders a page in Chromium only when extraction finds no article, so the line between
the two decides both what readers get and what a crawl spends.
"""

from __future__ import annotations

import pytest

from crawler.extract import NoArticleError, extract

NOTICE = "The library on Elm Street is closed on Monday for repairs to the roof."


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html lang='en'><head>{head}</head><body>{body}</body></html>"


def test_one_short_paragraph_is_an_article():
    article = extract(page(f"<main><h1>Library closed</h1><p>{NOTICE}</p></main>"))
    assert article.text == NOTICE


def test_one_short_list_is_an_article():
    items = ["Two eggs", "A cup of flour", "A pinch of salt"]
    body = "<article><h1>Pancakes</h1><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul></article>"
    assert extract(page(body)).text.split("\n\n") == items


def test_short_text_with_scripts_but_no_shell_sign_is_an_article():
    body = f"<script>window.analytics = {{}};</script><div><p>{NOTICE}</p></div>"
    assert NOTICE in extract(page(body)).text


@pytest.mark.parametrize(
    "shell",
    [
        f"<noscript>Please enable JavaScript to read this page.</noscript><p>{NOTICE}</p>",
        f"<p>{NOTICE}</p><div id='root'></div><script src='/app.js'></script>",
        f"<p>{NOTICE}</p><script type='application/json'>{{\"body\": \"{'story text ' * 400}\"}}</script>",
    ],
    ids=["noscript-asks-for-javascript", "empty-mount-point", "text-in-script-data"],
)
def test_short_text_on_a_javascript_shell_is_no_article(shell):
    with pytest.raises(NoArticleError, match="needs rendering"):
        extract(page(shell))


@pytest.mark.parametrize(
    "body",
    [
        "<p>Welcome.</p>",
        "<p>" + " ".join(f"<a href='/{i}'>Story {i}</a>" for i in range(6)) + "</p>",
    ],
    ids=["one-word", "mostly-links"],
)
def test_a_word_or_a_row_of_links_is_still_no_article(body):
    with pytest.raises(NoArticleError):
        extract(page(body))
