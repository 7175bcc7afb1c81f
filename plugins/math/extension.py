"""The Python-Markdown extension that swaps formulas for stashed MathML before parsing.

Replacing each formula with an htmlStash placeholder before any other preprocessor runs
is what keeps ``_``, ``*``, ``\\\\``, ``{}`` and table pipes inside math away from
Markdown; the placeholder comes back as the rendered HTML after serialisation. All the
formulas of a post go through one :class:`FormulaSession`, so macros and equation
numbers carry from one formula to the next.
"""

from __future__ import annotations

from collections.abc import Mapping

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from blog_plugins.math.render import FormulaSession, Limits
from blog_plugins.math.scanner import Delimiters, find_math_detecting

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
        session = FormulaSession(self.limits, self.macros, self.language)
        found_all, _conventions = find_math_detecting(text, self.delimiters)
        converted = [
            session.add(found.tex.strip(), display=found.display)
            for found in found_all
            if found.tex is not None
        ]
        session.finish()
        formulas = iter(converted)
        pieces: list[str] = []
        position = 0
        for found in found_all:
            pieces.append(text[position : found.start])
            if found.tex is None:
                pieces.append("$")
            else:
                source = text[found.start : found.end]
                pieces.append(self.md.htmlStash.store(session.html(next(formulas), source)))
            position = found.end
        pieces.append(text[position:])
        return "".join(pieces).split("\n")


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
