"""The recall guard: gold paragraphs lost whole, which F1 averages away on long pages."""

from __future__ import annotations

from bench.extraction import gold_paragraphs
from bench.metrics import missing_paragraphs, recall_guard

GOLD = [
    "The river path will grow by four kilometres next spring.",
    "Residents argued about the plan for more than a decade.",
    "Work starts soon.",
    "Maps",
]


def test_recall_guard_counts_whole_paragraphs_lost():
    kept_all = " ".join(GOLD)
    assert missing_paragraphs(kept_all, GOLD) == []
    dropped = "The river path will grow by four kilometres next spring. Maps"
    assert missing_paragraphs(dropped, GOLD) == GOLD[1:3]
    guard = recall_guard([(kept_all, GOLD), (dropped, GOLD)])
    assert (guard.missing, guard.paragraphs) == (2, 8)
    assert guard.share == 0.25


def test_a_paragraph_mostly_kept_is_not_missing():
    cut = "Residents argued about the plan for more than"
    assert GOLD[1] not in missing_paragraphs(cut, GOLD)


def test_gold_paragraphs_split_at_block_tags_only():
    html = "<div><h2>Steps</h2><p>First <b>mix</b> the flour.</p><ol><li>Bake</li><li>Cool</li></ol></div>"
    assert gold_paragraphs(html) == ["Steps", "First mix the flour.", "Bake", "Cool"]
