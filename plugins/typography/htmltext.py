"""Apply text rules to the prose of an HTML fragment and reproduce everything else byte for byte.

The fragment is cut into pieces with the standard library's ``HTMLParser``: markup (tags,
comments), prose text, character references, and text the rules must not change. The
prose of the whole fragment is joined into one string, block boundaries becoming a
paragraph separator, so a rule sees ``中文<strong>English</strong>`` as ``中文English``
and can space across the tag. Text in ``code``, ``math``, ``translate="no"`` and the
like stays in the joined string as context (``用<code>pip</code>安装`` is spaced around
the code) but is never edited; ruby annotations, scripts and styles are left out entirely.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

from blog.api import BLOCK_ELEMENTS, HIDDEN_ELEMENTS, VOID_ELEMENTS, leaves_text_alone

Edit = tuple[int, int, str]
Rule = Callable[[str, Sequence[bool]], list[Edit]]
PieceKind = Literal["markup", "text", "reference", "protected"]

PARAGRAPH_BREAK = "\u2029"
_NEWLINE = re.compile("\n")

# Element knowledge and the "do not touch" rule are the core's (blog.elements); ruby
# readings are not part of the sentence around them: they would read as 汉(hàn)字.
_HIDDEN = HIDDEN_ELEMENTS | {"rt", "rp"}


@dataclass
class _Piece:
    kind: PieceKind
    raw: str
    text: str
    depth: int


class _Splitter(HTMLParser):
    """Record where each token starts, so the source can be cut into exact pieces."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._line_starts = [0, *(match.end() for match in _NEWLINE.finditer(source))]
        # (start offset, kind, text contributed to the prose, nesting depth)
        self.tokens: list[tuple[int, PieceKind, str | None, int]] = []
        self._open: list[tuple[str, Literal["prose", "protected", "hidden"]]] = []
        # How many open elements are in each mode: asked for every text token.
        self._hidden = 0
        self._protected = 0

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _mode(self) -> Literal["prose", "protected", "hidden"]:
        if self._hidden:
            return "hidden"
        return "protected" if self._protected else "prose"

    def _markup(self, text: str = "") -> None:
        self.tokens.append((self._offset(), "markup", text, len(self._open)))

    def _break_for(self, tag: str) -> str:
        if tag in BLOCK_ELEMENTS:
            return PARAGRAPH_BREAK
        return "\n" if tag == "br" else ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._markup(self._break_for(tag))
        if tag in VOID_ELEMENTS:
            return
        attributes = dict(attrs)
        if tag in _HIDDEN:
            mode: Literal["prose", "protected", "hidden"] = "hidden"
        elif leaves_text_alone(tag, attributes):
            mode = "protected"
        else:
            mode = "prose"
        self._open.append((tag, mode))
        self._count(mode, 1)

    def _count(self, mode: str, change: int) -> None:
        if mode == "hidden":
            self._hidden += change
        elif mode == "protected":
            self._protected += change

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._markup(self._break_for(tag))

    def handle_endtag(self, tag: str) -> None:
        self._markup(self._break_for(tag))
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth][0] == tag:
                for _, mode in self._open[depth:]:
                    self._count(mode, -1)
                del self._open[depth:]
                break

    def _content(self, is_reference: bool) -> None:
        mode = self._mode()
        kind: PieceKind
        if mode == "hidden":
            kind = "markup"
        elif mode == "protected":
            kind = "protected"
        else:
            kind = "reference" if is_reference else "text"
        # None: the text is the raw source of the token, decoded once it is cut out.
        self.tokens.append(
            (self._offset(), kind, None if kind != "markup" else "", len(self._open))
        )

    def handle_data(self, data: str) -> None:
        self._content(is_reference=False)

    def handle_entityref(self, name: str) -> None:
        self._content(is_reference=True)

    def handle_charref(self, name: str) -> None:
        self._content(is_reference=True)

    def handle_comment(self, data: str) -> None:
        self._markup()

    def handle_decl(self, decl: str) -> None:
        self._markup()

    def handle_pi(self, data: str) -> None:
        self._markup()

    def unknown_decl(self, data: str) -> None:
        self._markup()


def _split(source: str) -> list[_Piece]:
    splitter = _Splitter(source)
    splitter.feed(source)
    splitter.close()
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


def _apply(pieces: list[_Piece], rule: Rule) -> None:
    joined = "".join(piece.text for piece in pieces)
    editable = [piece.kind == "text" for piece in pieces for _ in piece.text]
    layout = _Layout(pieces)
    placed = [spot for edit in rule(joined, editable) if (spot := layout.place(edit)) is not None]
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
    for rule in rules:
        _apply(pieces, rule)
    return "".join(piece.raw for piece in pieces)
