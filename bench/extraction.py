"""Extraction quality and speed: our engine beside readability-lxml alone (and trafilatura).

AEB (../shared/eval/aeb): body precision/recall/F1 and pages/s, the two engines timed page by page
in turn so that load on the machine hits both alike. readability-suite: body F1 against
Readability.js and the metadata match rates. Ratios are against readability-lxml in the same run.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import lxml.html
from readability import Document

from bench.metrics import (
    METADATA_FIELDS,
    BodyScore,
    body_score,
    metadata_mean,
    metadata_score,
)
from crawler.extract import ExtractionError, extract
from tests.support import ROOT, SHARED

AEB = SHARED / "eval" / "aeb"
SUITE = SHARED / "eval" / "readability-suite"


@dataclass
class Page:
    key: str
    url: str | None
    raw: bytes
    truth: str
    metadata: dict | None = None


def load_aeb(limit: int | None = None) -> list[Page]:
    truth = json.loads((AEB / "ground-truth.json").read_text("utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        raw = gzip.decompress((AEB / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, truth[key].get("url"), raw, truth[key]["articleBody"]))
    return pages


def load_suite() -> list[Page]:
    pages = []
    for folder in sorted(p for p in (SUITE / "pages").iterdir() if p.is_dir()):
        expected = (folder / "expected.html").read_text("utf-8", errors="replace")
        truth = plain_text(expected)
        metadata = json.loads((folder / "expected-metadata.json").read_text("utf-8"))
        pages.append(Page(folder.name, None, (folder / "source.html").read_bytes(), truth, metadata))
    return pages


def ours(page: Page) -> tuple[str, dict]:
    try:
        article = extract(page.raw, page.url)
    except ExtractionError:
        return "", {}
    return article.text, article.to_dict()


def readability_alone(page: Page) -> str:
    try:
        summary = Document(page.raw, url=page.url).summary(html_partial=True)
    except Exception:
        return ""
    return summary


def plain_text(html: str) -> str:
    """Every text node of some HTML, each apart: the neutral reading (none of our rules)."""
    if not html.strip():
        return ""
    try:
        return "\n".join(lxml.html.fragment_fromstring(html, create_parent="div").itertext())
    except (ValueError, AssertionError, lxml.etree.ParserError):
        return "\n".join(lxml.html.document_fromstring(html).itertext())


def readability_text(summary: str) -> str:
    """readability's own output as text (no cleanup of ours applied)."""
    return plain_text(summary)


def trafilatura_run(page: Page) -> tuple[str, dict]:
    import trafilatura

    result = trafilatura.bare_extraction(page.raw, url=page.url, with_metadata=True)
    if result is None:
        return "", {}
    data = result.as_dict() if hasattr(result, "as_dict") else dict(result)
    fields = {
        "title": data.get("title"),
        "byline": data.get("author"),
        "lang": data.get("language"),
        "site_name": data.get("sitename"),
        "published": data.get("date"),
    }
    return data.get("text") or "", fields


@dataclass
class Run:
    name: str
    score: BodyScore
    seconds: float
    pages: int

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def _timed(fn: Callable, page: Page) -> tuple[object, float]:
    started = time.perf_counter()
    result = fn(page)
    return result, time.perf_counter() - started


def compare_on_aeb(pages: list[Page], with_trafilatura: bool = True) -> list[Run]:
    """Ours and readability-lxml alone, timed on each page in turn."""
    our_texts, rl_summaries = [], []
    our_time = rl_time = 0.0
    for index, page in enumerate(pages):
        order = (ours, readability_alone) if index % 2 == 0 else (readability_alone, ours)
        for fn in order:
            result, seconds = _timed(fn, page)
            if fn is ours:
                our_texts.append(result[0])
                our_time += seconds
            else:
                rl_summaries.append(result)
                rl_time += seconds
    truths = [p.truth for p in pages]
    runs = [
        Run("declutter extract (in-process)", body_score(zip(our_texts, truths, strict=True)), our_time, len(pages)),
        Run(
            "readability-lxml 0.9 alone",
            body_score(zip([readability_text(s) for s in rl_summaries], truths, strict=True)),
            rl_time,
            len(pages),
        ),
    ]
    if with_trafilatura:
        texts, seconds = [], 0.0
        for page in pages:
            (text, _), spent = _timed(trafilatura_run, page)
            texts.append(text)
            seconds += spent
        runs.append(Run("trafilatura (reference)", body_score(zip(texts, truths, strict=True)), seconds, len(pages)))
    return runs


