"""Count what a post asks of its reader: characters, words, code, formulas, minutes."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from blog_plugins.excerpt.config import Config
from blog_plugins.excerpt.structure import Kind, Segment
from blog_plugins.excerpt.units import CJK_RUN, URL, URL_MARKERS, WORD


def reading_stats(segments: Iterable[Segment], config: Config) -> dict[str, Any]:
    """Return word counts and reading time of a body read by :func:`read_body`.

    CJK characters are counted one by one and Latin words by word boundaries, in prose,
    headings, tables and inline code; code blocks (and their lines) and formulas are counted
    apart. Reading time adds the prose at separate CJK and English rates to a fixed time per
    code block and per display formula, rounded up, at least one minute.
    """
    code_blocks = code_lines = formulas = display_formulas = 0
    prose: list[str] = []
    for segment in segments:
        # Compared by identity: an Enum member's hash is computed in Python, and a post
        # has thousands of segments.
        kind = segment.kind
        if kind is Kind.TEXT or kind is Kind.LITERAL:
            prose.append(segment.text)
        elif kind is Kind.CODE_BLOCK:
            code_blocks += 1
            code_lines += len(segment.text.strip("\n").splitlines())
        elif kind is Kind.INLINE_MATH or kind is Kind.DISPLAY_MATH or kind is Kind.MATH_ERROR:
            formulas += 1
            display_formulas += kind is Kind.DISPLAY_MATH
    # Counted in one pass over all the prose: no character, word or URL contains a line
    # break, so none can run across the line breaks that keep the segments apart.
    text = "\n".join(prose)
    cjk_chars = sum(map(len, CJK_RUN.findall(text)))
    urls = 0
    if any(marker in text for marker in URL_MARKERS):  # the URL scan is slow; most posts have none
        urls = len(URL.findall(text))
        # A URL is read as one word, not as the dozen its dots and slashes separate.
        text = URL.sub(" ", text)
    latin_words = urls + len(WORD.findall(text))
    minutes = (
        cjk_chars / config.cjk_chars_per_minute
        + latin_words / config.latin_words_per_minute
        + code_blocks * config.seconds_per_code_block / 60
        + display_formulas * config.seconds_per_display_formula / 60
    )
    return {
        "cjk_chars": cjk_chars,
        "latin_words": latin_words,
        "code_blocks": code_blocks,
        "code_lines": code_lines,
        "formulas": formulas,
        "display_formulas": display_formulas,
        "reading_minutes": max(1, math.ceil(minutes)),
    }
