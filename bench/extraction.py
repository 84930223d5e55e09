"""Extraction quality and speed: our engine beside readability-lxml alone (and trafilatura).

One table per dev set (../shared/eval/aeb, ../shared/eval/readability-suite): body precision,
recall and F1, the recall guard (gold paragraphs missing entirely) and pages/s. The engines are
timed page by page in turn so that load on the machine hits them alike. readability-lxml is timed
twice: given bytes (its encoding sniffing dominates) and given decoded text (its fastest input);
speed ratios are against both, in the same run. The readability-suite also gets metadata rates.

    python -m bench.extraction [--quick] [--worse] [--explain PAGE]

``--quick`` scores every third AEB page and skips trafilatura and the CLI row (a check fast enough
for every change); ``--worse`` lists the pages where our recall trails readability-lxml's;
``--explain PAGE`` prints one page's missing gold paragraphs and the blocks our passes removed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import lxml.html
from readability import Document

from bench.metrics import (
    METADATA_FIELDS,
    BodyScore,
    RecallGuard,
    body_score,
    metadata_mean,
    metadata_score,
    missing_paragraphs,
    page_counts,
    recall_guard,
)
from crawler.extract import ExtractionError, extract
from crawler.extract.decode import decode_page
from tests.kit.paths import ROOT, SHARED

AEB = SHARED / "eval" / "aeb"
SUITE = SHARED / "eval" / "readability-suite"
RECALL_GAP = 0.02
"""``--worse`` lists pages whose recall is this much below readability-lxml's."""
_GOLD_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main ol p pre section table td th tr ul caption".split()
)


@dataclass
class Page:
    key: str
    url: str | None
    raw: bytes
    truth: str
    metadata: dict | None = None
    paragraphs: list[str] = field(default_factory=list)


def load_aeb(limit: int | None = None, step: int = 1) -> list[Page]:
    truth = json.loads((AEB / "ground-truth.json").read_text("utf-8"))
    pages = []
    for key in sorted(truth)[:limit:step]:
        raw = gzip.decompress((AEB / "html" / f"{key}.html.gz").read_bytes())
        body = truth[key]["articleBody"]
        paragraphs = [line.strip() for line in body.splitlines() if line.strip()]
        pages.append(Page(key, truth[key].get("url"), raw, body, paragraphs=paragraphs))
    return pages


def load_suite() -> list[Page]:
    pages = []
    for folder in sorted(p for p in (SUITE / "pages").iterdir() if p.is_dir()):
        expected = (folder / "expected.html").read_text("utf-8", errors="replace")
        metadata = json.loads((folder / "expected-metadata.json").read_text("utf-8"))
        pages.append(
            Page(
                folder.name,
                None,
                (folder / "source.html").read_bytes(),
                plain_text(expected),
                metadata,
                gold_paragraphs(expected),
            )
        )
    return pages


def gold_paragraphs(html: str) -> list[str]:
    """The block-level pieces of a gold HTML article, split neutrally at every block tag."""
    if not html.strip():
        return []
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for elem in root.iter():
        if isinstance(elem.tag, str) and elem.tag in _GOLD_BLOCKS:
            elem.text = "\n" + (elem.text or "")
            elem.tail = "\n" + (elem.tail or "")
    return [line.strip() for line in root.text_content().splitlines() if line.strip()]


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
class Engine:
    """One extractor as the bench runs it: page -> (text, metadata fields)."""

    name: str
    run: Callable[[Page], tuple[str, dict]]
    prepare: Callable[[Page], object] | None = None
    """Work done before the clock starts (readability given text gets the page decoded first)."""


@dataclass
class Run:
    name: str
    score: BodyScore
    seconds: float
    pages: int
    guard: RecallGuard = field(default_factory=RecallGuard)
    texts: list[str] = field(default_factory=list)
    metadata: list[dict] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def _readability_bytes(page: Page) -> tuple[str, dict]:
    return readability_text(readability_alone(page)), {}


