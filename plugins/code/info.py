"""Parse a fence's info string: a language, then ``key="value"`` options and bare flags.

Syntax::

    ```python title="train.py" linenos hl_lines="2 3"

The first word is the language (as every Markdown dialect has it); the options after it
use the spelling of Python-Markdown's ``codehilite``/pymdownx ``highlight``
(``linenos``, ``hl_lines``, ``title``), which authors moving from MkDocs or Hexo already
know, written as shell-style words so a quoted title may hold spaces. Ranges such as
``hl_lines="2-4 7"`` are accepted. Words that are not understood are ignored rather than
failing the post.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_LINE_RANGE = re.compile(r"(\d+)(?:-(\d+))?")
# A typo such as ``hl_lines="1-100000000"`` must not build a huge set.
_MAX_RANGE = 10_000


@dataclass(frozen=True)
class FenceInfo:
    language: str | None = None
    title: str | None = None
    line_numbers: bool = False
    first_line: int = 1
    highlighted: frozenset[int] = field(default_factory=frozenset)


def _parse_lines(value: str) -> frozenset[int]:
    lines: set[int] = set()
    for part in re.split(r"[\s,]+", value.strip()):
        match = _LINE_RANGE.fullmatch(part)
        if not match:
            continue
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last - first > _MAX_RANGE:
            continue
        lines.update(range(first, last + 1))
    return frozenset(lines)


def _words(info: str) -> list[str]:
    try:
        return shlex.split(info)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return info.split()


def parse_info(info: str) -> FenceInfo:
    """Return the language and options written after a code fence."""
    words = _words(info.strip())
    language: str | None = None
    if words and "=" not in words[0]:
        language = words.pop(0).lstrip(".").lower() or None
    title: str | None = None
    line_numbers = False
    first_line = 1
    highlighted: frozenset[int] = frozenset()
    for word in words:
        key, _, value = word.partition("=")
        key = key.lower()
        if key in ("title", "filename"):
            title = value or None
        elif key in ("linenos", "linenums"):
            line_numbers = value.lower() not in ("false", "0", "no")
            if value.isdigit() and int(value) > 0:
                first_line = int(value)
        elif key == "linenostart" and value.isdigit():
            first_line = max(int(value), 1)
        elif key == "hl_lines":
            highlighted = _parse_lines(value)
    return FenceInfo(language, title, line_numbers, first_line, highlighted)
