"""The Python-Markdown extension that swaps formulas for stashed MathML before parsing.

Replacing each formula with an htmlStash placeholder before any other preprocessor runs
is what keeps ``_``, ``*``, ``\\\\``, ``{}`` and table pipes inside math away from
Markdown; the placeholder comes back as the rendered HTML after serialisation.
"""

from __future__ import annotations

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from blog_plugins.math.render import Limits, render_formula
from blog_plugins.math.scanner import find_math

# Above fenced_code (25) and html_block (20), below normalize_whitespace (30): formulas
# must be hidden before any block syntax is recognised, and the code plugin's own
# preprocessor (28) only sees fences this one has already skipped.
PRIORITY = 29


class MathPreprocessor(Preprocessor):
    def __init__(self, md: Markdown, limits: Limits) -> None:
        super().__init__(md)
        self.limits = limits

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        pieces: list[str] = []
        position = 0
        for found in find_math(text):
            pieces.append(text[position : found.start])
            if found.tex is None:
                pieces.append("$")
            else:
                source = text[found.start : found.end]
                rendered = render_formula(
                    found.tex, source, display=found.display, limits=self.limits
                )
                pieces.append(self.md.htmlStash.store(rendered))
            position = found.end
        pieces.append(text[position:])
        return "".join(pieces).split("\n")


class MathExtension(Extension):
    """Render ``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]`` and ```` ```math ```` to MathML."""

    def __init__(self, limits: Limits, **kwargs: object) -> None:
        self.limits = limits
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(MathPreprocessor(md, self.limits), "math", PRIORITY)
