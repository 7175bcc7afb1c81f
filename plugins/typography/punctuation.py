"""Punctuation rules: full-width marks between CJK characters and the form of quotation marks.

Each rule looks at the plain text of a run of prose and returns edits
``(start, end, replacement)``; the HTML walker applies them to the text nodes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from .chars import inside_any, is_cjk, url_spans

Edit = tuple[int, int, str]

FULL_WIDTH = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）"}
CORNER_QUOTES = {"“": "「", "”": "」", "‘": "『", "’": "』"}
_PARAGRAPH_BREAK = "\u2029"

# The rules below visit only the characters they act on, found by these patterns, rather
# than every character of the text in Python: a long post's text is tens of thousands of
# characters, and the few marks in it are what each rule is about.
_PARENTHESIS_OR_BREAK = re.compile("[()\n\u2029]")
_CORNER_QUOTE_OR_BREAK = re.compile("[“”‘’\u2029]")


@functools.cache
def _one_of(characters: str) -> re.Pattern[str]:
    """A pattern matching any one of ``characters`` (a rule's few marks)."""
    return re.compile("[" + "".join(re.escape(c) for c in sorted(set(characters))) + "]")


def full_width_edits(text: str, marks: str) -> list[Edit]:
    """Turn the half-width ``marks`` that stand between CJK characters into full-width ones.

    A mark followed by spaces before the next CJK character absorbs those spaces, since
    full-width punctuation carries its own. Parentheses convert in pairs, when they
    enclose CJK text and touch CJK on the outside.
    """
    urls = url_spans(text)
    edits: list[Edit] = []
    convertible = "".join(c for c in marks if c in FULL_WIDTH and c not in "()")
    for found in _one_of(convertible).finditer(text) if convertible else ():
        index, char = found.start(), found.group()
        if index == 0 or not is_cjk(text[index - 1]) or inside_any(index, urls):
            continue
        end = index + 1
        while end < len(text) and text[end] == " ":
            end += 1
        if end < len(text) and is_cjk(text[end]):
            edits.append((index, end, FULL_WIDTH[char]))
    if "(" in marks and ")" in marks:
        edits.extend(_parenthesis_edits(text))
    return sorted(edits)


def _parenthesis_edits(text: str) -> list[Edit]:
    edits: list[Edit] = []
    opened: int | None = None
    for found in _PARENTHESIS_OR_BREAK.finditer(text):
        index, char = found.start(), found.group()
        if char == "(":
            opened = index
        elif char in "\n" + _PARAGRAPH_BREAK:
            opened = None
        elif char == ")" and opened is not None:
            inner = text[opened + 1 : index]
            outside_cjk = (opened > 0 and is_cjk(text[opened - 1])) or (
                index + 1 < len(text) and is_cjk(text[index + 1])
            )
            if inner and is_cjk(inner[0]) and is_cjk(inner[-1]) and outside_cjk:
                edits.append((opened, opened + 1, FULL_WIDTH["("]))
                edits.append((index, index + 1, FULL_WIDTH[")"]))
            opened = None
    return edits


def _is_apostrophe(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else " "
    after = text[index + 1] if index + 1 < len(text) else " "
    return before.isalnum() and not is_cjk(before) and after.isalnum()


def curly_quote_edits(text: str, editable: Sequence[bool]) -> list[Edit]:
    """Turn pairs of straight quotes around Chinese text into curly ones (“…” and ‘…’).

    Quotes around text without CJK are left straight: they are English or code-like, and
    so are values written as ``key="值"``.
    Pairs are looked for within one paragraph; apostrophes (``it's``) are not quotes.
    """
    edits: list[Edit] = []
    for straight, opening, closing in (('"', "“", "”"), ("'", "‘", "’")):
        pending: int | None = None
        for found in _one_of(straight + _PARAGRAPH_BREAK).finditer(text):
            index, char = found.start(), found.group()
            if char == _PARAGRAPH_BREAK:
                pending = None
            if char != straight or not editable[index] or _is_apostrophe(text, index):
                continue
            if pending is None:
                pending = index
                continue
            attribute_like = pending > 0 and text[pending - 1] == "="
            if not attribute_like and any(is_cjk(inner) for inner in text[pending + 1 : index]):
                edits.append((pending, pending + 1, opening))
                edits.append((index, index + 1, closing))
            pending = None
    return sorted(edits)


def corner_quote_edits(text: str, editable: Sequence[bool]) -> list[Edit]:
    """Turn paired curly quotes into corner brackets: “” → 「」 and ‘’ → 『』.

    A closing mark converts only with its opening one, so apostrophes written as ``’``
    (``it’s``) and stray marks stay as they are.
    """
    edits: list[Edit] = []
    # One stack per kind: a stray ‘ inside “…” must not keep the ” from closing its pair.
    open_marks: dict[str, list[int]] = {"“": [], "‘": []}
    for found in _CORNER_QUOTE_OR_BREAK.finditer(text):
        index, char = found.start(), found.group()
        if char == _PARAGRAPH_BREAK:
            for stack in open_marks.values():
                stack.clear()
        if char not in CORNER_QUOTES or not editable[index]:
            continue
        if char in open_marks:
            open_marks[char].append(index)
            continue
        expected_opening = "“" if char == "”" else "‘"
        if open_marks[expected_opening]:
            opening_index = open_marks[expected_opening].pop()
            edits.append((opening_index, opening_index + 1, CORNER_QUOTES[expected_opening]))
            edits.append((index, index + 1, CORNER_QUOTES[char]))
    return sorted(edits)


#: Full-width marks that close a clause or a bracket: no white space belongs before them,
#: and a space there lets the mark wrap to the start of a line on its own.
CLOSING_FULL_WIDTH = frozenset("，。、；：！？）」』》〉】〕")
_SPACES = frozenset(" \t\n\r\u3000\u00a0")
# A whole run of white space (the match starts where the run does: a shorter run inside
# it ends at the same character) followed by a closing mark.
_SPACES_BEFORE_CLOSING = re.compile(
    "["
    + re.escape("".join(sorted(_SPACES)))
    + "]+(?=["
    + "".join(sorted(CLOSING_FULL_WIDTH))
    + "])"
)


def space_before_punctuation_edits(text: str, editable: Sequence[bool]) -> list[Edit]:
    """Delete white space that stands right before closing full-width punctuation."""
    edits: list[Edit] = []
    for found in _SPACES_BEFORE_CLOSING.finditer(text):
        index, end = found.span()
        if index > 0 and text[index - 1] != _PARAGRAPH_BREAK and all(editable[index:end]):
            edits.append((index, end, ""))
    return edits


def remove_space_before_punctuation(text: str) -> str:
    """Plain-text form of :func:`space_before_punctuation_edits`."""
    edits = space_before_punctuation_edits(text, [True] * len(text))
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text
