"""Word-level comparison of two versions of an article's clean text.

The one diff used everywhere: change tracking counts words with it when a capture is archived, the
API serves its operations as JSON and HTML, and ``declutter diff`` prints it in colour. Words are
compared, not characters, because a silent edit to a news story is a matter of words; whitespace
rides with the word before it, so the new text is rebuilt exactly from the operations (and the old
one up to spacing, which is never counted as a change).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

Op = Literal["equal", "insert", "delete"]

_TOKEN = re.compile(r"\s*\S+\s*|\s+")
_LEADING = re.compile(r"^\s*")

# Above this many differing words difflib's "junk" heuristic is turned back on: without it a
# long, wholly rewritten text costs quadratic time, with it very common words stop anchoring.
_EXACT_LIMIT = 20_000

_ANSI = {"insert": "\x1b[32m", "delete": "\x1b[31;9m", "reset": "\x1b[0m"}
_PLAIN = {"insert": ("{+", "+}"), "delete": ("[-", "-]")}


@dataclass
class Span:
    op: Op
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"op": self.op, "text": self.text}


@dataclass
class TextDiff:
    """The operations that turn text ``a`` into text ``b``, and how many words each side lost."""

    spans: list[Span] = field(default_factory=list)
    words_added: int = 0
    words_removed: int = 0

    @property
    def changed(self) -> bool:
        return any(span.op != "equal" for span in self.spans)

    def old_text(self) -> str:
        return "".join(s.text for s in self.spans if s.op != "insert")

    def new_text(self) -> str:
        return "".join(s.text for s in self.spans if s.op != "delete")

    def to_dict(self) -> dict[str, Any]:
        return {
            "words_added": self.words_added,
            "words_removed": self.words_removed,
            "ops": [span.to_dict() for span in self.spans],
        }

    def to_html(self) -> str:
        """A fragment with ``<ins>``/``<del>``; ``pre-wrap`` keeps the article's paragraphs."""
        parts = ['<div class="diff" style="white-space: pre-wrap">']
        for span in self.spans:
            text = html.escape(span.text, quote=False)
            if span.op == "insert":
                parts.append(f"<ins>{text}</ins>")
            elif span.op == "delete":
                parts.append(f"<del>{text}</del>")
            else:
                parts.append(text)
        parts.append("</div>")
        return "".join(parts)

    def to_terminal(self, *, color: bool = True) -> str:
        """Green insertions and struck-through red deletions, or wdiff's ``{+ +}``/``[- -]``."""
        parts = []
        for span in self.spans:
            if span.op == "equal":
                parts.append(span.text)
                continue
            core, trailing = _split_trailing_space(span.text)
            lead = _LEADING.match(core).group(0)
            core = core[len(lead):]
            if color:
                parts.append(f"{lead}{_ANSI[span.op]}{core}{_ANSI['reset']}{trailing}")
            else:
                start, end = _PLAIN[span.op]
                parts.append(f"{lead}{start}{core}{end}{trailing}")
        return "".join(parts)


def _split_trailing_space(text: str) -> tuple[str, str]:
    stripped = text.rstrip()
    return stripped, text[len(stripped):]


def tokenize(text: str) -> list[str]:
    """Words with the whitespace around them; joining the tokens gives back ``text`` exactly."""
    return _TOKEN.findall(text)


def _words(tokens: list[str]) -> list[str]:
    return [token.strip() for token in tokens]


def _count(tokens: list[str]) -> int:
    return sum(1 for token in tokens if token.strip())


def diff_text(a: str | None, b: str | None) -> TextDiff:
    """Compare two texts word by word; a change of spacing alone is not a change."""
    a_tokens, b_tokens = tokenize(a or ""), tokenize(b or "")
    a_words, b_words = _words(a_tokens), _words(b_tokens)

    prefix = 0
    limit = min(len(a_words), len(b_words))
    while prefix < limit and a_words[prefix] == b_words[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < limit - prefix
        and a_words[len(a_words) - 1 - suffix] == b_words[len(b_words) - 1 - suffix]
    ):
        suffix += 1

    a_mid = a_words[prefix : len(a_words) - suffix]
    b_mid = b_words[prefix : len(b_words) - suffix]
    autojunk = len(a_mid) + len(b_mid) > _EXACT_LIMIT
    matcher = SequenceMatcher(None, a_mid, b_mid, autojunk=autojunk)

    result = TextDiff()

    def emit(op: Op, tokens: list[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if op == "delete" and not text[0].isspace():
            before = next((s.text for s in reversed(result.spans) if s.op != "insert"), "")
            if before and not before[-1].isspace():
                text = " " + text
        if result.spans and result.spans[-1].op == op:
            result.spans[-1].text += text
        else:
            result.spans.append(Span(op, text))
        if op == "insert":
            result.words_added += _count(tokens)
        elif op == "delete":
            result.words_removed += _count(tokens)

    emit("equal", b_tokens[:prefix])
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            emit("equal", b_tokens[prefix + j1 : prefix + j2])
            continue
        emit("delete", a_tokens[prefix + i1 : prefix + i2])
        emit("insert", b_tokens[prefix + j1 : prefix + j2])
    emit("equal", b_tokens[len(b_tokens) - suffix :])
    return result


def count_changes(a: str | None, b: str | None) -> tuple[int, int]:
    """(words added, words removed) going from ``a`` to ``b``: what a change record keeps."""
    result = diff_text(a, b)
    return result.words_added, result.words_removed


@dataclass
class CaptureDiff:
    """How the clean article changed from capture ``before`` to capture ``after``."""

    before: Any
    after: Any
    text: TextDiff

    @property
    def title_changed(self) -> bool:
        return (self.before.title or "") != (self.after.title or "")

    def to_dict(self) -> dict[str, Any]:
        def side(row: Any) -> dict[str, Any]:
            data = row.to_dict()
            return {k: data[k] for k in ("id", "url", "captured_at", "title", "text_digest")}

        return {
            "a": side(self.before),
            "b": side(self.after),
            "title_changed": self.title_changed,
            "changed": self.text.changed or self.title_changed,
            **self.text.to_dict(),
        }


def diff_captures(catalogue: Any, a: str, b: str) -> CaptureDiff:
    """Compare the clean text of two catalogued captures (as indexed for search, no object reads).

    Raises the catalogue's ``CaptureNotFound`` for an unknown id.
    """
    before, after = catalogue.require_capture(a), catalogue.require_capture(b)
    old = catalogue.capture_text(a)
    new = catalogue.capture_text(b)
    return CaptureDiff(before, after, diff_text(old[1] if old else "", new[1] if new else ""))
