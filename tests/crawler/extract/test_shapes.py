"""Clutter told by shape, not class names (issue 20, classes 2 and 3).

Every page here is written for the test, with neutral class names (or none), so that only the
shape can give the clutter away: a card (linked headline + teaser) inside the story, a tag strip
after it, a media player's caption-settings menu as plain divs.
"""

from __future__ import annotations

import pytest
from lxml.html import fragment_fromstring

from crawler.extract import extract
from crawler.extract.decode import parse
from crawler.extract.prune import remove_furniture
from crawler.extract.removals import Removals
from crawler.extract.shapes import find_cards, find_shapes

STORY = [
    "The county opened its new library on Saturday, three years after the old building closed "
    "because of a leaking roof and a heating system that failed every winter.",
    "More than two thousand people came through the doors on the first day, many of them "
    "children who had never seen the reading room their parents remember.",
    "The building cost eleven million, most of it from a bond that voters approved in a close "
    "vote, and the rest from a campaign that sold engraved bricks for the courtyard.",
    "The head librarian said the longer opening hours would start next month, once the last of "
    "the new staff have finished their training on the lending system.",
]


def page(middle: str = "", end: str = "") -> str:
    first, second = "".join(f"<p>{p}</p>" for p in STORY[:2]), "".join(f"<p>{p}</p>" for p in STORY[2:])
    return (
        "<!DOCTYPE html><html lang='en'><head><title>Library opens</title></head><body>"
        f"<article><h1>Library opens</h1><div class='b'>{first}{middle}{second}{end}</div></article>"
        "</body></html>"
    )


def assert_story_whole(text: str) -> None:
    for paragraph in STORY:
        assert paragraph in text


CARDS = {
    "headline-link-and-teaser": (
        "<div class='x1'><h3><a href='/deals/kettle'>The kettle that boils in ninety seconds</a></h3>"
        "<p>Our tester's favourite is on sale this week for 39.99, down from 59.</p></div>"
    ),
    "whole-card-is-a-link": (
        "<a href='/reviews/bike'><div><h4>Folding bike review: 4.5 stars</h4>"
        "<span>Light enough to carry up three flights, sturdy enough for a daily commute.</span></div></a>"
    ),
}


@pytest.mark.parametrize("card", CARDS.values(), ids=CARDS.keys())
def test_a_card_inside_the_story_is_removed(card):
    article = extract(page(middle=card), explain=True)
    assert_story_whole(article.text)
    for words in ("ninety seconds", "on sale this week", "Folding bike", "daily commute"):
        assert words not in article.text
    assert [r.rule for r in article.removed] == ["card"]


def test_a_page_made_of_cards_is_a_listing_not_a_story_with_cards():
    cards = "".join(
        f"<div><h3><a href='/s/{i}'>Story number {i} about the county budget</a></h3>"
        f"<p>A short teaser for story {i}, one line long and no more than that.</p></div>"
        for i in range(8)
    )
    root = parse(f"<html><body><main>{cards}</main></body></html>")
    assert len(find_cards(root)) == 8
    removals = Removals()
    remove_furniture(root, removals)
    assert not [r for r in removals.items if r.rule == "card"]
    assert "Story number 7" in root.text_content()


def test_a_subheading_with_paragraphs_is_not_a_card():
    section = (
        "<h3>What the money bought</h3>"
        "<p>Besides the reading room, the bond paid for a maker space with two printers.</p>"
    )
    text = extract(page(middle=section)).text
    assert "What the money bought" in text and "maker space" in text


def _strip(words: tuple[str, ...]) -> str:
    return "<ul>" + "".join(f"<li><a href='/t/{w}'>{w}</a></li>" for w in words) + "</ul>"


def test_a_tag_strip_is_found_after_the_story_only():
    paragraphs = "".join(f"<p>{p}</p>" for p in STORY)
    content = fragment_fromstring(
        f"<div>{_strip(('North branch', 'East branch', 'Harbour'))}{paragraphs}"
        f"{_strip(('Libraries', 'County', 'Bonds', 'Education'))}</div>"
    )
    found = [(elem.text_content(), rule) for elem, rule in find_shapes(content)]
    assert found == [("LibrariesCountyBondsEducation", "tag-strip")]


def test_a_list_of_longer_links_after_the_story_is_not_a_tag_strip():
    sources = ("The county budget report for this year", "Minutes of the library board meeting", "Bond vote results")
    content = fragment_fromstring(f"<div>{''.join(f'<p>{p}</p>' for p in STORY)}{_strip(sources)}</div>")
    assert list(find_shapes(content)) == []


def test_media_player_caption_menu_is_removed():
    options = [
        "Closed Caption Settings", "Font", "Default", "Monospace Serif", "Proportional Serif",
        "Sans-Serif", "Casual", "Text Color", "White", "Black", "Yellow", "Opacity", "100%",
        "75% (transparency)", "50%", "Size", "A", "A", "A", "Reset", "Done",
    ]
    menu = "<div>" + "".join(f"<div><span>{o}</span></div>" for o in options) + "</div>"
    article = extract(page(middle=menu), explain=True)
    assert_story_whole(article.text)
    assert "Closed Caption Settings" not in article.text and "transparency" not in article.text
    assert any(r.rule == "player-chrome" for r in article.removed)


def test_a_short_ingredient_list_is_not_player_chrome():
    items = ["200 g flour", "2 eggs", "1 cup milk", "1 tsp salt", "Butter", "Sugar", "Lemon zest", "Vanilla"]
    recipe = "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
    text = extract(page(middle=recipe)).text
    assert all(i in text for i in items)
