"""The Python-Markdown extension that renders fenced code blocks with Pygments.

It replaces the ``fenced_code`` extension's handling (it runs first, at priority 28):
the built-in one cannot read bare options such as ``title="train.py" linenos`` and
only recognises fences at the left margin, while posts put code inside list items.
"""

from __future__ import annotations

import re

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from blog_plugins.code.highlight import render_code
from blog_plugins.code.info import parse_info

# Below the math plugin's preprocessor (29), which skips code itself, and above
# Python-Markdown's fenced_code (25) so that one never sees our fences.
PRIORITY = 28

_OPENING = re.compile(r"(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)")


class FencedCodePreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        output: list[str] = []
        index = 0
        while index < len(lines):
            opening = _OPENING.fullmatch(lines[index])
            if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
                output.append(lines[index])
                index += 1
                continue
            indent = opening["indent"]
            fence = opening["fence"]
            closing = re.compile(rf" *{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
            end = index + 1
            while end < len(lines) and not closing.fullmatch(lines[end]):
                end += 1
            body = [_dedent(line, len(indent)) for line in lines[index + 1 : end]]
            code = "\n".join(body) + "\n" if body else ""
            placeholder = self.md.htmlStash.store(render_code(code, parse_info(opening["info"])))
            output.extend(["", indent + placeholder, ""])
            index = end + 1
        return output


def _dedent(line: str, width: int) -> str:
    """Remove up to ``width`` leading spaces (the fence's own indentation)."""
    stripped = len(line) - len(line.lstrip(" "))
    return line[min(stripped, width) :]


class CodeExtension(Extension):
    """Highlight fenced code at save time; options come from the fence's info string."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(FencedCodePreprocessor(md), "code_fences", PRIORITY)
