"""Snippets: the passage of a post around the searched words, with the matches marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import regex
from markupsafe import Markup, escape

from blog.search.tokens import BIGRAM_SCRIPTS, Term, normalize

SNIPPET_CHARS = 120
SNIPPET_LEAD_CHARS = 30
MAX_SNIPPET_SPANS = 300
#: Snippets come from the start of long posts: scanning further costs more than it shows.
SNIPPET_SCAN_CHARS = 5_000


_CLAUSE_END = regex.compile(r"(?<=[。！？；!?;.])\s*|\s+")


def _clauses(text: str) -> list[tuple[int, str]]:
    """Split ``text`` into short pieces with their offsets; no piece contains a newline."""
    pieces = []
    start = 0
    for match in _CLAUSE_END.finditer(text):
        if match.end() > start and match.start() > start:
            pieces.append((start, text[start : match.end()]))
            start = match.end()
    if start < len(text):
        pieces.append((start, text[start:]))
    return pieces


_WORD_TAIL = rf"[[\p{{L}}\p{{N}}]--[{BIGRAM_SCRIPTS}]]*"


def _pattern(term: Term) -> Any:
    """Regex for ``term`` in text; a prefix word is marked up to its end."""
    source = regex.escape(term.surface) + (_WORD_TAIL if term.prefix and not term.is_cjk else "")
    return regex.compile(source, regex.IGNORECASE | regex.V1)


def _match_spans(
    text: str, terms: Sequence[Term], raw_terms: Sequence[Term]
) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, term)`` of query matches in the original ``text``.

    Matching happens on the normalised text. Clauses whose length normalisation kept map
    position for position; in a clause it changed (a vocabulary change such as 記憶體 ->
    内存) the raw query words are looked for instead.
    """
    clauses = _clauses(text)
    normalized = normalize("\n".join(piece for _start, piece in clauses)).split("\n")
    if len(normalized) != len(clauses):
        normalized = [piece for _start, piece in clauses]
    pieces = []
    misaligned = []
    for (offset, piece), normal in zip(clauses, normalized, strict=True):
        if len(normal) == len(piece):
            pieces.append(normal)
        else:
            pieces.append(" " * len(piece))
            misaligned.append((offset, piece))
    haystack = "".join(pieces)
    spans = [
        (*match.span(), term.surface)
        for term in terms
        for match in _pattern(term).finditer(haystack)
    ]
    for term in raw_terms if misaligned else ():
        pattern = _pattern(term)
        for offset, piece in misaligned:
            spans += [
                (offset + m.start(), offset + m.end(), term.surface)
                for m in pattern.finditer(piece)
            ]
    spans.sort()
    return spans[:MAX_SNIPPET_SPANS]


def snippet(text: str, terms: Sequence[Term], raw_terms: Sequence[Term] = ()) -> Markup:
    """An escaped extract of ``text`` around the densest group of matches, marked up.

    ``text`` is plain text (never HTML), so a ``<mark>`` can never land inside math or
    code markup; everything else is escaped.
    """
    text = text[:SNIPPET_SCAN_CHARS]
    spans = _match_spans(text, terms, raw_terms)
    if not spans:
        extract = text[:SNIPPET_CHARS]
        return escape(extract) + (Markup("…") if len(text) > SNIPPET_CHARS else Markup(""))
    best_start, best_score = spans[0][0], 0
    for first, _end, _term in spans:
        covered = {
            term for start, end, term in spans if first <= start and end <= first + SNIPPET_CHARS
        }
        if len(covered) > best_score:
            best_start, best_score = first, len(covered)
    window_start = max(0, best_start - SNIPPET_LEAD_CHARS)
    window_end = min(len(text), window_start + SNIPPET_CHARS)
    parts: list[str] = [Markup("…")] if window_start > 0 else []
    cursor = window_start
    for start, end, _term in spans:
        if start < cursor or end > window_end:
            continue
        parts.append(escape(text[cursor:start]))
        parts.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        cursor = end
    parts.append(escape(text[cursor:window_end]))
    if window_end < len(text):
        parts.append(Markup("…"))
    return Markup("").join(parts)
