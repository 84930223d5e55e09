"""Every removal has a reason: ``Article.removed`` and ``declutter extract --format json``."""

from __future__ import annotations

import json

from crawler.cli import main as cli_main
from crawler.extract import extract
from crawler.extract.article import Article, Removed

STORY = (
    "The ferry between the two islands will run every hour from May, the harbour board said on "
    "Friday, after a winter in which crossings were cut to three a day."
)


def page() -> str:
    paragraphs = [f"<p>{STORY} Part {i}.</p>" for i in range(5)]
    return (
        "<html><head><title>Ferry</title></head><body>"
        "<div class='share-bar'><a href='/s'>Share this story on every network you use</a></div>"
        f"<article><h1>Ferry</h1>{''.join(paragraphs[:2])}"
        "<p>Read more: <a href='/x'>Harbour board elects a new chair after long vote</a></p>"
        f"{''.join(paragraphs[2:])}"
        "<p>Copyright 2024 The Harbour Times</p>"
        "</article></body></html>"
    )


def test_removed_lists_each_block_with_its_rule_stage_and_place():
    article = extract(page(), explain=True)
    by_rule = {(r.stage, r.rule): r for r in article.removed}
    assert ("prune", "furniture-name") in by_rule
    assert by_rule[("prune", "furniture-name")].text.startswith("Share this story")
    assert "/body" in by_rule[("prune", "furniture-name")].path
    lead = by_rule[("cleanup", "link-lead")]
    blocks = article.text.split("\n\n")
    # The link stood between the two halves of the story: before the first block of the second.
    assert lead.before_block == 2 and blocks[2] == f"{STORY} Part 2."
    assert lead.text == "Read more: Harbour board elects a new chair after long vote"
    assert by_rule[("cleanup", "wire-credit")].before_block == len(blocks)
    assert "Read more" not in article.text and "<!--" not in article.html


def test_explaining_changes_nothing_else_and_is_off_by_default():
    plain, explained = extract(page()), extract(page(), explain=True)
    assert plain.removed == [] and explained.removed
    assert (plain.text, plain.html) == (explained.text, explained.html)


def test_removed_round_trips_through_json():
    article = extract(page(), explain=True)
    again = Article.from_dict(json.loads(json.dumps(article.to_dict())))
    assert again.removed == article.removed and isinstance(again.removed[0], Removed)


def test_long_removed_text_is_cut(tmp_path):
    appeal = "Please support our newsroom with a donation today " * 20
    html = page().replace("<article>", f"<div class='donate'>{appeal}</div><article>")
    removed = [r for r in extract(html, explain=True).removed if r.rule == "furniture-name"]
    assert any(len(r.text) == 160 and r.text.endswith("…") for r in removed)


def test_cli_json_includes_removed(tmp_path, capsys):
    source = tmp_path / "ferry.html"
    source.write_text(page(), "utf-8")
    assert cli_main(["extract", "--format", "json", str(source)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"rule", "text", "stage", "path", "before_block"} <= set(data["removed"][0])
    assert any(item["rule"] == "link-lead" for item in data["removed"])