def _readability_given(decoded: str, url: str | None) -> tuple[str, dict]:
    try:
        summary = Document(decoded, url=url).summary(html_partial=True)
    except Exception:
        summary = ""
    return readability_text(summary), {}


def _decoded(page: Page) -> str:
    try:
        return decode_page(page.raw)
    except ExtractionError:
        return page.raw.decode("utf-8", "replace")


OURS = Engine("declutter extract (in-process)", ours)
READABILITY_BYTES = Engine("readability-lxml 0.9 given bytes", _readability_bytes)
READABILITY_TEXT = Engine("readability-lxml 0.9 given decoded text", _readability_given, _decoded)
TRAFILATURA = Engine("trafilatura (reference)", trafilatura_run)


def run_engines(pages: list[Page], engines: list[Engine], interleave: int = 3) -> list[Run]:
    """Each engine over every page; the first ``interleave`` engines are timed page by page in a
    rotating order (so machine load is shared fairly), the rest one after another."""
    texts: dict[str, list[str]] = {e.name: [] for e in engines}
    metas: dict[str, list[dict]] = {e.name: [] for e in engines}
    spent: dict[str, float] = dict.fromkeys(texts, 0.0)
    timed_together, alone = engines[:interleave], engines[interleave:]
    for index, page in enumerate(pages):
        shift = index % len(timed_together)
        for engine in timed_together[shift:] + timed_together[:shift]:
            _time_one(engine, page, texts, metas, spent)
    for engine in alone:
        for page in pages:
            _time_one(engine, page, texts, metas, spent)
    truths = [p.truth for p in pages]
    runs = []
    for engine in engines:
        got = texts[engine.name]
        runs.append(
            Run(
                engine.name,
                body_score(zip(got, truths, strict=True)),
                spent[engine.name],
                len(pages),
                recall_guard(zip(got, [p.paragraphs for p in pages], strict=True)),
                got,
                metas[engine.name],
            )
        )
    return runs


def _time_one(engine: Engine, page: Page, texts: dict, metas: dict, spent: dict) -> None:
    if engine.prepare is not None:
        given = engine.prepare(page)
        started = time.perf_counter()
        text, fields = engine.run(given, page.url)
    else:
        started = time.perf_counter()
        text, fields = engine.run(page)
    spent[engine.name] += time.perf_counter() - started
    texts[engine.name].append(text)
    metas[engine.name].append(fields)


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
    guard = recall_guard(zip(texts, [p.paragraphs for p in pages], strict=True))
    return Run("declutter extract --format jsonl (CLI, 1 process)", score, seconds, len(pages), guard)


def print_table(title: str, runs: list[Run]) -> None:
    by_bytes = next(r for r in runs if r.name == READABILITY_BYTES.name)
    by_text = next(r for r in runs if r.name == READABILITY_TEXT.name)
    print(title)
    print(
        "| extractor | precision | recall | F1 | recall guard (paragraphs missing) | pages/s "
        "| speed vs readability-lxml given bytes | given text |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| {run.name} | {run.score.precision:.3f} | {run.score.recall:.3f} | {run.score.f1:.3f} "
            f"| {run.guard.share:.3f} ({run.guard.missing}/{run.guard.paragraphs}) | {run.rate:.1f} "
            f"| {run.rate / by_bytes.rate:.2f}x | {run.rate / by_text.rate:.2f}x |"
        )


def print_metadata(pages: list[Page], runs: list[Run]) -> None:
    header = " | ".join(METADATA_FIELDS)
    print(f"| extractor | {header} | metadata mean |")
    print("|---|" + "---|" * len(METADATA_FIELDS) + "---|")
    for run in runs:
        if run.name == READABILITY_TEXT.name:
            continue
        metas = run.metadata
        if run.name == READABILITY_BYTES.name:
            metas = [{"title": _short_title(p)} for p in pages]
        scores = metadata_score(zip([p.metadata for p in pages], metas, strict=True))
        cells = " | ".join(f"{s.matched}/{s.expected}" for s in scores.values())
        print(f"| {run.name} | {cells} | {metadata_mean(scores):.3f} |")


