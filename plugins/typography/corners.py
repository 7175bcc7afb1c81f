"""Corner quotes on pages, as a text transform in the core's one scan of the page.

In the variants that use them (Taiwan and Hong Kong), paired “” and ‘’ become 「」 and 『』.
The pairing reads only the quote marks of prose, in page order, and where paragraphs end
(the core numbers them): :func:`.punctuation.corner_quote_edits` is given a string of just
those marks, with a paragraph separator between paragraphs, and its edits are put back into
the runs. Character references (``&ldquo;``) are kept as written. Text the core leaves
alone, ruby readings, ``template``/``noscript`` content and text in another language than
Chinese (an English post's card) keep their marks.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence

from blog.api import LEFT_ALONE, Opening, Runs, Tag, TextTransform

from .punctuation import corner_quote_edits

PARAGRAPH_BREAK = "\u2029"
#: The context of text whose marks pair.
PROSE = "prose"
_MARKS = re.compile("[“”‘’]")
_OPENING_MARKS = re.compile("[“‘]")
#: Not part of the sentence around them: 汉(hàn)字 would pair across the reading.
_OUT_OF_PROSE = frozenset({"rt", "rp", "template", "noscript"})
_LANG = re.compile("lang|&", re.IGNORECASE)


def _not_chinese(lang: str | None) -> bool:
    """Whether ``lang`` names a language other than Chinese."""
    primary = (lang or "").strip().split("-")[0].lower()
    return bool(primary) and primary != "zh"


class CornerQuotes(TextTransform):
    """“” → 「」 and ‘’ → 『』 where both marks of a pair are in one paragraph of prose."""

    key = "corner-quotes"

    def root(self, page: str) -> Hashable:
        return PROSE

    def start_tag(self, tag: Tag, outer: Hashable) -> Opening | None:
        if tag.name.lower() in _OUT_OF_PROSE:
            return Opening(LEFT_ALONE)
        if _LANG.search(tag.source, len(tag.name) + 1) is None:
            return None
        if _not_chinese(tag.attributes.get("lang")):
            return Opening(LEFT_ALONE)
        return None

    def convert(self, runs: Runs) -> list[str] | None:
        texts = runs.texts
        contexts = runs.contexts
        if not any(
            contexts[index] is PROSE and _OPENING_MARKS.search(text)
            for index, text in enumerate(texts)
        ):
            return None  # a closing mark alone never changes
        marks: list[str] = []
        places: list[tuple[int, int]] = []  # (run, offset); (-1, -1) for a break
        paragraph = None
        for index, (text, context) in enumerate(zip(texts, contexts, strict=True)):
            if context is not PROSE:
                continue
            if runs.paragraphs[index] != paragraph:
                paragraph = runs.paragraphs[index]
                marks.append(PARAGRAPH_BREAK)
                places.append((-1, -1))
            for found in _MARKS.finditer(text):
                marks.append(found.group())
                places.append((index, found.start()))
        edits = corner_quote_edits("".join(marks), [run >= 0 for run, _ in places])
        if not edits:
            return None
        by_run: dict[int, list[tuple[int, str]]] = {}
        for start, _end, replacement in edits:
            run, offset = places[start]
            by_run.setdefault(run, []).append((offset, replacement))
        converted = list(texts)
        for run, changes in by_run.items():
            characters = list(converted[run])
            for offset, replacement in changes:
                characters[offset] = replacement
            converted[run] = "".join(characters)
        return converted

    def separable(self, runs: Runs, before: Sequence[int], after: Sequence[int]) -> bool:
        # A mark in the fragment's paragraph on the page could pair with one inside it.
        return not any(
            runs.contexts[index] is PROSE and _MARKS.search(runs.texts[index])
            for index in (*before, *after)
        )


CORNER_QUOTES = CornerQuotes()
