"""Find the formulas in Markdown source before Markdown parses it.

Delimiters: ``$…$`` and ``\\(…\\)`` inline; ``$$…$$``, ``\\[…\\]`` and fenced ``math``
blocks display. Dollar rules follow Pandoc: an opening ``$`` is not followed by white
space, the first unescaped ``$`` after it closes, and the pair is not math when that
closing ``$`` follows white space or precedes a digit (so prices stay text). ``\\$`` is a
literal dollar. No inline formula spans a blank line. Code spans, fenced code and
indented code blocks are skipped so math inside them stays code.

Two conventions of real blogs are options (:class:`Delimiters`, from ``[plugins.math]``):
blogdown/Hugo authors wrap math in backticks (`` `$x$` ``, `` `$$…$$` ``) so Markdown
leaves it alone, MathJax sites write ``$ x $`` with inner spaces, and Jekyll's kramdown
reads ``$$…$$`` as display math only when it stands alone between blank lines (elsewhere
in a paragraph it is inline math, and ``$x$`` is not math at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INTERESTING = re.compile(r"[\\`$\n]")
_FENCE_OPEN = re.compile(
    r"(?P<prefix>[ \t]*(?:>[ \t]?)*[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)"
)
_QUOTE_PREFIX = re.compile(r"[ \t]*(?:>[ \t]?)*")
_BLANK_LINE = re.compile(r"\n[ \t>]*(?:\n|$)")
_LIST_ITEM = re.compile(r" {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_INDENTED = re.compile(r"(?: {4}|\t)")
_WRAPPED_MATH = re.compile(r"(?P<open>\$\$?)(?P<tex>(?:[^$\\]|\\.)+)(?P=open)", re.DOTALL)


@dataclass(frozen=True)
class Delimiters:
    """Which real-world conventions count as math besides the standard delimiters."""

    #: A code span whose whole content is ``$…$`` or ``$$…$$`` is math (blogdown habit).
    backticks: bool = False
    #: ``$ x $`` with white space inside the dollars is math (MathJax habit).
    spaced_dollars: bool = False
    #: ``$$…$$`` inside a paragraph is inline math; display only alone between blank lines.
    kramdown: bool = False
    #: Accept either convention in a post that evidently uses it (see :func:`detect_conventions`).
    detect: bool = True


@dataclass(frozen=True)
class Found:
    """A region of the source to replace: a formula, or ``\\$`` when ``tex`` is ``None``."""

    start: int
    end: int
    tex: str | None
    display: bool = False
    #: "" for the standard delimiters, else the optional convention that found it.
    convention: str = ""


def _line_end(text: str, position: int) -> int:
    end = text.find("\n", position)
    return len(text) if end < 0 else end


def _paragraph_end(text: str, position: int) -> int:
    blank = _BLANK_LINE.search(text, position)
    return len(text) if blank is None else blank.start()


def _unquote(tex: str, quote_depth: int) -> str:
    """Remove the blockquote markers that Markdown would strip from continuation lines."""
    if not quote_depth or "\n" not in tex:
        return tex
    marker = re.compile(rf"^[ \t]*(?:>[ \t]?){{1,{quote_depth}}}", re.MULTILINE)
    first, rest = tex.split("\n", 1)
    return first + "\n" + marker.sub("", rest)


def could_hold_math(text: str) -> bool:
    """Whether ``text`` holds anything the scanner could find.

    Every formula and escaped dollar holds a ``$``, a ``\\(`` or ``\\[``, or is a fenced block
    whose info string starts with ``math`` in any case. A post without any of them (most
    posts of a blog that is not about maths) is not scanned line by line at all.
    """
    return "$" in text or "\\(" in text or "\\[" in text or "math" in text.lower()


class _Scanner:
    def __init__(self, text: str, delimiters: Delimiters) -> None:
        self.text = text
        self.delimiters = delimiters
        self.found: list[Found] = []
        self.previous_blank = True
        self.in_list = False

    def run(self) -> list[Found]:
        if not could_hold_math(self.text):
            return self.found
        position = 0
        at_line_start = True
        while position < len(self.text):
            if at_line_start:
                skipped_to = self._line_start(position)
                at_line_start = False
                if skipped_to is not None:
                    position = skipped_to
                    at_line_start = True
                    continue
            match = _INTERESTING.search(self.text, position)
            if match is None:
                break
            position = match.start()
            char = match.group()
            if char == "\n":
                position += 1
                at_line_start = True
            elif char == "\\":
                position = self._backslash(position)
            elif char == "`":
                position = self._code_span(position)
            else:
                position = self._dollar(position)
        return self.found

    def _quote_depth(self, position: int) -> int:
        line_begin = self.text.rfind("\n", 0, position) + 1
        prefix = _QUOTE_PREFIX.match(self.text, line_begin)
        return prefix.group().count(">") if prefix else 0

    def _formula(
        self, start: int, end: int, tex: str, *, display: bool, convention: str = ""
    ) -> None:
        tex = _unquote(tex, self._quote_depth(start))
        self.found.append(Found(start, end, tex, display, convention))

    def _line_start(self, position: int) -> int | None:
        """Handle block-level code at a line start; return where scanning resumes."""
        end = _line_end(self.text, position)
        line = self.text[position:end]
        blank = not line.strip()
        fence = _FENCE_OPEN.fullmatch(line)
        if fence and not (fence["fence"][0] == "`" and "`" in fence["info"]):
            self.previous_blank = False
            return self._fenced_block(position, fence)
        if not blank and self.previous_blank and not self.in_list and _INDENTED.match(line):
            return self._indented_block(position)
        if _LIST_ITEM.match(line):
            self.in_list = True
        elif not blank and self.previous_blank and not line[:1].isspace():
            self.in_list = False
        self.previous_blank = blank
        return None

    def _fenced_block(self, position: int, fence: re.Match[str]) -> int:
        marker = fence["fence"]
        closing = re.compile(
            rf"[ \t]*(?:>[ \t]?)*[ \t]*{re.escape(marker[0])}{{{len(marker)},}}[ \t]*"
        )
        body_start = _line_end(self.text, position) + 1
        line_begin = body_start
        while line_begin <= len(self.text):
            line_end = _line_end(self.text, line_begin)
            if closing.fullmatch(self.text, line_begin, line_end):
                break
            line_begin = line_end + 1
        else:
            line_begin = line_end = len(self.text)
        info_words = fence["info"].split()
        if info_words and info_words[0].lower() == "math":
            body = self.text[body_start : max(line_begin - 1, body_start)]
            self._formula(position + len(fence["prefix"]), line_end, body, display=True)
        return line_end + 1

    def _indented_block(self, position: int) -> int:
        line_begin = position
        while line_begin < len(self.text):
            line_end = _line_end(self.text, line_begin)
            line = self.text[line_begin:line_end]
            if line.strip() and not _INDENTED.match(line):
                break
            line_begin = line_end + 1
        self.previous_blank = True
        return min(line_begin, len(self.text))

    def _backslash(self, position: int) -> int:
        following = self.text[position + 1 : position + 2]
        if following == "$":
            self.found.append(Found(position, position + 2, None))
        elif following in ("(", "["):
            closer = "\\)" if following == "(" else "\\]"
            limit = _paragraph_end(self.text, position)
            close = self.text.find(closer, position + 2, limit)
            if close > position + 2 and self.text[position + 2 : close].strip():
                self._formula(
                    position, close + 2, self.text[position + 2 : close], display=following == "["
                )
                return close + 2
        return position + 2

    def _code_span(self, position: int) -> int:
        run = re.compile(r"`+").match(self.text, position)
        assert run is not None
        ticks = len(run.group())
        closer = re.compile(rf"(?<!`)`{{{ticks}}}(?!`)")
        close = closer.search(self.text, run.end(), _paragraph_end(self.text, position))
        if close is None:
            return run.end()
        if self.delimiters.backticks:
            content = self.text[run.end() : close.start()]
            wrapped = _WRAPPED_MATH.fullmatch(content)
            if wrapped and wrapped["tex"].strip():
                display = len(wrapped["open"]) == 2
                self._formula(
                    position, close.end(), wrapped["tex"], display=display, convention=BACKTICKS
                )
        return close.end()

    def _find_dollar(self, start: int, limit: int, double: bool) -> int:
        """Return the index of the next unescaped ``$`` (or ``$$``) before ``limit``, or -1."""
        index = start
        while index < limit:
            char = self.text[index]
            if char == "\\":
                index += 2
            elif char == "$":
                if not double or self.text.startswith("$$", index):
                    return index
                index += 1
            else:
                index += 1
        return -1

    def _alone_in_paragraph(self, start: int, end: int) -> bool:
        """Whether ``start``…``end`` is a paragraph of its own (blank lines or edges around)."""
        line_begin = self.text.rfind("\n", 0, start) + 1
        if self.text[line_begin:start].strip(" \t>"):
            return False
        if line_begin > 0:
            previous_begin = self.text.rfind("\n", 0, line_begin - 1) + 1
            if self.text[previous_begin : line_begin - 1].strip(" \t>"):
                return False
        line_end = _line_end(self.text, end)
        if self.text[end:line_end].strip():
            return False
        if line_end < len(self.text):
            following = self.text[line_end + 1 : _line_end(self.text, line_end + 1)]
            if following.strip(" \t>"):
                return False
        return True

    def _dollar(self, position: int) -> int:
        limit = _paragraph_end(self.text, position)
        if self.text.startswith("$$", position):
            close = self._find_dollar(position + 2, limit, double=True)
            if close < 0 or not self.text[position + 2 : close].strip():
                return position + 2
            display = True
            convention = ""
            if self.delimiters.kramdown and not self._alone_in_paragraph(position, close + 2):
                display, convention = False, KRAMDOWN
            tex = self.text[position + 2 : close]
            self._formula(position, close + 2, tex, display=display, convention=convention)
            return close + 2
        following = self.text[position + 1 : position + 2]
        spaced = self.delimiters.spaced_dollars
        if not following or (following.isspace() and not spaced):
            return position + 1
        close = self._find_dollar(position + 1, limit, double=False)
        if (
            close < 0
            or (self.text[close - 1].isspace() and not spaced)
            or self.text[close + 1 : close + 2].isdigit()
            or not self.text[position + 1 : close].strip()
            or (spaced and following.isspace() != self.text[close - 1].isspace())
        ):
            return position + 1
        self._formula(
            position,
            close + 1,
            self.text[position + 1 : close],
            display=False,
            convention=SPACED if following.isspace() else "",
        )
        return close + 1


def find_math(text: str, delimiters: Delimiters | None = None) -> list[Found]:
    """Return the formulas and escaped dollars of ``text`` in source order."""
    return _Scanner(text, delimiters or Delimiters()).run()


BACKTICKS = "backticks"
SPACED = "spaced dollars"
KRAMDOWN = "kramdown"
_TEX_LIKE = re.compile(r"\\[A-Za-z]|[\^_=]")


def detect_conventions(text: str) -> dict[str, int]:
    """Return the optional conventions ``text`` evidently uses, with how many formulas each.

    A post uses the backtick convention when two or more code spans hold nothing but
    ``$…$``/``$$…$$`` (one such span may be an author showing TeX source); it uses spaced
    dollars when a ``$ … $`` pair reads as TeX (a command, ``^``, ``_`` or ``=``), which
    prices never do; it follows kramdown when ``$$…$$`` stands inside a paragraph and no
    formula is written ``$x$`` (a kramdown author never does: kramdown leaves it as text).
    """
    everything = _Scanner(text, Delimiters(backticks=True, spaced_dollars=True)).run()
    found: dict[str, list[str]] = {}
    single_dollar = False
    for formula in everything:
        if formula.convention and formula.tex is not None:
            found.setdefault(formula.convention, []).append(formula.tex)
        elif formula.tex is not None and text.startswith("$", formula.start):
            single_dollar = single_dollar or not text.startswith("$$", formula.start)
    if not single_dollar and "$$" in text:
        kramdown = _Scanner(text, Delimiters(kramdown=True)).run()
        inline = [f.tex for f in kramdown if f.convention == KRAMDOWN and f.tex is not None]
        if inline:
            found[KRAMDOWN] = inline
    used = {}
    for convention, formulas in found.items():
        tex_like = any(_TEX_LIKE.search(tex) for tex in formulas)
        if (
            (convention == BACKTICKS and len(formulas) >= 2)
            or (convention == SPACED and tex_like)
            or convention == KRAMDOWN
        ):
            used[convention] = len(formulas)
    return used


def find_math_detecting(text: str, delimiters: Delimiters) -> tuple[list[Found], dict[str, int]]:
    """Like :func:`find_math`, also accepting the conventions ``text`` evidently uses."""
    used = detect_conventions(text) if delimiters.detect else {}
    accepted = Delimiters(
        backticks=delimiters.backticks or BACKTICKS in used,
        spaced_dollars=delimiters.spaced_dollars or SPACED in used,
        kramdown=delimiters.kramdown or KRAMDOWN in used,
    )
    return find_math(text, accepted), used
