"""Scoring shared by the extraction benchmark and its test.

The body metric is the article-extraction-benchmark's (../shared/eval/aeb/README.md): 4-token
shingle bags, per-page (tp, fp, fn) normalised to sum 1, precision and recall averaged over pages,
F1 of the averages. The metadata rules are the readability-suite README's.

The recall guard is ours: the share of gold paragraphs missing entirely from the output. F1 moves
little when one section of a long page vanishes among many kept ones, yet that is the loss a
reader notices first; counting whole paragraphs lost makes it visible on its own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
_BY = re.compile(r"^by\b\s*:?\s*")
_TITLE_SEPARATORS = (" | ", " - ", " — ", " : ")
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def shingles(text: str, size: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1))


def page_counts(predicted: str, truth: str) -> tuple[float, float, float]:
    """(tp, fp, fn) for one page, normalised to sum to 1."""
    pred, true = shingles(predicted), shingles(truth)
    tp = sum((pred & true).values())
    fp = sum(pred.values()) - tp
    fn = sum(true.values()) - tp
    total = tp + fp + fn
    if total == 0:
        return 0.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


@dataclass
class BodyScore:
    precision: float
    recall: float
    f1: float
    pages: int


def body_score(pairs: Iterable[tuple[str, str]]) -> BodyScore:
    """Score (predicted, truth) text pairs with the AEB metric."""
    precisions: list[float] = []
    recalls: list[float] = []
    for predicted, truth in pairs:
        tp, fp, fn = page_counts(predicted, truth)
        if fp == 0 and fn == 0:
            precisions.append(1.0)
            recalls.append(1.0)
            continue
        precisions.append(tp / (tp + fp) if tp + fp > 0 else 0.0)
        recalls.append(tp / (tp + fn) if tp + fn > 0 else 0.0)
    pages = len(precisions)
    p = sum(precisions) / pages if pages else 0.0
    r = sum(recalls) / pages if pages else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return BodyScore(p, r, f1, pages)


MISSING_BELOW = 0.2
"""A gold paragraph counts as missing when under this share of its shingles appear in the output."""


@dataclass
class RecallGuard:
    missing: int = 0
    paragraphs: int = 0

    @property
    def share(self) -> float:
        return self.missing / self.paragraphs if self.paragraphs else 0.0

    def add(self, other: RecallGuard) -> None:
        self.missing += other.missing
        self.paragraphs += other.paragraphs


def missing_paragraphs(predicted: str, paragraphs: Iterable[str]) -> list[str]:
    """The gold paragraphs of one page that the output lacks (see ``MISSING_BELOW``).

    A paragraph of fewer than four tokens is looked for as a run of tokens, since it has no
    4-token shingle of its own.
    """
    found = shingles(predicted)
    joined = f" {' '.join(_TOKEN.findall(predicted or ''))} "
    missing = []
    for paragraph in paragraphs:
        tokens = _TOKEN.findall(paragraph)
        if not tokens:
            continue
        if len(tokens) < 4:
            if f" {' '.join(tokens)} " not in joined:
                missing.append(paragraph)
            continue
        own = shingles(paragraph)
        present = sum(count for gram, count in own.items() if gram in found)
        if present < MISSING_BELOW * sum(own.values()):
            missing.append(paragraph)
    return missing


def recall_guard(pairs: Iterable[tuple[str, list[str]]]) -> RecallGuard:
    """Gold paragraphs missing entirely, pooled over pages: (predicted, gold paragraphs) pairs."""
    guard = RecallGuard()
    for predicted, paragraphs in pairs:
        counted = [p for p in paragraphs if _TOKEN.search(p)]
        guard.add(RecallGuard(len(missing_paragraphs(predicted, counted)), len(counted)))
    return guard


def fold(value: str | None) -> str:
    """Whitespace collapsed, case folded, a leading "By" dropped."""
    text = _SPACE.sub(" ", value or "").strip().casefold()
    return _BY.sub("", text).strip()


def title_matches(expected: str, actual: str | None) -> bool:
    exp, act = fold(expected), fold(actual)
    if not act:
        return False
    if exp == act:
        return True
    longer, shorter = (exp, act) if len(exp) > len(act) else (act, exp)
    for sep in _TITLE_SEPARATORS:
        if longer.startswith(shorter + sep.casefold()) or longer.endswith(sep.casefold() + shorter):
            return True
    return False


def byline_matches(expected: str, actual: str | None) -> bool:
    exp, act = fold(expected), fold(actual)
    return bool(act) and (exp == act or exp in act or act in exp)


def lang_matches(expected: str, actual: str | None) -> bool:
    primary = lambda v: fold(v).replace("_", "-").split("-")[0]  # noqa: E731
    return bool(fold(actual)) and primary(expected) == primary(actual)


def site_matches(expected: str, actual: str | None) -> bool:
    return bool(fold(actual)) and fold(expected) == fold(actual)


def _day(value: str | None) -> str | None:
    if not value:
        return None
    found = _DAY.search(value)
    if found:
        return found.group(0)
    try:
        from dateutil import parser

        return parser.parse(value, fuzzy=True).date().isoformat()
    except (ValueError, OverflowError, TypeError):
        return None


def published_matches(expected: str, actual: str | None) -> bool:
    day = _day(actual)
    return day is not None and day == _day(expected)


METADATA_FIELDS = {
    # our field: (expected-metadata.json key, rule)
    "title": ("title", title_matches),
    "byline": ("byline", byline_matches),
    "lang": ("lang", lang_matches),
    "site_name": ("siteName", site_matches),
    "published": ("publishedTime", published_matches),
}


@dataclass
class FieldScore:
    matched: int = 0
    expected: int = 0

    @property
    def share(self) -> float:
        return self.matched / self.expected if self.expected else 0.0


def metadata_score(pairs: Iterable[tuple[dict, dict]]) -> dict[str, FieldScore]:
    """Per field, how many pages that expect a value got a matching one.

    ``pairs`` are (expected-metadata.json, our fields by Article name) per page.
    """
    scores = {name: FieldScore() for name in METADATA_FIELDS}
    for expected, actual in pairs:
        for name, (key, rule) in METADATA_FIELDS.items():
            want = expected.get(key)
            if not want or not str(want).strip():
                continue
            scores[name].expected += 1
            if rule(str(want), actual.get(name)):
                scores[name].matched += 1
    return scores


def metadata_mean(scores: dict[str, FieldScore]) -> float:
    return sum(s.share for s in scores.values()) / len(scores)
