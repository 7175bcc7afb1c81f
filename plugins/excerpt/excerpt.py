"""Choose and build a post's excerpt and meta description from its rendered body.

Precedence: the text above the author's ``<!--more-->`` marker, then a front-matter
value, then an automatic excerpt cut from the body by :func:`~blog_plugins.excerpt.cut.cut`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import regex

from blog_plugins.excerpt.config import Config, Placeholders
from blog_plugins.excerpt.cut import cut, text_length
from blog_plugins.excerpt.structure import Kind, Segment
from blog_plugins.excerpt.units import is_cjk

WHITESPACE_OR_TEXT = regex.compile(r"\s+|\S+")
_KIND = attrgetter("kind")


class _Writer:
    """Plain text assembled piece by piece, with whitespace collapsed like a browser would.

    A line break inside prose between two CJK characters is dropped (Chinese has no spaces
    between words, so a wrapped source line must not add one); any other whitespace run and
    every block boundary become one space.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.atomic: list[tuple[int, int]] = []
        self._last = ""
        self._pending: str | None = None

    def space(self, *, soft: bool) -> None:
        if not self.length:
            return
        self._pending = "soft" if soft and self._pending in {None, "soft"} else "hard"

    def prose(self, text: str) -> None:
        for run in WHITESPACE_OR_TEXT.findall(text):
            if run.isspace():
                self.space(soft="\n" in run)
            else:
                self._write(run)

    def whole(self, text: str) -> None:
        """Write ``text`` as one unit that a cut may not split."""
        text = " ".join(text.split())
        if text:
            start = self._write(text)
            self.atomic.append((start, self.length))

    def text(self) -> str:
        return "".join(self.parts)

    def _write(self, run: str) -> int:
        if self._pending == "hard" or (
            self._pending == "soft" and not (is_cjk(self._last) and is_cjk(run[0]))
        ):
            self.parts.append(" ")
            self.length += 1
        self._pending = None
        start = self.length
        self.parts.append(run)
        self.length += len(run)
        self._last = run[-1]
        return start


def compose(
    segments: Iterable[Segment],
    placeholders: Placeholders,
    *,
    inline_math_max: int,
    until_more: bool = False,
    enough: int | None = None,
) -> tuple[str, list[tuple[int, int]]]:
    """Return the excerpt wording of ``segments`` and the spans that must stay whole.

    Headings and paragraphs become their text separated by spaces; formulas, code blocks,
    images and tables become placeholders; a short inline formula is quoted as its TeX
    source. With ``until_more`` the text stops at the ``<!--more-->`` marker. ``enough``
    stops early once that many characters are written (a cut needs no more).
    """
    writer = _Writer()
    for segment in segments:
        if enough is not None and writer.length >= enough:
            break
        if segment.in_table:
            continue
        kind = segment.kind
        if kind is Kind.MORE:
            if until_more:
                break
        elif kind is Kind.TEXT:
            writer.prose(segment.text)
        elif kind is Kind.BREAK:
            writer.space(soft=False)
        elif kind is Kind.LITERAL or (
            kind is Kind.INLINE_MATH and 0 < text_length(segment.text) <= inline_math_max
        ):
            writer.whole(segment.text)
        elif kind in {Kind.INLINE_MATH, Kind.DISPLAY_MATH, Kind.MATH_ERROR}:
            writer.whole(placeholders.formula)
        elif kind is Kind.CODE_BLOCK:
            writer.whole(placeholders.code)
        elif kind is Kind.IMAGE:
            writer.whole(placeholders.image)
        elif kind is Kind.TABLE:
            writer.whole(placeholders.table)
    return writer.text(), writer.atomic


def post_excerpt(
    segments: Sequence[Segment], meta: Mapping[str, Any], lang: str | None, config: Config
) -> str:
    """Return the excerpt shown in listings and feeds.

    The author's choice is kept as written: the text above ``<!--more-->`` or the
    front-matter ``excerpt`` (then ``description``) is not shortened and gets no suffix.
    """
    return _summary(segments, meta, lang, config, ("excerpt", "description"), config.length, False)


def meta_description(
    segments: Sequence[Segment], meta: Mapping[str, Any], lang: str | None, config: Config
) -> str:
    """Return the ``<meta name="description">`` text: the excerpt rules, always within budget."""
    return _summary(
        segments, meta, lang, config, ("description", "excerpt"), config.description_length, True
    )


def _summary(
    segments: Sequence[Segment],
    meta: Mapping[str, Any],
    lang: str | None,
    config: Config,
    keys: tuple[str, ...],
    budget: int,
    shorten_given: bool,
) -> str:
    placeholders = config.placeholders(lang)

    def fit(text: str, atomic: list[tuple[int, int]]) -> str:
        if not shorten_given:
            return text
        return cut(
            text,
            budget,
            suffix=config.suffix,
            atomic=atomic,
            sentence_window=config.sentence_window,
        )

    # Looked for in C (``in`` over the kinds) rather than by a generator: a post has
    # hundreds of segments and this runs for the excerpt and the description.
    if Kind.MORE in map(_KIND, segments):
        text, atomic = compose(
            segments, placeholders, inline_math_max=config.inline_math_max, until_more=True
        )
        if text:
            return fit(text, atomic)
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return fit(" ".join(value.split()), [])
    text, atomic = compose(
        segments,
        placeholders,
        inline_math_max=config.inline_math_max,
        enough=4 * budget + 1000,
    )
    return cut(
        text, budget, suffix=config.suffix, atomic=atomic, sentence_window=config.sentence_window
    )
