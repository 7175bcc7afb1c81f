"""Front matter: YAML (``---``, Hexo/Jekyll), TOML (``+++``, Hugo) or none."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

#: Where each generator keeps a post's last change: Hexo ``updated``, Hugo ``lastmod``,
#: Jekyll's jekyll-last-modified-at ``last_modified_at``. The first one present is used.
UPDATED_KEYS = ("updated", "lastmod", "last_modified_at")
#: Keys the engine understands; every other key is kept in ``Post.meta`` and exported again.
KNOWN_KEYS = frozenset(
    [
        "title",
        "date",
        *UPDATED_KEYS,
        "slug",
        "permalink",
        "abbrlink",
        "categories",
        "category",
        "tags",
        "draft",
        "published",
        "lang",
        "kind",
        "password",
    ]
)
LANGS = ("zh-Hans", "zh-Hant", "en")
TOML_LINE = re.compile(r"at line (\d+)")


class FrontMatterError(Exception):
    """Front matter cannot be read; ``line`` is 1-based within the file."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors/aliases, which enable "billion laughs" expansion."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise FrontMatterError(
                "YAML aliases (*name) are not accepted in front matter",
                # +1 for 1-based lines, +1 for the opening --- the YAML text starts after.
                event.start_mark.line + 2,
            )
        return super().compose_node(parent, index)


@dataclass
class Document:
    """A Markdown file split into its front-matter fields and its body."""

    fields: dict[str, Any]
    body: str
    style: str  # "yaml", "toml" or "none"
    body_line: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def split_document(text: str, fallback_title: str = "") -> Document:
    """Split ``text`` into front matter and body; raise :class:`FrontMatterError` on bad input."""
    if "\x00" in text:
        raise FrontMatterError(
            "file contains NUL bytes", text[: text.index("\x00")].count("\n") + 1
        )
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    for fence, style in (("---", "yaml"), ("+++", "toml")):
        if text.startswith(fence + "\n"):
            end = text.find("\n" + fence, len(fence))
            if end == -1 or text[end + 1 + len(fence) : end + 2 + len(fence)] not in ("\n", ""):
                raise FrontMatterError(f"front matter opened with {fence} is never closed", 1)
            raw = text[len(fence) + 1 : end + 1]
            body = text[end + 1 + len(fence) :].removeprefix("\n")
            fields = _parse_yaml(raw) if style == "yaml" else _parse_toml(raw)
            return Document(fields, body, style, body_line=raw.count("\n") + 3)
    return _without_front_matter(text, fallback_title)


#: libyaml's safe loader, when PyYAML was built with it: it reads front matter several times
#: faster than the pure-Python one (a bulk import reads thousands). It composes nodes in C,
#: where aliases cannot be refused, so it only reads YAML that cannot hold one.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def _parse_yaml(raw: str) -> dict[str, Any]:
    data = _parse_yaml_fast(raw)
    if data is None:
        data = _parse_yaml_checked(raw)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError("front matter must be a mapping of keys to values", 2)
    return {str(k): v for k, v in data.items()}


def _parse_yaml_fast(raw: str) -> Any:
    """``raw`` read by libyaml, or ``None`` to have it read by :func:`_parse_yaml_checked`:
    when it may hold an alias (every alias starts with ``*``), or has an error (whose
    message and line the pure-Python loader gives as authors have always seen them)."""
    if _FAST_LOADER is None or "*" in raw:
        return None
    try:
        return yaml.load(raw, Loader=_FAST_LOADER)  # noqa: S506 - libyaml's SafeLoader
    except yaml.YAMLError:
        return None


def _parse_yaml_checked(raw: str) -> Any:
    try:
        return yaml.load(raw, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if error.context_mark is not None and mark is not None and mark.line >= raw.count("\n"):
            # "got <stream end>": the construct left open is where the author must look.
            mark = error.context_mark
        line = mark.line + 2 if mark else 1
        raise FrontMatterError(f"YAML: {error.problem or error}", line) from None
    except yaml.YAMLError as error:
        raise FrontMatterError(f"YAML: {error}", 1) from None


def _parse_toml(raw: str) -> dict[str, Any]:
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        found = TOML_LINE.search(str(error))
        line = int(found.group(1)) + 1 if found else 1
        raise FrontMatterError(f"TOML: {error}", line) from None


def _without_front_matter(text: str, fallback_title: str) -> Document:
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line.strip() == "":
            continue
        if line.startswith("# "):
            body = "\n".join(lines[:number] + lines[number + 1 :]).lstrip("\n")
            return Document({"title": line[2:].strip()}, body, "none")
        break
    return Document({"title": fallback_title}, text, "none")


def as_list(value: Any) -> list[str]:
    """Normalise a string-or-list front-matter value (categories, tags) to a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list):
        items: list[str] = []
        for item in value:
            # Hexo allows nested category lists ([A, B] means A > B); we keep the leaf names.
            items.extend(as_list(item) if isinstance(item, list) else [str(item).strip()])
        return [i for i in items if i]
    return [str(value)]


def json_safe(value: Any) -> Any:
    """Make an unknown front-matter value storable as JSON (dates become ISO strings)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