def cli_on_aeb(pages: list[Page]) -> Run | None:
    """`declutter extract --format jsonl` over every page in one process, start-up included."""
    command = ROOT / ".venv" / "bin" / "declutter"
    if not command.exists():
        return None
    files = [str(AEB / "html" / f"{p.key}.html.gz") for p in pages]
    started = time.perf_counter()
    result = subprocess.run(
        [str(command), "extract", "--format", "jsonl", *files], capture_output=True, timeout=900
    )
    seconds = time.perf_counter() - started
    lines = result.stdout.decode("utf-8").splitlines()
    if len(lines) != len(pages):
        print(f"declutter extract printed {len(lines)} lines for {len(pages)} pages", file=sys.stderr)
        return None
    texts = [json.loads(line).get("text", "") for line in lines]
    score = body_score(zip(texts, [p.truth for p in pages], strict=True))
    return Run("declutter extract --format jsonl (CLI, 1 process)", score, seconds, len(pages))


def print_aeb(runs: list[Run]) -> None:
    baseline = next(r for r in runs if r.name.startswith("readability"))
    print(f"AEB: {runs[0].pages} pages ({AEB})")
    print("| extractor | precision | recall | F1 | pages/s | speed vs readability-lxml |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| {run.name} | {run.score.precision:.3f} | {run.score.recall:.3f} | {run.score.f1:.3f} "
            f"| {run.rate:.1f} | {run.rate / baseline.rate:.2f}x |"
        )
    print(
        "(in-process rows are timed page by page in turn; the CLI row is timed on its own with "
        "process start-up included, so load from other work on the machine moves it more)"
    )


def readability_with_title(page: Page) -> tuple[str, dict]:
    """readability-lxml's text and the one metadata field it offers, its title."""
    try:
        title = Document(page.raw).short_title()
    except Exception:
        title = None
    return readability_text(readability_alone(page)), {"title": title}


def suite_table(pages: list[Page]) -> None:
    rows = []
    for name, fn in (
        ("declutter extract", ours),
        ("readability-lxml 0.9 alone", readability_with_title),
        ("trafilatura", trafilatura_run),
    ):
        texts, metas = [], []
        for page in pages:
            text, fields = fn(page)
            texts.append(text)
            metas.append(fields)
        body = body_score(zip(texts, [p.truth for p in pages], strict=True))
        scores = metadata_score(zip([p.metadata for p in pages], metas, strict=True))
        rows.append((name, body, scores))
    print(f"readability-suite: {len(pages)} pages ({SUITE})")
    header = " | ".join(METADATA_FIELDS)
    print(f"| extractor | body F1 | {header} | metadata mean |")
    print("|---|---|" + "---|" * len(METADATA_FIELDS) + "---|")
    for name, body, scores in rows:
        cells = " | ".join(f"{s.matched}/{s.expected}" for s in scores.values())
        print(f"| {name} | {body.f1:.3f} | {cells} | {metadata_mean(scores):.3f} |")


def main() -> None:
    warnings.filterwarnings("ignore")
    if not AEB.exists() or not SUITE.exists():
        print(f"skipped: {AEB} or {SUITE} is absent (clone the project beside ../shared)")
        return
    pages = load_aeb()
    runs = compare_on_aeb(pages)
    cli = cli_on_aeb(pages)
    if cli is not None:
        runs.insert(1, cli)
    print_aeb(runs)
    print()
    suite_table(load_suite())


if __name__ == "__main__":
    main()
