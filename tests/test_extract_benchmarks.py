"""Quality floors on the shared evaluation sets, scored exactly as `make bench` scores them."""

from __future__ import annotations

import gzip
import json

import lxml.html

from bench.metrics import body_score, metadata_mean, metadata_score
from crawler.extract import ExtractionError, extract
from crawler.extract.text import to_text
from tests.support import shared_path

AEB_F1_FLOOR = 0.960
METADATA_FLOOR = 0.75


def _text(raw: bytes, url: str | None = None) -> tuple[str, dict]:
    try:
        article = extract(raw, url)
    except ExtractionError:
        return "", {}
    return article.text, article.to_dict()


def test_aeb_body_f1_above_floor():
    root = shared_path("eval", "aeb")
    truth = json.loads((root / "ground-truth.json").read_text("utf-8"))
    pairs = []
    for key in sorted(truth):
        raw = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        pairs.append((_text(raw, truth[key].get("url"))[0], truth[key]["articleBody"]))
    score = body_score(pairs)
    assert score.pages == len(truth) == 181
    assert score.f1 >= AEB_F1_FLOOR, f"AEB F1 {score.f1:.3f} (P {score.precision:.3f} R {score.recall:.3f})"


def test_readability_suite_metadata_above_floor():
    pages = shared_path("eval", "readability-suite", "pages")
    pairs, bodies = [], []
    for folder in sorted(p for p in pages.iterdir() if p.is_dir()):
        text, fields = _text((folder / "source.html").read_bytes())
        expected = json.loads((folder / "expected-metadata.json").read_text("utf-8"))
        pairs.append((expected, fields))
        reference = (folder / "expected.html").read_bytes()
        truth = to_text(lxml.html.document_fromstring(reference)) if reference.strip() else ""
        bodies.append((text, truth))
    scores = metadata_score(pairs)
    mean = metadata_mean(scores)
    detail = {name: f"{s.matched}/{s.expected}" for name, s in scores.items()}
    assert mean >= METADATA_FLOOR, f"metadata mean {mean:.3f}: {detail}"
    assert scores["title"].expected > 50 and scores["title"].share > 0.75, detail
    assert body_score(bodies).f1 > 0.7


def test_metric_matches_the_published_rules():
    perfect = body_score([("one two three four five", "one two three four five")])
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    half = body_score([("a b c d e f g h", "a b c d")])
    assert half.recall == 1.0 and 0 < half.precision < 1
    assert body_score([("", "a b c d e")]).f1 == 0.0
    short = body_score([("x y", "x y")])
    assert short.f1 == 1.0
