"""Character classes that every typography rule agrees on, and where bare URLs lie in text."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Literal

CharClass = Literal["cjk", "space", "neutral", "word"]

# Scripts set without spaces between words: Han (with its radicals, compatibility forms
# and extensions), kana, bopomofo and enclosed CJK. Bopomofo tone marks are spacing
# modifier letters in Unicode but belong to the syllable they follow.
_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x02C7, 0x02C7),
    (0x02C9, 0x02CB),
    (0x02D9, 0x02D9),
    (0x2E80, 0x2EFF),
    (0x2F00, 0x2FDF),
    (0x3005, 0x3007),
    (0x3040, 0x309F),
    (0x30A0, 0x30FA),
    (0x30FC, 0x30FF),
    (0x3100, 0x312F),
    (0x31A0, 0x31BF),
    (0x31F0, 0x31FF),
    (0x3200, 0x32FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
    (0x30000, 0x3134F),
)

# Pictographs sit in a line like letters, so they are spaced from CJK like letters.
_PICTOGRAPH_RANGES: tuple[tuple[int, int], ...] = (
    (0x2700, 0x27BF),
    (0x1F000, 0x1FAFF),
)

# Full-width forms and CJK punctuation already carry their own spacing in CJK fonts;
# the middle dots of transliterated names (喬治·馬丁) must stay tight, too.
_NEUTRAL_RANGES: tuple[tuple[int, int], ...] = (
    (0x3000, 0x3004),
    (0x3008, 0x303F),
    (0xFF00, 0xFFEF),
    (0xFE30, 0xFE4F),
)

CJK_CHARACTER_CLASS = "".join(
    f"{chr(low)}-{chr(high)}" if low != high else chr(low) for low, high in _CJK_RANGES
)

_URL = re.compile(
    r"(?:[a-zA-Z][a-zA-Z0-9+.-]*://|www\.|mailto:)"
    r"[^\s\u3000-\u303f\uff00-\uffef\u2018-\u201f<>\"]+"
)


def _in_ranges(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


# Cached: a post uses a few thousand distinct characters, each looked up many times.
@cache
def is_cjk(char: str) -> bool:
    """Tell whether ``char`` belongs to a script written without spaces between words."""
    return _in_ranges(ord(char), _CJK_RANGES)


@cache
def char_class(char: str) -> CharClass:
    """Classify ``char`` for spacing: CJK, whitespace, neutral punctuation or a word character."""
    code = ord(char)
    if _in_ranges(code, _CJK_RANGES):
        return "cjk"
    if char.isspace():
        return "space"
    if code < 0x80 or char.isalnum() or char == "…" or _in_ranges(code, _PICTOGRAPH_RANGES):
        return "word"
    if _in_ranges(code, _NEUTRAL_RANGES):
        return "neutral"
    if unicodedata.category(char)[0] in "LNM":
        return "word"
    return "neutral"


#: Every URL holds one of these (the literal parts of ``_URL``). Most posts have no bare
#: URL, and finding these is far cheaper than trying ``_URL`` at every letter.
_URL_MARKERS = ("://", "www.", "mailto:")


def url_spans(text: str) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` spans of bare URLs in ``text``, without trailing punctuation."""
    spans: list[tuple[int, int]] = []
    if not any(marker in text for marker in _URL_MARKERS):
        return spans
    for match in _URL.finditer(text):
        end = match.end()
        while end > match.start() and text[end - 1] in ".,;:!?)]}'":
            end -= 1
        spans.append((match.start(), end))
    return spans


def inside_any(position: int, spans: list[tuple[int, int]]) -> bool:
    """Tell whether ``position`` falls strictly inside one of ``spans``."""
    return any(start < position < end for start, end in spans)
