"""The one word-level diff: counts, operations, and the three renderings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crawler.catalogue.diff import count_changes, diff_text


def test_replaced_and_added_words_are_counted() -> None:
    old = "The minister said the plan was final.\n\nMore follows."
    new = "The minister said the plan was under review.\n\nMore follows. Updated at noon."
    result = diff_text(old, new)
    assert (result.words_added, result.words_removed) == (5, 1)
    ops = [(op["op"], op["text"].strip()) for op in result.to_dict()["ops"] if op["op"] != "equal"]
    assert ops == [("delete", "final."), ("insert", "under review."), ("insert", "Updated at noon.")]
    assert result.new_text() == new


def test_spacing_alone_is_no_change() -> None:
    result = diff_text("One two\nthree.", "One  two three.  ")
    assert not result.changed
    assert count_changes("One two\nthree.", "One  two three.  ") == (0, 0)


def test_empty_sides() -> None:
    assert count_changes("", "three new words") == (3, 0)
    assert count_changes("two old", None) == (0, 2)


def test_html_marks_changes_and_escapes_text() -> None:
    html = diff_text("a <b> & c", "a <b> & d").to_html()
    assert "&lt;b&gt; &amp; " in html
    assert "<del>c</del>" in html and "<ins>d</ins>" in html
    assert "<b>" not in html


def test_terminal_colours_and_plain_markers() -> None:
    result = diff_text("keep old words", "keep new words")
    assert "\x1b[31;9mold\x1b[0m" in result.to_terminal()
    assert "\x1b[32mnew\x1b[0m" in result.to_terminal()
    assert result.to_terminal(color=False) == "keep [-old-] {+new+} words"


def test_a_long_rewrite_stays_fast_and_correct() -> None:
    old = " ".join(f"w{i}" for i in range(30_000))
    new = " ".join(f"x{i}" for i in range(30_000))
    assert count_changes(old, new) == (30_000, 30_000)


words = st.lists(st.sampled_from(["a", "b", "c", "news", "edit", "\n\n"]), max_size=40)


@given(words, words)
def test_new_text_is_rebuilt_and_counts_balance(a: list[str], b: list[str]) -> None:
    old, new = " ".join(a), " ".join(b)
    result = diff_text(old, new)
    assert result.new_text() == new
    assert result.old_text().split() == old.split()
    kept = sum(len(s.text.split()) for s in result.spans if s.op == "equal")
    assert kept + result.words_removed == len(old.split())
    assert kept + result.words_added == len(new.split())
