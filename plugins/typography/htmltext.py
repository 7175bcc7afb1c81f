"""Apply text rules to the prose of an HTML fragment and reproduce everything else byte for byte.

The fragment is cut into pieces by a scan that reads tags as ``html.parser`` does: markup
(tags, comments), prose text, character references, and text the rules must not change. The
prose of the whole fragment is joined into one string, block boundaries becoming a
paragraph separator, so a rule sees ``中文<strong>English</strong>`` as ``中文English``
and can space across the tag. Text in ``code``, ``math``, ``translate="no"`` and the
like, and an element whose ``lang`` is not Chinese, stay in the joined string as context
(``用<code>pip</code>安装`` is spaced around the code) but are never edited; ruby
annotations, scripts and styles are left out entirely.
"""

from __future__ import annotations

import functools
import html
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, overload

from blog.api import (
    BLOCK_ELEMENTS,
    HIDDEN_ELEMENTS,
    VOID_ELEMENTS,
    FragmentCache,
    join_fragments,
    leaves_text_alone,
    split_fragments,
)

Edit = tuple[int, int, str]
Rule = Callable[[str, Sequence[bool]], list[Edit]]
PieceKind = Literal["markup", "text", "reference", "protected"]

PARAGRAPH_BREAK = "\u2029"
#: The place :func:`blog.api.split_fragments` leaves for a fragment: its two marks.
_FRAGMENT_START = "<!--blog:fragment-->"
_FRAGMENT_END = "<!--/blog:fragment-->"

# Element knowledge and the "do not touch" rule are the core's (blog.elements); ruby
# readings are not part of the sentence around them: they would read as 汉(hàn)字.
_HIDDEN = HIDDEN_ELEMENTS | {"rt", "rp"}


@dataclass
class _Piece:
    kind: PieceKind
    raw: str
    text: str
    depth: int


