"""Pieces every converter shares: a tag walker, parameters, stashing and visible leftovers."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from blog.migrate.report import KEPT, UNKNOWN, FileReport, line_of

FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})[^\n]*\n.*?^\1\2[ \t]*$", re.M | re.S)
STASHED = re.compile(r"\x02(\d+):[^\x02\x03]*\x03")
ADMONITION_KINDS = {
    "note",
    "info",
    "tip",
    "hint",
    "important",
    "success",
    "check",
    "done",
    "question",
    "help",
    "faq",
    "warning",
    "caution",
    "attention",
    "danger",
    "error",
    "failure",
    "fail",
    "missing",
    "bug",
    "example",
    "quote",
    "cite",
    "abstract",
    "summary",
    "tldr",
    "todo",
    "primary",
    "default",
}


@dataclass
class Tag:
    """One ``{% name args %}`` or ``{{< name args >}}`` found in a body."""

    name: str
    args: str
    start: int
    end: int
    closing: bool = False
    self_closing: bool = False
    raw: str = ""


@dataclass
class Conversion:
    """State of converting one body: the report, stashed text and variables."""

    report: FileReport
    body: str  # the original body, for line numbers
    first_line: int = 1
    stash: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)

    def line(self, position: int) -> int:
        return line_of(self.body, position, self.first_line)

    def line_of_text(self, snippet: str) -> int | None:
        """The line where ``snippet`` first appears in the original body, if it does."""
        found = self.body.find(snippet)
        return self.line(found) if found != -1 else None

    def protect(self, text: str, keep_lines: bool = True) -> str:
        """Hide ``text`` from later passes; it comes back unchanged in :meth:`restore`.

        The placeholder holds as many newlines as ``text`` so line numbers stay true; they
        sit between its delimiters, where no ``strip()`` of a converter can remove them.
        """
        self.stash.append(text)
        newlines = "\n" * text.count("\n") if keep_lines else ""
        return f"\x02{len(self.stash) - 1}:{newlines}\x03"

    def restore(self, text: str) -> str:
        while STASHED.search(text):
            text = STASHED.sub(lambda m: self.stash[int(m.group(1))], text)
        return text

    def keep(
        self, name: str, raw: str, position: int | None, why: str = "", unknown: bool = True
    ) -> str:
        """Leave ``raw`` on the page, visibly as code, and report it."""
        self.report.construct(
            name,
            UNKNOWN if unknown else KEPT,
            self.line(position) if position is not None else self.line_of_text(raw),
            why or "no equivalent here; shown as code",
        )
        return self.protect(inline_code(raw))


def inline_code(raw: str) -> str:
    """``raw`` as Markdown code that shows it literally (a block when it spans lines)."""
    if "\n" in raw:
        fence = "~~~~" if "```" in raw else "```"
        return f"\n{fence}text\n{raw}\n{fence}\n"
    ticks = "``" if "`" in raw else "`"
    return f"{ticks} {raw} {ticks}"


def fenced(code: str, lang: str = "", title: str = "") -> str:
    code = code.strip("\n")
    fence = "````" if "```" in code else "```"
    head = f"{fence}{lang}" + (f' title="{title}"' if title else "")
    return f"\n{head}\n{code}\n{fence}\n"


def protect_fences(text: str, conversion: Conversion) -> str:
    """Stash fenced code blocks so tag conversion leaves them alone (as Hexo does)."""
    return FENCE.sub(lambda m: conversion.protect(m.group(0)), text)


def parse_params(args: str) -> tuple[list[str], dict[str, str]]:
    """``a "b c" key=value key2="d e"`` → positional ``[a, b c]`` and named values."""
    positional: list[str] = []
    named: dict[str, str] = {}
    try:
        words = shlex.split(args.replace("\n", " "), posix=True)
    except ValueError:
        words = args.split()
    for word in words:
        key, sep, value = word.partition("=")
        if sep and re.fullmatch(r"[\w-]+", key):
            named[key] = value
        else:
            positional.append(word)
    return positional, named


def admonition(kind: str, title: str, body: str, collapsible: bool = False) -> str:
    """A callout the renderer's ``admonition`` styles, with Markdown inside."""
    kind = kind.lower() if kind.lower() in ADMONITION_KINDS else "note"
    title = html_text(title)
    if collapsible:
        summary = f"<summary>{title or kind.title()}</summary>"
        opening = f'<details class="admonition {kind}" markdown="1">'
        return f"\n{opening}\n{summary}\n\n{body.strip()}\n\n</details>\n"
    head = f'<p class="admonition-title">{title}</p>\n\n' if title else ""
    return f'\n<div class="admonition {kind}" markdown="1">\n{head}{body.strip()}\n\n</div>\n'


