"""The Python-Markdown extension that swaps formulas for stashed MathML before parsing.

Replacing each formula with an htmlStash placeholder before any other preprocessor runs
is what keeps ``_``, ``*``, ``\\\\``, ``{}`` and table pipes inside math away from
Markdown; the placeholder comes back as the rendered HTML after serialisation. All the
formulas of a post go through one :class:`FormulaSession`, so macros and equation
numbers carry from one formula to the next.

Converting a post's formulas is a pure function of their TeX sources and the site's math
settings, and most saves of a post leave every formula as it was (the author edited the
prose). :func:`post_formulas_html` therefore keeps the answers for the last few posts,
keyed on all of those inputs: an explicit, bounded memo, not a hidden data path.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from blog_plugins.math.render import FormulaSession, Limits
from blog_plugins.math.scanner import Delimiters, find_math_detecting

#: Posts whose converted formulas are kept (each entry holds one post's formula HTML).
REMEMBERED_POSTS = 16

# Above fenced_code (25) and html_block (20), below normalize_whitespace (30): formulas
# must be hidden before any block syntax is recognised, and the code plugin's own
# preprocessor (28) only sees fences this one has already skipped.
PRIORITY = 29


class MathPreprocessor(Preprocessor):
    def __init__(
        self,
        md: Markdown,
        limits: Limits,
        macros: Mapping[str, str],
        delimiters: Delimiters,
        language: str | None,
    ) -> None:
        super().__init__(md)
        self.limits = limits
        self.macros = macros
        self.delimiters = delimiters
        self.language = language

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        found_all, _conventions = find_math_detecting(text, self.delimiters)
        formulas = tuple(
            (found.tex.strip(), found.display, text[found.start : found.end])
            for found in found_all
            if found.tex is not None
        )
        converted = iter(
            post_formulas_html(formulas, self.limits, tuple(self.macros.items()), self.language)
        )
        pieces: list[str] = []
        position = 0
        for found in found_all:
            pieces.append(text[position : found.start])
            if found.tex is None:
                pieces.append("$")
            else:
                pieces.append(self.md.htmlStash.store(next(converted)))
            position = found.end
        pieces.append(text[position:])
        return "".join(pieces).split("\n")


@functools.lru_cache(maxsize=REMEMBERED_POSTS)
def post_formulas_html(
    formulas: tuple[tuple[str, bool, str], ...],
    limits: Limits,
    macros: tuple[tuple[str, str], ...],
    language: str | None,
) -> tuple[str, ...]:
    """The HTML of each of a post's formulas, converted in order in one session.

    ``formulas`` holds each formula's TeX, whether it is displayed, and its source as
    written (shown in an error box). The answer depends on nothing else, so it is
    remembered for the last :data:`REMEMBERED_POSTS` posts (see the module docstring).
    """
    session = FormulaSession(limits, dict(macros), language)
    converted = [session.add(tex, display=display) for tex, display, _source in formulas]
    session.finish()
    return tuple(
        session.html(formula, source)
        for formula, (_tex, _display, source) in zip(converted, formulas, strict=True)
    )


class MathExtension(Extension):
    """Render ``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]`` and ```` ```math ```` to MathML."""

    def __init__(
        self,
        limits: Limits,
        macros: Mapping[str, str] | None = None,
        delimiters: Delimiters | None = None,
        language: str | None = None,
        **kwargs: object,
    ) -> None:
        self.limits = limits
        self.macros = dict(macros or {})
        self.delimiters = delimiters or Delimiters()
        #: The UI language of error messages (``UI_LANGUAGE``); English when ``None``.
        self.language = language
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(
            MathPreprocessor(md, self.limits, self.macros, self.delimiters, self.language),
            "math",
            PRIORITY,
        )
