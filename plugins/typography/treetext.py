"""Apply the typography rules to Markdown's element tree, before it is serialised.

A Python-Markdown treeprocessor: the tree already holds every element Markdown made, so
the prose is read from ``text`` and ``tail`` without parsing HTML at all. What Markdown
keeps in its HTML stash (raw HTML, formulas, highlighted code, character references) sits
in the text as placeholders: an inline tag is markup, a character reference is a
reference (spaced beside, never inside), anything else is verbatim context (its text is
seen by the rules, as ``用<code>pip</code>安装`` is spaced around the code, but never
edited). Element knowledge and the "do not touch" rule come from :mod:`blog.api`.

It runs after the ``toc`` treeprocessor (priority 5), so heading ids are those of the
text as written, and before ``unescape`` (0), so backslash escapes stay placeholders.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable, Sequence
from typing import Literal

from markdown import Markdown
from markdown.extensions import Extension
from markdown.extensions.footnotes import NBSP_PLACEHOLDER
from markdown.treeprocessors import Treeprocessor

from blog.api import BLOCK_ELEMENTS, HIDDEN_ELEMENTS, leaves_text_alone

from .htmltext import PARAGRAPH_BREAK, PieceKind, Rule, _apply, _Piece

PRIORITY = 4
# Ruby readings are not part of the sentence around them (see htmltext).
_HIDDEN = HIDDEN_ELEMENTS | {"rt", "rp"}
# HTML stash placeholders and backslash-escape placeholders, as Python-Markdown writes them.
# Any other STX…ETX token is an extension's own placeholder (the footnotes' no-break space).
_PLACEHOLDER = re.compile("\x02wzxhzdk:([0-9]+)\x03|\x02([0-9]+)\x03|\x02[^\x02\x03]*\x03")
_SINGLE_TAG = re.compile(r"\A</?([A-Za-z][A-Za-z0-9-]*)[^<>]*>\Z")
_TAGS = re.compile(r"<[^<>]*>")

Mode = Literal["prose", "protected", "hidden"]
# Where a text slot's new value goes once the rules have run.
Slot = tuple[etree.Element, Literal["text", "tail"], list[int]]


class _Collector:
    """The tree's prose as pieces (as :mod:`.htmltext` cuts HTML), and where each came from."""

    def __init__(self, md: Markdown) -> None:
        self.md = md
        self.pieces: list[_Piece] = []
        self.slots: list[Slot] = []

    def walk(self, element: etree.Element, mode: Mode, depth: int) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        self._markup(tag, depth)
        if tag in _HIDDEN:
            inner: Mode = "hidden"
        elif mode == "prose" and leaves_text_alone(tag, element.attrib):
            inner = "protected"
        else:
            inner = mode
        self._text(element, "text", inner, depth + 1)
        for child in element:
            self.walk(child, inner, depth + 1)
            self._text(child, "tail", mode, depth)
        self._markup(tag, depth)

    def _markup(self, tag: str, depth: int) -> None:
        if separator := _break_for(tag):
            self.pieces.append(_Piece("markup", "", separator, depth))

    def _text(
        self, element: etree.Element, where: Literal["text", "tail"], mode: Mode, depth: int
    ) -> None:
        value = getattr(element, where)
        if not value:
            return
        indices: list[int] = []
        position = 0
        for found in _PLACEHOLDER.finditer(value):
            self._run(value[position : found.start()], mode, depth, indices)
            indices.append(len(self.pieces))
            self.pieces.append(self._placeholder(found, mode, depth))
            position = found.end()
        self._run(value[position:], mode, depth, indices)
        self.slots.append((element, where, indices))

    def _run(self, text: str, mode: Mode, depth: int, indices: list[int]) -> None:
        if not text:
            return
        indices.append(len(self.pieces))
        if mode == "hidden":
            self.pieces.append(_Piece("markup", text, "", depth))
        else:
            self.pieces.append(
                _Piece("text" if mode == "prose" else "protected", text, text, depth)
            )

    def _placeholder(self, found: re.Match[str], mode: Mode, depth: int) -> _Piece:
        raw = found.group(0)
        if raw == NBSP_PLACEHOLDER:
            return _Piece("reference", raw, "\xa0", depth)
        if found.group(1) is None and found.group(2) is None:
            return _Piece("markup", raw, "", depth)
        if found.group(2) is not None:  # a backslash escape: one literal character
            kind: PieceKind = "reference" if mode == "prose" else "protected"
            return _Piece(kind, raw, chr(int(found.group(2))), depth)
        stashed = self.md.htmlStash.rawHtmlBlocks[int(found.group(1))]
        if not isinstance(stashed, str):
            return _Piece("protected", raw, "".join(stashed.itertext()), depth)
        if tag := _SINGLE_TAG.match(stashed):
            # Raw HTML written inline: a tag, breaking the text as the element would.
            return _Piece("markup", raw, _break_for(tag.group(1).lower()), depth)
        if stashed.startswith("&") and stashed.endswith(";") and mode == "prose":
            return _Piece("reference", raw, html.unescape(stashed), depth)
        # Rendered fragments (formulas, code): their text is context, never edited.
        return _Piece("protected", raw, html.unescape(_TAGS.sub("", stashed)), depth)

    def write_back(self) -> None:
        for element, where, indices in self.slots:
            setattr(element, where, "".join(self.pieces[index].raw for index in indices))


def _break_for(tag: str) -> str:
    """What the edge of element ``tag`` puts between the words around it."""
    if tag in BLOCK_ELEMENTS:
        return PARAGRAPH_BREAK
    return "\n" if tag == "br" else ""


def transform_tree(root: etree.Element, md: Markdown, rules: Sequence[Rule]) -> None:
    """Run ``rules`` one after another over the prose of ``root``, editing it in place."""
    if not rules:
        return
    collector = _Collector(md)
    collector.walk(root, "prose", 0)
    if not any(piece.kind == "text" for piece in collector.pieces):
        return
    _apply(collector.pieces, rules)
    collector.write_back()


class _TypographyTreeprocessor(Treeprocessor):
    def __init__(self, md: Markdown, rules: Callable[[], Sequence[Rule]]) -> None:
        super().__init__(md)
        self.rules = rules

    def run(self, root: etree.Element) -> None:
        transform_tree(root, self.md, self.rules())


class TypographyExtension(Extension):
    """Apply typography ``rules`` to the prose Markdown renders (see the module docstring)."""

    def __init__(self, rules: Sequence[Rule], **kwargs: object) -> None:
        self.rules = list(rules)
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(
            _TypographyTreeprocessor(md, lambda: self.rules), "typography", PRIORITY
        )