def html_text(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def markdown_link(text: str, url: str) -> str:
    label = text.replace("[", "\\[").replace("]", "\\]") or url
    return f"[{label}](<{url}>)" if " " in url else f"[{label}]({url})"


def walk(
    text: str,
    find: Callable[[str], list[Tag]],
    handle: Callable[[Tag, str | None, int], str],
    offset: int = 0,
    never_paired: frozenset[str] = frozenset(),
) -> str:
    """Replace every tag in ``text``; a tag with a matching closing tag gets its inner text.

    ``handle(tag, inner, offset)`` returns the replacement; ``inner`` is ``None`` for a tag
    that stands alone. ``offset`` is where ``text`` starts in the body (for line numbers).
    """
    tags = find(text)
    out: list[str] = []
    position = 0
    index = 0
    while index < len(tags):
        tag = tags[index]
        out.append(text[position : tag.start])
        match = None
        if not tag.closing and not tag.self_closing and tag.name not in never_paired:
            depth = 0
            for later in range(index + 1, len(tags)):
                other = tags[later]
                if other.name != tag.name:
                    continue
                if other.closing:
                    if depth == 0:
                        match = later
                        break
                    depth -= 1
                elif not other.self_closing:
                    depth += 1
        if match is None:
            out.append(handle(tag, None, offset))
            position = tag.end
            index += 1
        else:
            close = tags[match]
            inner = text[tag.end : close.start]
            tag.raw = text[tag.start : close.end]
            out.append(handle(tag, inner, offset))
            position = close.end
            index = match + 1
    out.append(text[position:])
    return "".join(out)


LIQUID_TAG = re.compile(r"\{%-?\s*(\w+)(.*?)-?%\}", re.S)


def liquid_tags(text: str) -> list[Tag]:
    """``{% name args %}`` tags; ``{% endname %}`` closes ``name``."""
    tags = []
    for match in LIQUID_TAG.finditer(text):
        name, args = match.group(1), match.group(2).strip()
        closing = name.startswith("end") and len(name) > 3
        tags.append(
            Tag(
                name[3:] if closing else name,
                args,
                match.start(),
                match.end(),
                closing,
                raw=match.group(0),
            )
        )
    return tags


def walk_liquid(
    text: str,
    handle: Callable[[Tag, str | None, int], str],
    offset: int = 0,
    never_paired: frozenset[str] = frozenset(),
) -> str:
    return walk(text, liquid_tags, handle, offset, never_paired)


INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
FOREIGN = re.compile(
    r"\{%.*?%\}|\{\{[<%].*?[>%]\}\}|\{\{-?\s*(?:site|page)\..*?\}\}|\[caption\b[^\]]*\]"
)


def show_foreign(text: str, conversion: Conversion) -> str:
    """Template syntax of another engine left in prose: show it as code, and report it.

    The source engine printed it as text too (a Hugo post that explains Hexo's
    ``{% note %}``), but on this site it would read as a broken template.
    """
    shielded = INLINE_CODE.sub(
        lambda m: conversion.protect(m.group(0)), protect_fences(text, conversion)
    )

    def keep(match: re.Match[str]) -> str:
        name = match.group(0)[:2] + "…" + match.group(0)[-2:]
        return conversion.keep(
            name, match.group(0), None, "template syntax the source showed as text", unknown=False
        )

    return conversion.restore(FOREIGN.sub(keep, shielded))