def _short_title(page: Page) -> str | None:
    """The one metadata field readability-lxml offers."""
    try:
        return Document(page.raw).short_title()
    except Exception:
        return None


def print_worse(pages: list[Page], runs: list[Run]) -> None:
    """Pages where our recall trails readability-lxml's: where to look for an over-eager pass."""
    ours_run, theirs = runs[0], next(r for r in runs if r.name == READABILITY_BYTES.name)
    rows = []
    for page, mine, other in zip(pages, ours_run.texts, theirs.texts, strict=True):
        tp, _, fn = page_counts(mine, page.truth)
        tp2, _, fn2 = page_counts(other, page.truth)
        ours_recall = tp / (tp + fn) if tp + fn else 0.0
        their_recall = tp2 / (tp2 + fn2) if tp2 + fn2 else 0.0
        if ours_recall < their_recall - RECALL_GAP:
            lost = len(missing_paragraphs(mine, page.paragraphs))
            rows.append((their_recall - ours_recall, page.key, ours_recall, their_recall, lost))
    print(f"pages where our recall trails readability-lxml's by more than {RECALL_GAP}: {len(rows)}")
    for gap, key, mine_r, their_r, lost in sorted(rows, reverse=True):
        print(f"  {key}: recall {mine_r:.3f} vs {their_r:.3f} (-{gap:.3f}), {lost} gold paragraphs missing")


def explain(key: str) -> int:
    """One page: our scores, the gold paragraphs we lost, and each block our passes removed."""
    pages = [p for p in load_aeb() + load_suite() if p.key == key]
    if not pages:
        print(f"no dev page named {key!r}: give an AEB key or a readability-suite folder name")
        return 2
    page = pages[0]
    try:
        article = extract(page.raw, page.url, explain=True)
    except ExtractionError as exc:
        print(f"{key}: {exc}")
        return 1
    score = body_score([(article.text, page.truth)])
    print(f"{key}: precision {score.precision:.3f} recall {score.recall:.3f} F1 {score.f1:.3f}")
    lost = missing_paragraphs(article.text, page.paragraphs)
    print(f"gold paragraphs missing: {len(lost)} of {len(page.paragraphs)}")
    for paragraph in lost:
        print(f"  - {paragraph[:160]}")
    print(f"blocks removed by our passes: {len(article.removed)}")
    for block in article.removed:
        where = block.path if block.before_block is None else f"before text block {block.before_block}"
        print(f"  {block.stage}/{block.rule} ({where}): {block.text}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench extraction")
    parser.add_argument("--quick", action="store_true", help="every third AEB page, no trafilatura/CLI")
    parser.add_argument("--worse", action="store_true", help="list pages where our recall trails")
    parser.add_argument("--explain", metavar="PAGE", help="one page's losses and removals")
    args = parser.parse_args([] if argv is None else argv)
    warnings.filterwarnings("ignore")
    if not AEB.exists() or not SUITE.exists():
        print(f"skipped: {AEB} or {SUITE} is absent (clone the project beside ../shared)")
        return 0
    if args.explain:
        return explain(args.explain)
    engines = [OURS, READABILITY_BYTES, READABILITY_TEXT]
    if not args.quick:
        engines.append(TRAFILATURA)
    aeb = load_aeb(step=3 if args.quick else 1)
    runs = run_engines(aeb, engines)
    cli = None if args.quick else cli_on_aeb(aeb)
    if cli is not None:
        runs.insert(1, cli)
    print_table(f"AEB: {len(aeb)} pages ({AEB})", runs)
    print(
        "(in-process rows are timed page by page in turn; the CLI row is timed on its own with "
        "process start-up included, so load from other work on the machine moves it more)"
    )
    if args.worse:
        print_worse(aeb, [r for r in runs if r is not cli])
    print()
    suite = load_suite()
    suite_runs = run_engines(suite, engines)
    print_table(f"readability-suite: {len(suite)} pages ({SUITE}; gold is Readability.js's output)", suite_runs)
    print()
    print_metadata(suite, suite_runs)
    if args.worse:
        print_worse(suite, suite_runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
