"""Spaces between CJK and Latin letters, digits and symbols, in the manner of pangu.

Only the gaps where a run of CJK touches a "word" (a run of non-CJK, non-space
characters) are considered; whether a gap gets a space depends on the character of the
word at that edge. Punctuation that closes (``,.:;!?~…``, closing brackets and quotes)
hugs the text before it; punctuation that opens hugs the text after it; operators stand
apart unless they are part of a token (``C++``, ``-5``, ``/usr/bin``, ``*.log``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .chars import CharClass, char_class, inside_any, is_cjk, url_spans

_CLOSING_PUNCTUATION = frozenset(",.:;!?~…")
_OPENING_BRACKETS = frozenset("([{")
_CLOSING_BRACKETS = frozenset(")]}")
_QUOTES = frozenset("\"'`")
_QUOTE_OR_ANGLE = re.compile("[\"'`<>]")
_LINE_END = re.compile("[\n\u2029]")
_OPERATORS = frozenset("+-*/=&|<>^\\%$")
_PREFIX_MARKS = frozenset("#@")
_CONTRACTION_ENDINGS = ("s", "t", "d", "m", "ll", "re", "ve")
# Elements that never hold text of their own; named in text, they are markup, not words.
_VOID_ELEMENTS = frozenset({"br", "hr", "img", "input", "wbr", "meta", "link"})
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^<>]*>")
# Each character's class as one letter, so that runs of a class are found by a regex
# over a string of classes instead of a Python step per character.
_CJK, _SPACE, _NEUTRAL, _WORD = "c", "s", "n", "w"
_CODE_OF: dict[CharClass, str] = {"cjk": _CJK, "space": _SPACE, "neutral": _NEUTRAL, "word": _WORD}
_WORD_RUN = re.compile(f"{_WORD}+")


class _ClassCodes(dict[int, str]):
    """``str.translate`` table: code point -> class letter, filled in as characters are met."""

    def __missing__(self, code: int) -> str:
        letter = _CODE_OF[char_class(chr(code))]
        if len(self) < _MAX_CODES:  # a text of every code point must not grow it unbounded
            self[code] = letter
        return letter


_MAX_CODES = 1 << 16
_CLASS_CODES = _ClassCodes()


@dataclass(frozen=True)
class _Roles:
    """Which quote and angle-bracket characters open or close a pair, by position."""

    opening: frozenset[int]
    closing: frozenset[int]
    separator_lines: frozenset[int]


def _is_latin_alnum(char: str) -> bool:
    return char.isalnum() and not is_cjk(char)


def _is_apostrophe(text: str, index: int, line_end: int) -> bool:
    before = text[index - 1] if index > 0 else " "
    after = text[index + 1] if index + 1 < line_end else " "
    if _is_latin_alnum(before) and _is_latin_alnum(after):
        return True
    if text[index] != "'" or not before.isalnum():
        return False
    tail = text[index + 1 : line_end]
    return any(
        tail.startswith(ending) and not tail[len(ending) : len(ending) + 1].isalnum()
        for ending in _CONTRACTION_ENDINGS
    )


def _is_path_like(word: str) -> bool:
    letters = [char for char in word if char.isalpha()]
    return "." in word or bool(letters and letters[0].islower())


def _markup_positions(text: str) -> set[int]:
    """Positions of HTML tags written in the text that are markup rather than prose.

    A tag counts as markup when it is a void element or its closing tag follows; a lone
    ``<div>`` in a sentence is a word about HTML and gets spaced like one.
    """
    tags = list(_TAG.finditer(text))
    first_opening: dict[str, int] = {}
    last_closing: dict[str, int] = {}
    for index, tag in enumerate(tags):
        name = tag.group(2).lower()
        if tag.group(1):
            last_closing[name] = index
        else:
            first_opening.setdefault(name, index)
    markup: set[int] = set()
    for index, tag in enumerate(tags):
        closing, name = tag.group(1), tag.group(2).lower()
        if name in _VOID_ELEMENTS:
            paired = True
        elif closing:
            paired = first_opening.get(name, index) < index
        else:
            paired = last_closing.get(name, index) > index
        if paired:
            markup.update(range(tag.start(), tag.end()))
    return markup


def _line_ranges(text: str) -> list[tuple[int, int]]:
    ranges = []
    start = 0
    for found in _LINE_END.finditer(text):
        ranges.append((start, found.start()))
        start = found.end()
    ranges.append((start, len(text)))
    return ranges


def _pair_roles(text: str, codes: str) -> _Roles:
    opening: set[int] = set()
    closing: set[int] = set()
    separator_lines: set[int] = set()
    for line_start, line_end in _line_ranges(text):
        pending_quote: dict[str, int] = {}
        open_angles: list[int] = []
        # Only the quotes and angle brackets matter here: visit them, not every character.
        for found in _QUOTE_OR_ANGLE.finditer(text, line_start, line_end):
            index, char = found.start(), found.group()
            if char in _QUOTES:
                if _is_apostrophe(text, index, line_end):
                    continue
                if char in pending_quote:
                    closing.add(index)
                    del pending_quote[char]
                else:
                    opening.add(index)
                    pending_quote[char] = index
            elif char == "<":
                open_angles.append(index)
            elif char == ">" and open_angles:
                opening.add(open_angles.pop())
                closing.add(index)
        if (
            text.count("/", line_start, line_end) >= 2
            and _separating_slashes(text, codes, line_start, line_end) >= 2
        ):
            # A line like 气象工作者/不苟同/关注天气 lists items with slashes: keep it tight.
            separator_lines.update(range(line_start, line_end))
    return _Roles(frozenset(opening), frozenset(closing), frozenset(separator_lines))


def _separating_slashes(text: str, codes: str, start: int, end: int) -> int:
    """Count slashes that separate items in a line (not those inside paths like /usr/bin)."""
    count = 0
    for run in _WORD_RUN.finditer(codes, start, end):
        word_start, index = run.span()
        word = text[word_start:index]
        touches_cjk = (word_start > start and codes[word_start - 1] == _CJK) or (
            index < end and codes[index] == _CJK
        )
        if touches_cjk and "/" in word and (word == "/" or not _is_path_like(word)):
            count += word.count("/")
    return count


def _is_operator_run(word: str) -> bool:
    return all(char in _OPERATORS or char in _CLOSING_PUNCTUATION for char in word)


def _leading_operator_is_token(word: str) -> bool:
    """Tell whether an operator at the start of ``word`` belongs to the token after it."""
    first, rest = word[0], word[1:]
    if first in "+-$" and rest[:1].isdigit():
        return True
    if first == "-" and len(rest) == 1 and rest.isalpha():
        return True
    if first == "/":
        return not rest[:1].isupper()
    return first == "*" and rest[:1] in (".", "*", "/")


def _trailing_operator_is_token(word: str) -> bool:
    """Tell whether an operator at the end of ``word`` belongs to the token before it."""
    last, head = word[-1], word[:-1]
    if last == "+":
        return True
    if last == "-":
        return len(head.rstrip("-")) == 1
    if last == "%":
        return head[-1:].isdigit()
    if last == "*":
        return head.endswith("/")
    if last == "/":
        return "/" in head
    return False


def _left_gaps(word: str, start: int, roles: _Roles, spaced_after: bool) -> list[int]:
    """Positions (relative to the word) that get a space when CJK precedes the word."""
    first = word[0]
    if spaced_after and all(char in _PREFIX_MARKS for char in word):
        return []
    if first == "_" or (first == "/" and start in roles.separator_lines):
        return []
    if first in _QUOTES:
        return [0] if start in roles.opening else []
    if first == "<":
        if start in roles.opening:
            return [] if word.startswith("</") else [0]
        return [0] if _is_operator_run(word) else [0, 1]
    if first == ">" and start in roles.closing:
        return []
    if first in _CLOSING_BRACKETS:
        return []
    if first in _CLOSING_PUNCTUATION:
        if first == ".":
            return [0] if "/" in word else []
        run = len(word) - len(word.lstrip("".join(_CLOSING_PUNCTUATION)))
        rest = word[run:]
        if not rest:
            return []
        if rest[0].isalnum():
            return [run]
        return [0] if rest[0] in _OPERATORS else []
    if first in _OPERATORS:
        if len(word) == 1 or _is_operator_run(word) or _leading_operator_is_token(word):
            return [0]
        run = len(word) - len(word.lstrip("".join(_OPERATORS)))
        return [0, run] if _is_latin_alnum(word[run]) else [0]
    return [0]


def _right_gaps(word: str, end: int, roles: _Roles, spaced_before: bool) -> list[int]:
    """Positions (relative to the word) that get a space when CJK follows the word."""
    size = len(word)
    if spaced_before and all(char in _CLOSING_PUNCTUATION for char in word):
        return []
    last = word[-1]
    position = end - 1
    if last == "_" or (last == "/" and position in roles.separator_lines):
        return []
    if last in _QUOTES:
        return [] if position in roles.opening else [size]
    if last in _OPENING_BRACKETS or (last == "<" and position in roles.opening):
        if size > 1 and word[-2].isalnum():
            return [size - 1]
        return []
    if last in _PREFIX_MARKS:
        return [size] if size > 1 and word[-2].isalnum() else []
    if last == ">" and position in roles.closing:
        return [size]
    if last in _OPERATORS:
        if size == 1 or _is_operator_run(word) or _trailing_operator_is_token(word):
            return [size]
        run = size - len(word.rstrip("".join(_OPERATORS)))
        return [size - run, size]
    return [size]


def spacing_insertions(text: str) -> list[int]:
    """Return the sorted positions in ``text`` where a space belongs between CJK and non-CJK."""
    codes = text.translate(_CLASS_CODES)
    markup = _markup_positions(text)
    if markup:
        marked = list(codes)
        for position in markup:
            marked[position] = _NEUTRAL
        codes = "".join(marked)
    roles = _pair_roles(text, codes)
    urls = url_spans(text)
    positions: set[int] = set()
    for run in _WORD_RUN.finditer(codes):
        start, index = run.span()
        word = text[start:index]
        before = codes[start - 1] if start > 0 else _SPACE
        after = codes[index] if index < len(text) else _SPACE
        if before == _CJK:
            gaps = _left_gaps(word, start, roles, spaced_after=after == _SPACE)
            positions.update(start + gap for gap in gaps)
        if after == _CJK:
            gaps = _right_gaps(word, index, roles, spaced_before=before == _SPACE)
            positions.update(start + gap for gap in gaps)
    return sorted(position for position in positions if not inside_any(position, urls))


def add_spacing(text: str) -> str:
    """Return ``text`` with a space wherever CJK meets Latin letters, digits or symbols."""
    pieces = []
    previous = 0
    for position in spacing_insertions(text):
        pieces.append(text[previous:position])
        previous = position
    pieces.append(text[previous:])
    return " ".join(pieces)
