"""The search box's language: ``words "exact phrases" -excluded``, written for FTS5 or tsquery.

Parsed once into words, phrases and exclusions so both engines get the same meaning; snippets
come back with private-use marks around matches, escaped here before the marks become ``<mark>``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from crawler.catalogue.errors import BadQuery

# Private-use characters: they cannot occur in captured text, so they survive escaping unambiguously.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"

_QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class ParsedQuery:
    """A user query: ``words "exact phrases" -excluded``."""

    words: list[str]
    phrases: list[str]
    excluded: list[str]

    @classmethod
    def parse(cls, text: str) -> ParsedQuery:
        words: list[str] = []
        phrases: list[str] = []
        excluded: list[str] = []
        for neg_q, quoted, neg, bare in _QUERY_TOKEN.findall(text or ""):
            if quoted or neg_q:
                target = excluded if neg_q else phrases
                if _WORD.search(quoted):
                    target.append(" ".join(_WORD.findall(quoted)))
            else:
                terms = _WORD.findall(bare)
                if neg and terms:
                    excluded.append(" ".join(terms))
                elif terms and bare.upper() not in {"AND", "OR", "NOT"}:
                    words.extend(terms)
        if not words and not phrases:
            raise BadQuery("the search query has no words to look for; type one or more words")
        return cls(words, phrases, excluded)

    def fts5(self) -> str:
        quote = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731
        expr = " AND ".join([quote(w) for w in self.words] + [quote(p) for p in self.phrases])
        for term in self.excluded:
            expr = f"{expr} NOT {quote(term)}"
        return expr

    def fts5_phrase(self) -> str:
        return '"' + " ".join(self.words + self.phrases).replace('"', '""') + '"'

    def websearch(self) -> str:
        parts = list(self.words) + [f'"{p}"' for p in self.phrases]
        parts += [f'-"{t}"' if " " in t else f"-{t}" for t in self.excluded]
        return " ".join(parts)

    def phrase_text(self) -> str:
        return " ".join(self.words + self.phrases)


def snippet_html(raw: str | None) -> str:
    """A snippet from the engine as safe HTML: the text escaped, then the marks made ``<mark>``."""
    escaped = html.escape(raw or "", quote=False)
    return escaped.replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")
