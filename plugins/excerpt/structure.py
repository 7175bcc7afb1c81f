"""Read a sanitized post body into a flat sequence of segments (text, formulas, code, images).

The excerpt and the reading statistics are built from the rendered structure rather than
from the Markdown source: by then the math and code plugins have decided what is a formula
and what is code, and ``translate="no"`` marks what must be quoted verbatim.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, auto
from html.parser import HTMLParser

#: The class of the empty element that stands where the author wrote ``<!--more-->``.
MORE_CLASS = "excerpt-more"

VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
BLOCK_ELEMENTS = frozenset(
    {"address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
     "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li",
     "main", "nav", "ol", "p", "section", "summary", "td", "th", "tr", "ul"}
)  # fmt: skip
LITERAL_ELEMENTS = frozenset({"code", "kbd", "samp"})
SKIPPED_ELEMENTS = frozenset({"script", "style", "template", "noscript"})
# Navigation the Markdown extensions add: permalinks, footnote marks and lists, a [TOC].
SKIPPED_CLASSES = frozenset({"headerlink", "footnote-ref", "footnote-backref", "footnote", "toc"})
# Line-number gutters of highlighted code, which would double the count of code lines.
LINE_NUMBER_CLASSES = frozenset({"linenos", "linenodiv", "lineno"})
TEX_ENCODING = "application/x-tex"
READABLE_ENCODING = "text/plain"


class Kind(Enum):
    """What a segment of the body is."""

    TEXT = auto()
    LITERAL = auto()
    BREAK = auto()
    INLINE_MATH = auto()
    DISPLAY_MATH = auto()
    MATH_ERROR = auto()
    CODE_BLOCK = auto()
    IMAGE = auto()
    TABLE = auto()
    MORE = auto()


@dataclass(frozen=True)
class Segment:
    """One piece of the body in reading order.

    ``text`` is the prose, the verbatim literal, the readable text of a formula, the code of a
    block or the alt text of an image. ``in_table`` marks text inside a table: it is read
    (it counts for reading time) but an excerpt shows the table as a whole.
    """

    kind: Kind
    text: str = ""
    in_table: bool = False


@dataclass
class _Capture:
    kind: Kind
    is_block: bool
    parts: list[str] = field(default_factory=list)
    tex: list[str] = field(default_factory=list)
    readable: list[str] = field(default_factory=list)
    in_annotation: bool = False
    in_readable: bool = False


class _BodyReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.segments: list[Segment] = []
        self._open: list[tuple[str, Callable[[], None] | None]] = []
        self._skip_depth = 0
        self._table_depth = 0
        self._literal_depth = 0
        self._literal: list[str] = []
        self._capture: _Capture | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        classes = set(attributes.get("class", "").split())
        if tag in VOID_ELEMENTS:
            self._void(tag, attributes)
            return
        self._open.append((tag, self._enter(tag, attributes, classes)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not any(name == tag for name, _ in self._open):
            return
        # Closing an outer element closes every element still open inside it.
        while self._open:
            name, on_close = self._open.pop()
            if on_close is not None:
                on_close()
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._capture is not None:
            if self._capture.in_readable:
                target = self._capture.readable
            elif self._capture.in_annotation:
                target = self._capture.tex
            else:
                target = self._capture.parts
            target.append(data)
        elif self._literal_depth:
            self._literal.append(data)
        else:
            self._emit(Kind.TEXT, data)

    def _emit(self, kind: Kind, text: str = "") -> None:
        self.segments.append(Segment(kind, text, in_table=self._table_depth > 0))

    def _void(self, tag: str, attributes: dict[str, str]) -> None:
        if self._skip_depth or self._capture is not None:
            return
        if tag == "img":
            self._emit(Kind.IMAGE, attributes.get("alt", ""))
        elif tag in {"br", "hr"}:
            self._emit(Kind.BREAK)

    def _enter(
        self, tag: str, attributes: dict[str, str], classes: set[str]
    ) -> Callable[[], None] | None:
        capture = self._capture
        if self._skip_depth or tag in SKIPPED_ELEMENTS or classes & SKIPPED_CLASSES:
            return self._start_skip()
        if capture is not None:
            if classes & LINE_NUMBER_CLASSES:
                return self._start_skip()
            if tag == "annotation" and attributes.get("encoding") == TEX_ENCODING:
                capture.in_annotation = True
                return self._end_annotation
            if tag == "annotation" and attributes.get("encoding") == READABLE_ENCODING:
                capture.in_readable = True
                return self._end_annotation
            return None
        if tag == "span" and MORE_CLASS in classes:
            self._emit(Kind.MORE)
            return None
        kind = _captured_kind(tag, attributes, classes)
        if kind is not None:
            is_block = tag in BLOCK_ELEMENTS or kind in {Kind.CODE_BLOCK, Kind.DISPLAY_MATH}
            if is_block:
                self._emit(Kind.BREAK)
            self._capture = _Capture(kind, is_block)
            return self._end_capture
        if tag == "table":
            self._emit(Kind.TABLE)
            self._table_depth += 1
            return self._end_table
        if tag in LITERAL_ELEMENTS or attributes.get("translate") == "no":
            self._literal_depth += 1
            return self._end_literal
        if tag in BLOCK_ELEMENTS:
            self._emit(Kind.BREAK)
            return self._end_block
        return None

    def _start_skip(self) -> Callable[[], None]:
        self._skip_depth += 1
        return self._end_skip

    def _end_skip(self) -> None:
        self._skip_depth -= 1

    def _end_annotation(self) -> None:
        if self._capture is not None:
            self._capture.in_annotation = self._capture.in_readable = False

    def _end_capture(self) -> None:
        capture, self._capture = self._capture, None
        if capture is None:
            return
        if capture.kind is Kind.CODE_BLOCK:
            self._emit(Kind.CODE_BLOCK, "".join(capture.parts))
        elif capture.kind is Kind.MATH_ERROR:
            self._emit(Kind.MATH_ERROR, "".join(capture.parts).strip())
        else:
            # A formula reads as its plain-text annotation (10⁻⁶), never as TeX; without
            # one it has no text and the excerpt shows the formula placeholder.
            self._emit(capture.kind, "".join(capture.readable).strip())
        if capture.is_block:
            self._emit(Kind.BREAK)

    def _end_table(self) -> None:
        self._table_depth -= 1
        self._emit(Kind.BREAK)

    def _end_literal(self) -> None:
        self._literal_depth -= 1
        if not self._literal_depth:
            self._emit(Kind.LITERAL, "".join(self._literal))
            self._literal.clear()

    def _end_block(self) -> None:
        self._emit(Kind.BREAK)


def _captured_kind(tag: str, attributes: dict[str, str], classes: set[str]) -> Kind | None:
    """Return the kind of an element read as a whole (a formula or a code block), if it is one."""
    if tag == "pre" or ("highlight" in classes and tag == "div") or "highlighttable" in classes:
        return Kind.CODE_BLOCK
    if "math-error" in classes:
        return Kind.MATH_ERROR
    if "math-display" in classes:
        return Kind.DISPLAY_MATH
    if "math-inline" in classes:
        return Kind.INLINE_MATH
    if tag == "math":
        return Kind.DISPLAY_MATH if attributes.get("display") == "block" else Kind.INLINE_MATH
    return None


@functools.lru_cache(maxsize=8)
def read_body(html: str) -> tuple[Segment, ...]:
    """Return the segments of ``html`` in reading order.

    Cached: the excerpt and the statistics hooks read the same body during one save.
    """
    reader = _BodyReader()
    reader.feed(html)
    reader.close()
    return tuple(reader.segments)
