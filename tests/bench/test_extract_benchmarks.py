"""Quality floors on the shared evaluation sets, scored exactly as `make bench` scores them."""

from __future__ import annotations

from bench.extraction import load_aeb, load_suite, ours
from bench.metrics import body_score, metadata_mean, metadata_score
from tests.kit.paths import shared_path

AEB_F1_FLOOR = 0.960
METADATA_FLOOR = 0.75


def test_aeb_body_f1_above_floor():
    shared_path("eval", "aeb", "ground-truth.json")
    pages = load_aeb()
    score = body_score((ours(page)[0], page.truth) for page in pages)
    assert score.pages == len(pages) == 181
    assert score.f1 >= AEB_F1_FLOOR, f"AEB F1 {score.f1:.3f} (P {score.precision:.3f} R {score.recall:.3f})"


def test_readability_suite_metadata_above_floor():
    shared_path("eval", "readability-suite", "pages")
    pages = load_suite()
    results = [ours(page) for page in pages]
    scores = metadata_score(zip([p.metadata for p in pages], [r[1] for r in results], strict=True))
    mean = metadata_mean(scores)
    detail = {name: f"{s.matched}/{s.expected}" for name, s in scores.items()}
    assert mean >= METADATA_FLOOR, f"metadata mean {mean:.3f}: {detail}"
    assert scores["title"].expected > 50 and scores["title"].share > 0.75, detail
    body = body_score(zip([r[0] for r in results], [p.truth for p in pages], strict=True))
    assert body.f1 > 0.75, f"body F1 against Readability.js {body.f1:.3f}"


def test_metric_matches_the_published_rules():
    perfect = body_score([("one two three four five", "one two three four five")])
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    half = body_score([("a b c d e f g h", "a b c d")])
    assert half.recall == 1.0 and 0 < half.precision < 1
    assert body_score([("", "a b c d e")]).f1 == 0.0
    assert body_score([("x y", "x y")]).f1 == 1.0
