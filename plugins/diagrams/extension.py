"""The Python-Markdown preprocessor that keeps ```` ```mermaid ```` blocks as diagram source.

A block becomes ``<pre class="mermaid">`` holding its text, escaped: readers without
JavaScript (and feeds, and search) see the diagram's source, and ``diagrams.js`` draws it
in the browser. It runs before the code plugin (28) and the math plugin (29), so neither
highlights nor reads formulas in a diagram.
"""

from __future__ import annotations

import html
import re

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

PRIORITY = 30
#: The class diagrams.js looks for.
DIAGRAM_CLASS = "mermaid"

_OPENING = re.compile(r"(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*mermaid[ \t]*")


class MermaidPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        output: list[str] = []
        index = 0
        while index < len(lines):
            opening = _OPENING.fullmatch(lines[index])
            if opening is None:
                output.append(lines[index])
                index += 1
                continue
            fence = opening["fence"]
            closing = re.compile(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
            end = index + 1
            while end < len(lines) and not closing.fullmatch(lines[end]):
                end += 1
            source = "\n".join(lines[index + 1 : end]).strip("\n")
            block = f'<pre class="{DIAGRAM_CLASS}" translate="no">{html.escape(source)}</pre>'
            output.extend(["", self.md.htmlStash.store(block), ""])
            index = end + 1
        return output


class DiagramExtension(Extension):
    """Keep Mermaid blocks as escaped source for the browser to draw."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(MermaidPreprocessor(md), "mermaid_fences", PRIORITY)