#: One token of markup at a ``<``: a comment, a declaration or processing instruction, an
#: end tag or a start tag (quoted attribute values may hold ``>``). A ``<`` that starts none
#: of these is text, as browsers and ``html.parser`` read it.
_MARKUP = re.compile(
    r"""<!--.*?(?:--!?>|\Z)
      | <[!?][^>]*>
      | </(?P<end>[a-zA-Z][^\s/>]*)[^>]*>
      | <(?P<start>[a-zA-Z][^\s/>]*)(?P<attrs>(?:[^>"']|"[^"]*"|'[^']*')*)>
    """,
    re.DOTALL | re.VERBOSE,
)
_ATTRIBUTE = re.compile(r"""([^\s/>"'=][^\s/>=]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")
#: A character reference as ``html.parser`` reports it; ``;`` is optional in HTML.
_REFERENCE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][-.a-zA-Z0-9]*);?")
#: Elements whose content is raw text up to their end tag (``html.parser``'s choice).
_RAW_TEXT = frozenset({"script", "style"})
_Mode = Literal["prose", "protected", "hidden"]
#: In protected content: what the one-piece shortcut does not handle (comments,
#: declarations, raw text, hidden elements).
_UNUSUAL = re.compile(r"<[!?]|<(?:script|style|template|noscript|rt|rp)(?=[\s/>])", re.IGNORECASE)
_END_TAG_NAMES = re.compile(r"</([a-zA-Z][^\s/>]*)")
#: The start of any start or end tag of a block element (a tag ``_MARKUP`` reads as one).
_BLOCK_TAG = re.compile(
    r"</?(?:" + "|".join(sorted(BLOCK_ELEMENTS)) + r")(?=[\s/>])", re.IGNORECASE
)


@functools.lru_cache(maxsize=64)
def _same_name(tag: str) -> re.Pattern[str]:
    """Start and end tags of ``tag`` (group 1 is ``/`` for an end tag)."""
    return re.compile(rf"<(/?){re.escape(tag)}(?=[\s/>])", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _element_mode(tag: str, attrs: str) -> _Mode:
    """How the content of a non-void ``tag`` with source attributes ``attrs`` is treated.

    Cached: a page repeats a few start tags (``<p>``, ``<span class="…">``) thousands of
    times, and the answer depends on nothing else.
    """
    if tag in _HIDDEN:
        return "hidden"
    attributes = _attributes(attrs)
    if leaves_text_alone(tag, attributes) or _not_chinese(attributes.get("lang")):
        return "protected"
    return "prose"


def _not_chinese(lang: str | None) -> bool:
    """Whether ``lang`` names a language other than Chinese: an English post's card on a
    Chinese listing keeps its own quotes and spacing, as its page does."""
    primary = (lang or "").strip().split("-")[0].lower()
    return bool(primary) and primary != "zh"


def _attributes(text: str) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for match in _ATTRIBUTE.finditer(text):
        name, value = match.group(1).lower(), match.group(2)
        if value is not None and value[:1] in ("'", '"'):
            value = value[1:-1]
        found.setdefault(name, None if value is None else html.unescape(value))
    return found


class _Splitter:
    """Cut the source into tokens and record where each starts and what it means.

    A regular-expression scan rather than ``html.parser``: a page of formulas and
    highlighted code is thousands of tags, and this runs on whole pages for every reader
    of a variant with corner quotes.
    """

    def __init__(self, breaks_only: bool = False) -> None:
        # (start offset, kind, text contributed to the prose, nesting depth)
        self.tokens: list[tuple[int, PieceKind, str | None, int]] = []
        # A protected subtree's text then only says whether it breaks the paragraph
        # (see transform_marks): the exact text is most of the scan's cost on a page of
        # formulas and code.
        self._breaks_only = breaks_only
        self._open: list[tuple[str, _Mode]] = []
        # How many open elements are in each mode: asked for every text token.
        self._hidden = 0
        self._protected = 0
        #: The mode at each fragment's place and the index of its start mark's token.
        self.slots: list[tuple[_Mode, int]] = []

    def feed(self, source: str) -> None:
        position = 0
        length = len(source)
        while position < length:
            next_lt = source.find("<", position)
            match = None
            while next_lt >= 0:
                match = _MARKUP.match(source, next_lt)
                if match is not None:
                    break
                next_lt = source.find("<", next_lt + 1)
            text_end = length if next_lt < 0 else next_lt
            if text_end > position:
                self._text(source, position, text_end)
            if next_lt < 0 or match is None:
                return
            position = match.end()
            if match.group("end"):
                self._end_tag(next_lt, match.group("end").lower())
            elif match.group("start"):
                tag = match.group("start").lower()
                attrs = match.group("attrs")
                if attrs.endswith("/"):
                    self._markup(next_lt, self._break_for(tag))
                    continue
                self._start_tag(next_lt, tag, attrs)
                if (
                    self._protected == 1
                    and not self._hidden
                    and self._open[-1] == (tag, "protected")
                ):
                    position = self._protected_subtree(source, position, tag)
                elif tag in _RAW_TEXT:
                    close = re.compile(rf"</{tag}(?=[\s/>])", re.IGNORECASE).search(
                        source, position
                    )
                    raw_end = length if close is None else close.start()
                    if raw_end > position:
                        self._content(position, is_reference=False)
                    position = raw_end
            else:
                if match.group() == _FRAGMENT_START:
                    self.slots.append((self._mode(), len(self.tokens)))
                self._markup(next_lt)

    def _protected_subtree(self, source: str, start: int, tag: str) -> int:
        """Take the content of the just-opened protected ``tag`` as one piece; return its end.

        Formulas and highlighted code are most of a page's tags, and none of their text is
        ever edited, so only the text they add to the prose (context for the rules) is
        worked out, without a token each. Content the scan would read differently (a
        comment, raw text, an end tag of an element open outside) is tokenized as usual.
        """
        depth = 1
        for match in _same_name(tag).finditer(source, start):
            depth += -1 if match.group(1) else 1
            if depth == 0:
                break
        else:
            return start
        inner = source[start : match.start()]
        if not inner or _UNUSUAL.search(inner):
            return start
        outside = {name for name, _ in self._open[:-1]}
        if any(name.lower() in outside for name in _END_TAG_NAMES.findall(inner)):
            return start
        if self._breaks_only:
            text = PARAGRAPH_BREAK if self._breaks_paragraph(inner) else ""
            self.tokens.append((start, "protected", text, len(self._open)))
            return match.start()
        parts = []
        position = 0
        for markup in _MARKUP.finditer(inner):
            parts.append(html.unescape(inner[position : markup.start()]))
            name = markup.group("end") or markup.group("start")
            parts.append(self._break_for(name.lower()))
            position = markup.end()
        parts.append(html.unescape(inner[position:]))
        self.tokens.append((start, "protected", "".join(parts), len(self._open)))
        return match.start()

    def _breaks_paragraph(self, inner: str) -> bool:
        """Whether the text the full scan takes from ``inner`` holds a paragraph break."""
        # A cheap test first, which finds every break the exact walk below finds (it may
        # also find some the walk does not, in attribute values): most formulas and code
        # hold neither a block tag nor a break character.
        if _BLOCK_TAG.search(inner) is None and not _has_break(inner):
            return False
        position = 0
        for markup in _MARKUP.finditer(inner):
            if _has_break(inner[position : markup.start()]):
                return True
            name = markup.group("end") or markup.group("start")
            if name.lower() in BLOCK_ELEMENTS:
                return True
            position = markup.end()
        return _has_break(inner[position:])

    def _text(self, source: str, start: int, end: int) -> None:
        position = start
        for reference in _REFERENCE.finditer(source, start, end):
            if reference.start() > position:
                self._content(position, is_reference=False)
            self._content(reference.start(), is_reference=True)
            position = reference.end()
        if position < end:
            self._content(position, is_reference=False)

    def _mode(self) -> _Mode:
        if self._hidden:
            return "hidden"
        return "protected" if self._protected else "prose"

    def _markup(self, offset: int, text: str = "") -> None:
        self.tokens.append((offset, "markup", text, len(self._open)))

    def _break_for(self, tag: str) -> str:
        if tag in BLOCK_ELEMENTS:
            return PARAGRAPH_BREAK
        return "\n" if tag == "br" else ""

    def _start_tag(self, offset: int, tag: str, attrs: str) -> None:
        self._markup(offset, self._break_for(tag))
        if tag in VOID_ELEMENTS:
            return
        mode = _element_mode(tag, attrs)
        self._open.append((tag, mode))
        self._count(mode, 1)

    def _count(self, mode: str, change: int) -> None:
        if mode == "hidden":
            self._hidden += change
        elif mode == "protected":
            self._protected += change

    def _end_tag(self, offset: int, tag: str) -> None:
        self._markup(offset, self._break_for(tag))
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth][0] == tag:
                for _, mode in self._open[depth:]:
                    self._count(mode, -1)
                del self._open[depth:]
                break

    def _content(self, offset: int, is_reference: bool) -> None:
        mode = self._mode()
        kind: PieceKind
        if mode == "hidden":
            kind = "markup"
        elif mode == "protected":
            kind = "protected"
        else:
            kind = "reference" if is_reference else "text"
        # None: the text is the raw source of the token, decoded once it is cut out.
        self.tokens.append((offset, kind, None if kind != "markup" else "", len(self._open)))


def _has_break(raw: str) -> bool:
    """Whether ``raw`` decoded (as :func:`html.unescape` does) holds a paragraph break."""
    if PARAGRAPH_BREAK in raw:
        return True
    return "&" in raw and PARAGRAPH_BREAK in html.unescape(raw)


def _split(source: str) -> list[_Piece]:
    splitter = _Splitter()
    splitter.feed(source)
    pieces = []
    tokens = splitter.tokens
    for position, (start, kind, text, depth) in enumerate(tokens):
        end = tokens[position + 1][0] if position + 1 < len(tokens) else len(source)
        raw = source[start:end]
        if not raw:
            continue
        decoded = html.unescape(raw) if text is None else text
        if kind == "text" and decoded != raw:
            # A bare ``&`` the parser passed on as data: edit around it, never inside it.
            kind = "reference"
        pieces.append(_Piece(kind, raw, decoded, depth))
    covered = sum(len(piece.raw) for piece in pieces)
    if not tokens or covered != len(source) or tokens[0][0] != 0:
        # The parser skipped something it could not tokenise: keep the fragment verbatim.
        return [_Piece("markup", source, "", 0)]
    return pieces


@dataclass
class _Placed:
    piece: int
    start: int
    end: int
    replacement: str


class _Layout:
    """Where each piece that contributes text lies in the joined prose string."""

    def __init__(self, pieces: list[_Piece]) -> None:
        self.pieces = pieces
        self.indices = [index for index, piece in enumerate(pieces) if piece.text]
        self.starts = []
        position = 0
        for index in self.indices:
            self.starts.append(position)
            position += len(pieces[index].text)

    def _at(self, position: int) -> int:
        """Rank in ``indices`` of the last text piece starting at or before ``position``."""
        return bisect_right(self.starts, position) - 1

    def place(self, edit: Edit) -> _Placed | None:
        """Find the piece an edit belongs to, or ``None`` when it would touch protected text."""
        start, end, replacement = edit
        rank = self._at(start)
        if rank < 0:
            return None
        index = self.indices[rank]
        piece = self.pieces[index]
        piece_start = self.starts[rank]
        piece_end = piece_start + len(piece.text)
        if start < end or piece_start < start < piece_end:
            if piece.kind != "text" or end > piece_end:
                return None
            return _Placed(index, start - piece_start, end - piece_start, replacement)
        if piece_start == start:
            before = self.indices[rank - 1] if rank > 0 else None
            after: int | None = index
        else:
            before, after = index, None
        editable = [
            candidate
            for candidate in (before, after)
            if candidate is not None and self.pieces[candidate].kind in ("text", "reference")
        ]
        if not editable:
            return None
        # Put an inserted space on the outer side of an inline element: 中文 <b>English</b>.
        chosen = min(editable, key=lambda candidate: self.pieces[candidate].depth)
        offset = len(self.pieces[chosen].text) if chosen == before else 0
        return _Placed(chosen, offset, offset, replacement)


class _Editable(Sequence[bool]):
    """Whether each character of the joined prose may be edited, looked up when asked:
    rules read it only at the few characters they consider."""

    def __init__(self, layout: _Layout, size: int) -> None:
        self.layout = layout
        self.size = size

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> bool: ...

    @overload
    def __getitem__(self, index: slice) -> list[bool]: ...

    def __getitem__(self, index: int | slice) -> bool | list[bool]:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(self.size))]
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(index)
        layout = self.layout
        return layout.pieces[layout.indices[layout._at(index)]].kind == "text"


def _apply(pieces: list[_Piece], rules: Sequence[Rule]) -> None:
    """Run ``rules`` one after another over ``pieces``, editing them in place."""
    joined: str | None = None
    for rule in rules:
        if joined is None:  # first, or the previous rule changed the text
            joined = "".join(piece.text for piece in pieces)
            layout = _Layout(pieces)
            editable = _Editable(layout, len(joined))
        placed = [
            spot for edit in rule(joined, editable) if (spot := layout.place(edit)) is not None
        ]
        if placed:
            _edit(pieces, placed)
            joined = None


def _edit(pieces: list[_Piece], placed: list[_Placed]) -> None:
    for spot in sorted(placed, key=lambda spot: (spot.piece, spot.start), reverse=True):
        piece = pieces[spot.piece]
        if piece.kind == "reference":
            # A character reference is kept whole; a space goes beside it.
            if spot.start:
                piece.raw, piece.text = piece.raw + spot.replacement, piece.text + spot.replacement
            else:
                piece.raw, piece.text = spot.replacement + piece.raw, spot.replacement + piece.text
        else:
            piece.raw = piece.raw[: spot.start] + spot.replacement + piece.raw[spot.end :]
            piece.text = piece.raw


def transform_html(source: str, rules: Sequence[Rule]) -> str:
    """Run ``rules`` one after another over the prose of ``source`` and return the new HTML."""
    if not rules or not source:
        return source
    pieces = _split(source)
    _apply(pieces, rules)
    return "".join(piece.raw for piece in pieces)


def transform_marks(source: str, rule: Rule, marks: str, cache: FragmentCache | None = None) -> str:
    """Run one ``rule`` that reads only ``marks`` and paragraph breaks; same result as
    :func:`transform_html` with ``[rule]``, without building the page's prose string.

    The rule must act only on characters of ``marks`` (each edit replaces one of them) and
    decide only from those characters, where paragraphs break and which of them are
    editable, as the corner quotes do. It is then given a string of just those characters,
    in page order: the marks of editable text and a break wherever the prose string
    holds one or more. Marks in protected text are left out: the rule may never edit them.
    This is a response filter's path over whole pages, so only the tag scan is paid for.

    With ``cache``, a marked fragment (a post's body) that stands as a paragraph of its
    own in prose is edited on its own and kept, and only the rest of the page is scanned;
    the rule must then decide nothing across a paragraph break (the corner quotes pair
    within one paragraph).
    """
    if not source:
        return source
    if cache is not None:
        page, fragments = split_fragments(source)
        if fragments:
            edited = _with_fragments(page, fragments, rule, marks, cache)
            if edited is not None:
                return edited
    splitter = _Splitter(breaks_only=True)
    splitter.feed(source)
    edited = _MarkStream(source, splitter.tokens, marks).edit(rule)
    return source if edited is None else edited


def _with_fragments(
    page: str, fragments: list[str], rule: Rule, marks: str, cache: FragmentCache
) -> str | None:
    """``page`` edited with its ``fragments`` put back, or ``None`` when a fragment's edits
    could depend on the page around it (then the whole page is scanned).

    A fragment is edited on its own when its place is prose and, in the string of marks
    and breaks the rule reads, a paragraph break (or the page's edge) stands on each side
    of it: the rule then starts afresh inside it, and nothing in it pairs with the page.
    White space, tags that break no paragraph and text without marks may lie between.
    """
    splitter = _Splitter(breaks_only=True)
    splitter.feed(page)
    tokens = splitter.tokens
    if len(splitter.slots) != len(fragments):
        return None
    stream = _MarkStream(page, tokens, marks)
    if stream.characters is None:
        return None
    for mode, index in splitter.slots:
        if mode != "prose" or index + 1 >= len(tokens):
            return None
        if not page.startswith(_FRAGMENT_END, tokens[index + 1][0]):
            return None
        # The two marks add nothing to the string: the fragment sits between the
        # characters before the start mark's token and those from it on.
        place = stream.before_token[index]
        characters = stream.characters
        if place > 0 and characters[place - 1] != PARAGRAPH_BREAK:
            return None
        if place < len(characters) and characters[place] != PARAGRAPH_BREAK:
            return None
    edited_fragments = []
    for fragment in fragments:
        key = (rule, marks, fragment)
        edited = cache.get(key)
        if edited is None:
            fragment_splitter = _Splitter(breaks_only=True)
            fragment_splitter.feed(fragment)
            edited = _MarkStream(fragment, fragment_splitter.tokens, marks).edit(rule)
            if edited is None:
                return None
            cache.put(key, edited, len(fragment))
        edited_fragments.append(edited)
    edited_page = stream.edit(rule)
    if edited_page is None:
        return None
    return join_fragments(edited_page, edited_fragments)


class _MarkStream:
    """The characters a marks-only rule reads from ``source``: its editable ``marks`` and a
    paragraph break wherever the prose string holds one or more, in page order."""

    def __init__(
        self, source: str, tokens: list[tuple[int, PieceKind, str | None, int]], marks: str
    ) -> None:
        self.source = source
        found = re.compile("[" + re.escape(marks + PARAGRAPH_BREAK) + "]")
        characters: list[str] = []
        #: Where each character lies in ``source`` (-1: a break, never edited).
        self.offsets: list[int] = []
        #: How many characters come before each token.
        self.before_token: list[int] = []
        covered = 0
        for position, (start, kind, text, _depth) in enumerate(tokens):
            self.before_token.append(len(characters))
            end = tokens[position + 1][0] if position + 1 < len(tokens) else len(source)
            if end <= start:
                continue
            covered += end - start
            if kind == "text" and (
                "&" not in source[start:end] or not _decodes(source, start, end)
            ):
                for mark in found.finditer(source, start, end):
                    characters.append(mark.group())
                    self.offsets.append(mark.start())
            elif _has_break(source[start:end]) if text is None else PARAGRAPH_BREAK in text:
                characters.append(PARAGRAPH_BREAK)
                self.offsets.append(-1)
        #: ``None`` when the scan did not cover the source (transform_html keeps such a
        #: fragment as it is).
        self.characters: str | None = "".join(characters)
        if not tokens or covered != len(source) or tokens[0][0] != 0:
            self.characters = None

    def edit(self, rule: Rule) -> str | None:
        """``source`` with ``rule``'s edits, or ``None`` when the scan did not cover it."""
        if self.characters is None:
            return None
        offsets = self.offsets
        edits = rule(self.characters, [offset >= 0 for offset in offsets])
        if not edits:
            return self.source
        parts = []
        position = 0
        for start, end, replacement in sorted(edits):
            if end != start + 1 or offsets[start] < 0:
                raise ValueError(f"{rule.__name__} edits more than one mark: {(start, end)}")
            parts.append(self.source[position : offsets[start]])
            parts.append(replacement)
            position = offsets[start] + 1
        parts.append(self.source[position:])
        return "".join(parts)


def _decodes(source: str, start: int, end: int) -> bool:
    """Whether the text ``source[start:end]`` holds a reference (a bare ``&`` is text)."""
    raw = source[start:end]
    return html.unescape(raw) != raw
