"""What the math plugin tells an author about a saved post: broken formulas, conventions.

Stored in ``post.render_meta`` under ``warnings`` (each a formula shown as an error box,
with its line in the source and the message) and ``notices`` (a delimiter convention that
was detected and followed); ``blog import`` prints both and the editor shows them.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from blog_plugins.math.scanner import BACKTICKS, KRAMDOWN, SPACED, Delimiters, detect_conventions

_CONVENTION_NOTES = {
    BACKTICKS: "read {count} backtick-wrapped formulas (`$…$`, the blogdown habit) as math",
    SPACED: "read {count} formulas written as $ x $ (MathJax habit) as math",
    KRAMDOWN: "read {count} $$…$$ inside paragraphs as inline math (kramdown, as Jekyll does)",
}
_CONFIGURED = {BACKTICKS: "backticks", SPACED: "spaced_dollars", KRAMDOWN: "kramdown"}


class _ErrorBoxes(HTMLParser):
    """Collect ``(source, message)`` of every formula error box in sanitized HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.boxes: list[tuple[str, str]] = []
        self._message: str | None = None
        self._depth = 0
        self._code: list[str] | None = None
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if self._message is not None:
            self._depth += 1
            if tag == "code" and self._code is None:
                self._code = []
                self._in_code = True
            return
        if tag == "span" and "math-error" in (attributes.get("class") or "").split():
            self._message = attributes.get("title") or ""
            self._depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self._message is None:
            return
        self._depth -= 1
        if tag == "code":
            self._in_code = False
        if self._depth == 0:
            self.boxes.append(("".join(self._code or []), self._message))
            self._message, self._code = None, None

    def handle_data(self, data: str) -> None:
        if self._code is not None and self._in_code:
            self._code.append(data)


def formula_warnings(source: str, html: str) -> list[dict[str, Any]]:
    """Return one warning per error box in ``html``, located in ``source`` where possible."""
    reader = _ErrorBoxes()
    reader.feed(html)
    reader.close()
    warnings = []
    cursor = 0
    for formula, message in reader.boxes:
        found = source.find(formula, cursor) if formula else -1
        warning: dict[str, Any] = {"message": f"formula {formula[:80]!r}: {message}"}
        if found >= 0:
            warning["line"] = source.count("\n", 0, found) + 1
            cursor = found + len(formula)
        warnings.append(warning)
    return warnings


def convention_notices(source: str, delimiters: Delimiters) -> list[str]:
    """Return what was detected and followed in ``source`` (empty when nothing was)."""
    if not delimiters.detect:
        return []
    notes = []
    for convention, count in detect_conventions(source).items():
        if not getattr(delimiters, _CONFIGURED[convention]):
            notes.append(_CONVENTION_NOTES[convention].format(count=count))
    return notes
