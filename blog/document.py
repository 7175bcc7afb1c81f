"""The one reading of a sanitized post body that every save-time step shares.

:func:`read_document` parses the stored HTML once (libxml2, through lxml: a C parser, three
times faster than :mod:`html.parser` on a post body) and returns a :class:`Document`: the
visible text (for the search index and the fallback excerpt), the headings (for the table
of contents), the first image, and the body as a flat sequence of :class:`Segment` s in
reading order, each with its :class:`Kind` (prose, verbatim literal, formula, code block,
image, table...). The save-time hooks ``blog_excerpt`` and ``blog_post_metadata`` receive
this object, so no plugin parses the body again.

Which element is which kind follows HTML itself (``<math>``, ``<pre>``, ``<img>``,
``<table>``) plus the class names listed in :data:`SEGMENT_CLASSES`, the vocabulary by which
a plugin's output says what it is (``docs/plugins.md``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import Enum, auto
from html.parser import HTMLParser
from itertools import groupby
from types import MappingProxyType
from typing import Any

from lxml import etree

from blog.elements import (
    BLOCK_ELEMENTS,
    HEADING_ELEMENTS,
    HIDDEN_ELEMENTS,
    RAW_TEXT_ELEMENTS,
    VOID_ELEMENTS,
)


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


#: The class of the empty element that stands where the author wrote ``<!--more-->``.
MORE_CLASS = "excerpt-more"
#: Classes by which an element declares the kind of segment it is, read as a whole.
SEGMENT_CLASSES = {
    "math-error": Kind.MATH_ERROR,
    "math-display": Kind.DISPLAY_MATH,
    "math-inline": Kind.INLINE_MATH,
    "highlighttable": Kind.CODE_BLOCK,
}
#: Navigation the Markdown extensions add: permalinks, footnote marks and lists, a [TOC].
SKIPPED_CLASSES = frozenset({"headerlink", "footnote-ref", "footnote-backref", "footnote", "toc"})
#: Line-number gutters of highlighted code, which would double the count of code lines.
LINE_NUMBER_CLASSES = frozenset({"linenos", "linenodiv", "lineno"})
LITERAL_ELEMENTS = frozenset({"code", "kbd", "samp"})
TEX_ENCODING = "application/x-tex"
#: A formula's plain-text alternative (10⁻⁶), which text and excerpts read instead of TeX.
READABLE_ENCODING = "text/plain"
#: The start of an element whose content libxml2 would read as text, :mod:`html.parser`
#: (and so this reader, so far) as tags.
#: The names are grouped by first letter (``s(?:cript|tyle)|...``): the search then tries
#: one branch at each ``<`` of the body instead of ten, half the time on a post body.
_RAW_TEXT_START = re.compile(
    "<(?:{})[\\s/>]".format(
        "|".join(
            f"{first}(?:{'|'.join(name[1:] for name in names)})"
            for first, names in groupby(sorted(RAW_TEXT_ELEMENTS), key=lambda name: name[0])
        )
    ),
    re.IGNORECASE,
)
_NO_CLASSES: frozenset[str] = frozenset()
# Text left out of the plain text: a formula's TeX source (its rendering already supplies
# the text) and whatever is not prose.
_NOT_TEXT = HIDDEN_ELEMENTS | {"annotation"}
# The tags that matter to the plain text and headings: any other tag (most of a formula's
# MathML, a code block's spans) only passes its text through, so its checks are skipped.
_TEXT_TAGS = _NOT_TEXT | BLOCK_ELEMENTS | HEADING_ELEMENTS | {"semantics", "br", "img"}
# The attributes of an element that has none; never written to.
_NO_ATTRIBUTES: dict[str, str] = {}
# Inside a formula or a code block, only these tags and classes change what the reader does
# with the text that follows; a subtree free of them passes its text through as a whole.
_READ_INSIDE_CAPTURE = _TEXT_TAGS | HIDDEN_ELEMENTS
_CLASSES_INSIDE_CAPTURE = SKIPPED_CLASSES | LINE_NUMBER_CLASSES


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


# A block boundary is a third of a body's segments: all are equal and frozen, so they share
# one instance (building a frozen dataclass costs a call to object.__setattr__ per field).
_BREAK = Segment(Kind.BREAK)
_BREAK_IN_TABLE = Segment(Kind.BREAK, in_table=True)


@dataclass(frozen=True)
class Document:
    """A sanitized post body and what one reading of it found."""

    html: str
    #: Visible text, block boundaries as single spaces, TeX annotations left out; a formula
    #: with a ``text/plain`` annotation reads as that annotation ("10⁻⁶", not "10−6").
    text: str
    #: ``(level, id, text)`` of every heading that has an ``id``.
    headings: tuple[tuple[int, str, str], ...]
    first_image: str | None
    segments: tuple[Segment, ...]


@dataclass
class _Capture:
    kind: Kind
    is_block: bool
    parts: list[str] = field(default_factory=list)
    tex: list[str] = field(default_factory=list)
    readable: list[str] = field(default_factory=list)
    in_annotation: bool = False
    in_readable: bool = False


class _Reader:
    """Builds a :class:`Document` from the body's tags and text, in source order."""

    def __init__(self) -> None:
        # Plain text, headings, first image.
        self.parts: list[str] = []
        self.headings: list[tuple[int, str, str]] = []
        self.first_image: str | None = None
        self._heading: tuple[int, str] | None = None
        self._heading_text: list[str] = []
        self._not_text = 0
        self._semantics: tuple[int, list[str]] | None = None
        self._plain: list[str] | None = None
        # Segments.
        self.segments: list[Segment] = []
        self._open: list[tuple[str, Callable[[], None] | None]] = []
        self._skip_depth = 0
        self._table_depth = 0
        self._literal_depth = 0
        self._literal: list[str] = []
        self._capture: _Capture | None = None

    @property
    def capturing(self) -> bool:
        """Whether the reader is inside a formula or a code block, read as a whole."""
        return self._capture is not None

    # -- what the parser found -----------------------------------------------------------

    def handle_starttag(self, tag: str, attributes: dict[str, str]) -> None:
        if tag in _TEXT_TAGS:
            self._text_start(tag, attributes)
        if tag in VOID_ELEMENTS:
            self._void(tag, attributes)
            return
        names = attributes.get("class")
        classes = frozenset(names.split()) if names else _NO_CLASSES
        self._open.append((tag, self._enter(tag, attributes, classes)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _TEXT_TAGS:
            self._text_end(tag)
        if self._open and self._open[-1][0] == tag:  # the usual case: a well-formed body
            on_close = self._open.pop()[1]
            if on_close is not None:
                on_close()
            return
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
        if self._plain is not None:
            self._plain.append(data)
        if not self._not_text:
            self.parts.append(data)
            if self._heading:
                self._heading_text.append(data)
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

    # -- plain text and headings --------------------------------------------------------

    def _text_start(self, tag: str, attributes: dict[str, str]) -> None:
        if tag == "semantics" and self._semantics is None:
            self._semantics = (len(self.parts), [])
        if (
            tag == "annotation"
            and self._semantics is not None
            and attributes.get("encoding") == READABLE_ENCODING
        ):
            self._plain = self._semantics[1]
        if tag in _NOT_TEXT:
            self._not_text += 1
        if tag in BLOCK_ELEMENTS or tag == "br":
            self.parts.append(" ")
        if tag == "img" and self.first_image is None:
            self.first_image = attributes.get("src") or None
        if tag in HEADING_ELEMENTS and attributes.get("id"):
            self._heading, self._heading_text = (int(tag[1]), attributes["id"]), []

    def _text_end(self, tag: str) -> None:
        if tag == "annotation":
            self._plain = None
        if tag == "semantics" and self._semantics is not None:
            start, plain = self._semantics
            if plain:
                del self.parts[start:]
                self.parts.append("".join(plain))
            self._semantics = None
        if tag in _NOT_TEXT and self._not_text:
            self._not_text -= 1
        if tag in BLOCK_ELEMENTS or tag == "br":
            self.parts.append(" ")
        if self._heading and tag == f"h{self._heading[0]}":
            text = re.sub(r"\s+", " ", "".join(self._heading_text)).strip()
            self.headings.append((*self._heading, text))
            self._heading = None

    # -- segments -----------------------------------------------------------------------

    def _emit(self, kind: Kind, text: str = "") -> None:
        self.segments.append(Segment(kind, text, in_table=self._table_depth > 0))

    def _break(self) -> None:
        self.segments.append(_BREAK_IN_TABLE if self._table_depth > 0 else _BREAK)

    def _void(self, tag: str, attributes: dict[str, str]) -> None:
        if self._skip_depth or self._capture is not None:
            return
        if tag == "img":
            self._emit(Kind.IMAGE, attributes.get("alt", ""))
        elif tag in {"br", "hr"}:
            self._break()

    def _enter(
        self, tag: str, attributes: dict[str, str], classes: frozenset[str]
    ) -> Callable[[], None] | None:
        capture = self._capture
        if self._skip_depth or tag in HIDDEN_ELEMENTS or not classes.isdisjoint(SKIPPED_CLASSES):
            return self._start_skip()
        if capture is not None:
            if not classes.isdisjoint(LINE_NUMBER_CLASSES):
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
                self._break()
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
            self._break()
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
            # one it has no text and an excerpt shows the formula placeholder.
            self._emit(capture.kind, "".join(capture.readable).strip())
        if capture.is_block:
            self._break()

    def _end_table(self) -> None:
        self._table_depth -= 1
        self._break()

    def _end_literal(self) -> None:
        self._literal_depth -= 1
        if not self._literal_depth:
            self._emit(Kind.LITERAL, "".join(self._literal))
            self._literal.clear()

    def _end_block(self) -> None:
        self._break()


def _captured_kind(tag: str, attributes: dict[str, str], classes: frozenset[str]) -> Kind | None:
    """Return the kind of an element read as a whole (a formula or a code block), if it is one."""
    if tag == "pre" or ("highlight" in classes and tag == "div"):
        return Kind.CODE_BLOCK
    for name, kind in SEGMENT_CLASSES.items():
        if name in classes:
            return kind
    if tag == "math":
        return Kind.DISPLAY_MATH if attributes.get("display") == "block" else Kind.INLINE_MATH
    return None


class _Tokens(HTMLParser):
    """Hands the tags and text of ``html.parser`` to a reader: the exact reading of the source
    as written, for the rare body libxml2 would have read differently."""

    def __init__(self, reader: _Reader) -> None:
        super().__init__(convert_charrefs=True)
        self.reader = reader

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.reader.handle_starttag(tag, {name: value or "" for name, value in attrs})

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.reader.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        self.reader.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        self.reader.handle_data(data)


def _parsed_body(html: str) -> Any:
    """The ``<body>`` libxml2 builds from ``html``, or ``None`` if it had to restructure it.

    The sanitizer writes a well-formed tree (every element closed, in order), which
    libxml2 reads exactly as written. Only its HTML 4 rules differ from HTML5's on markup
    the sanitizer may pass through, such as a ``<p>`` inside a heading: libxml2 closes the
    heading early and then reports the heading's own end tag as unexpected. Any reported
    error, a NUL (which it would replace silently) or an element whose content it would
    read as text (``<xmp>``, ``<iframe>``..., which a plugin may allow) means the tree may
    differ from the source, so the caller reads the source with :mod:`html.parser` instead.
    """
    if "\0" in html or _RAW_TEXT_START.search(html):
        return None
    # A parser per call: an lxml parser must not be shared between threads.
    parser = etree.HTMLParser(
        remove_comments=True,
        remove_pis=True,
        no_network=True,
        default_doctype=False,
    )
    # Wrapped, so that libxml2 keeps leading text and whitespace where they are.
    root = etree.fromstring(f"<html><body>{html}</body></html>", parser)
    if len(parser.error_log) or root is None:
        return None
    return root.find("body")


def _walk(body: Any, reader: _Reader) -> None:
    """Hand ``body``'s tags and text to ``reader`` in source order, as a tokenizer would."""
    # The reader's methods, looked up once: this loop runs for every element of the body.
    start_tag, end_tag, data = reader.handle_starttag, reader.handle_endtag, reader.handle_data
    if body.text:
        data(body.text)
    walker = etree.iterwalk(body, events=("start", "end"))
    for event, element in walker:
        if element is body:
            continue
        tag = element.tag
        if event == "start":
            items = element.items()
            start_tag(tag, dict(items) if items else _NO_ATTRIBUTES)
            if (
                reader._capture is not None
                and tag not in VOID_ELEMENTS
                and _passes_text_through(element)
            ):
                # Most of a formula's MathML and of a code block's spans: the reader would
                # only collect their text, so it gets that text in one piece.
                text = "".join(element.itertext())
                if text:
                    data(text)
                walker.skip_subtree()
            elif element.text:
                data(element.text)
        else:
            if tag not in VOID_ELEMENTS:
                end_tag(tag)
            if element.tail:
                data(element.tail)


def _passes_text_through(element: Any) -> bool:
    """Whether inside a capture the reader only collects the text of ``element``'s subtree:
    no descendant opens or closes a block, an annotation, a skipped or hidden part."""
    for child in element:
        if child.tag in _READ_INSIDE_CAPTURE:
            return False
    for descendant in element.iterdescendants():
        if descendant.tag in _READ_INSIDE_CAPTURE:
            return False
        names = descendant.get("class")
        if names and not _CLASSES_INSIDE_CAPTURE.isdisjoint(names.split()):
            return False
    return True


def read_document(html: str) -> Document:
    """Parse sanitized ``html`` once and return everything the save pipeline needs from it."""
    reader = _Reader()
    body = _parsed_body(html)
    if body is not None:
        _walk(body, reader)
    else:
        tokens = _Tokens(reader)
        tokens.feed(html)
        tokens.close()
    text = re.sub(r"\s+", " ", "".join(reader.parts)).strip()
    return Document(
        html=html,
        text=text,
        headings=tuple(reader.headings),
        first_image=reader.first_image,
        segments=tuple(reader.segments),
    )


@dataclass(frozen=True)
class PostDraft:
    """A read-only copy of the post being rendered, as the save-time hooks receive it.

    It carries what the author set (the fields of the post's form or front matter); the
    database row itself stays with the core, so a hook cannot change it by accident.
    """

    title: str
    source: str
    slug: str | None = None
    lang: str = "zh-Hans"
    kind: str = "post"
    status: str | None = None
    meta: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    category: str | None = None
    tags: tuple[str, ...] = ()
    id: int | None = None

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # Sent to render worker processes; a mappingproxy cannot be pickled, its dict can.
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        values["meta"] = dict(self.meta)
        return _draft_from, (values,)

    @classmethod
    def of(cls, post: Any) -> PostDraft:
        """Copy the author-set fields of ``post`` (a stored or an unsaved ``Post``)."""
        category = getattr(post, "category", None)
        return cls(
            title=post.title or "",
            source=post.source or "",
            slug=getattr(post, "slug", None),
            lang=getattr(post, "lang", None) or "zh-Hans",
            kind=getattr(post, "kind", None) or "post",
            status=getattr(post, "status", None),
            meta=MappingProxyType(dict(getattr(post, "meta", None) or {})),
            category=category.name if category is not None else None,
            tags=tuple(tag.name for tag in (getattr(post, "tags", None) or ())),
            id=getattr(post, "id", None),
        )


def _draft_from(values: dict[str, Any]) -> PostDraft:
    return PostDraft(**{**values, "meta": MappingProxyType(values["meta"])})
