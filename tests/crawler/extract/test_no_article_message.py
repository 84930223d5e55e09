"""A page with no article says what was seen in it: a JavaScript shell is told apart from a list."""

from __future__ import annotations

import pytest

from crawler.extract import NoArticleError, extract

LIST_PAGE = "<html><head><title>Sections</title></head><body><ul>" + "".join(
    f'<li><a href="/s/{n}">Section {n}</a></li>' for n in range(30)
) + "</ul></body></html>"
SHELL_PAGE = (
    "<html><head><title>App</title></head><body><div id='root'></div>"
    "<noscript>You need to enable JavaScript to run this app.</noscript>"
    "<script>" + "window.state = {items: []};" * 200 + "</script></body></html>"
)


def test_a_static_list_page_is_not_called_a_javascript_page() -> None:
    with pytest.raises(NoArticleError) as refused:
        extract(LIST_PAGE, "https://example.org/sections")
    assert "JavaScript" not in str(refused.value)
    assert "list, index or sign-in page" in str(refused.value)


def test_a_javascript_shell_is_named_as_one() -> None:
    with pytest.raises(NoArticleError) as refused:
        extract(SHELL_PAGE, "https://example.org/app")
    assert "built by JavaScript, which needs rendering first" in str(refused.value)
