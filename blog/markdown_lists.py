"""Nested lists indented by two (or three) spaces, as CommonMark, Hexo and Hugo read them.

Python-Markdown nests a list item only when it is indented by four spaces more than its
parent; CommonMark nests it as soon as it starts at or past the parent item's text
(``- a`` → column 2, ``1. a`` → column 3). Posts written for Hexo, Hugo or GitHub nest
with two spaces (29 of 133 posts of the real blogs in ``../shared/external/migration``),
and Python-Markdown shows those as one flat list.

This preprocessor moves such an item, and the lines that belong to it, to where
Python-Markdown looks for a child: four spaces past its parent. Lines of a list that
Python-Markdown already reads as meant (four-space nesting, top-level items, code blocks
indented by four spaces) are left exactly as written, so those posts render as before.
It runs after fenced code, math and raw HTML blocks are stashed, so their lines are never
touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

#: After whitespace normalisation (tabs expanded), fenced code and raw HTML (20).
PRIORITY = 19
#: Python-Markdown's indent for a nested block.
TAB = 4

# A list item: its indent, its marker, and the spaces before its text (none when empty).
_ITEM = re.compile(r"^( *)([*+-]|\d{1,9}[.)])( +|$)")


@dataclass
class _Item:
    indent: int  # as written
    content: int  # the column its text starts at, as written (CommonMark's rule)
    moved_to: int  # where it is put for Python-Markdown

    @property
    def moved(self) -> bool:
        return self.moved_to != self.indent


def _content_column(found: re.Match[str]) -> int:
    indent, marker, spaces = found.group(1), found.group(2), found.group(3)
    # Five or more spaces after the marker start an indented code block: the text then
    # starts one space after the marker (CommonMark); an empty item likewise.
    gap = len(spaces) if 1 <= len(spaces) <= TAB else 1
    return len(indent) + len(marker) + gap


def nest_lists(lines: list[str]) -> list[str]:
    """Re-indent list items nested CommonMark-style so Python-Markdown nests them too."""
    out: list[str] = []
    open_items: list[_Item] = []
    after_blank = False
    for line in lines:
        if not line.strip():
            out.append(line)
            after_blank = True
            continue
        indent = len(line) - len(line.lstrip(" "))
        found = _ITEM.match(line)
        if found is not None and indent < TAB + (open_items[-1].content if open_items else 0):
            while open_items and indent < open_items[-1].content:
                open_items.pop()  # not inside that item: a sibling of it, or further out
            moved_to = indent
            if open_items:
                # A child: at least four spaces past where its parent now stands.
                parent = open_items[-1]
                moved_to = parent.moved_to + max(TAB, indent - parent.indent)
            item = _Item(indent, _content_column(found), moved_to)
            open_items.append(item)
            out.append(" " * moved_to + line[indent:])
        elif not open_items:
            out.append(line)
        elif indent == 0:
            # A line at the margin ends every open item (or continues a paragraph lazily,
            # which Python-Markdown reads the same wherever the item was put).
            open_items.clear()
            out.append(line)
        elif not after_blank:
            out.append(line)  # a lazy continuation line: the paragraph it continues decides
        else:
            while open_items and indent < open_items[-1].content:
                open_items.pop()
            owner = open_items[-1] if open_items else None
            if owner is None or not owner.moved:
                out.append(line)
                if owner is not None and indent < owner.moved_to + TAB:
                    # Python-Markdown ends the list at a block indented less than this
                    # (CommonMark would keep it in the item): later items are not nested
                    # in it, so they are left as written.
                    open_items.clear()
            else:
                # A paragraph or code block of a moved item keeps its place in that item.
                extra = indent - owner.content
                out.append(" " * (owner.moved_to + TAB + extra) + line[indent:])
        after_blank = False
    return out


class NestedListPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return nest_lists(lines)


class NestedListExtension(Extension):
    """Two-space (CommonMark) list nesting for Python-Markdown."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(NestedListPreprocessor(md), "nested_lists", PRIORITY)
