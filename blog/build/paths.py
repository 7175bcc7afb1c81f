"""Where each URL of the site goes on disk, and the checks that keep it inside OUT.

A static file server maps ``/posts/注意力/`` to ``posts/注意力/index.html`` after
percent-decoding the path, so the build does the same. Every path is checked before
anything is written: no component may climb out of OUT, exceed the file-name byte limit of
common file systems, or collide with another path on a case-insensitive one (macOS, Windows).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from pathlib import PurePosixPath
from urllib.parse import unquote

#: ext4, APFS, NTFS and most others allow 255 bytes per name.
NAME_MAX_BYTES = 255
#: Room kept for the ``.gz`` / ``.br`` siblings written next to compressible files.
SIBLING_SUFFIX_BYTES = 3
#: URLs served without a trailing slash that are still pages (a folder with index.html).
FOLDER_PAGES = ("search",)


class BuildError(Exception):
    """The site cannot be built as asked; the message says what to change."""


def _unsafe_component(part: str) -> str | None:
    if part in ("", ".", ".."):
        return "is empty, '.' or '..'"
    if "\\" in part or "\x00" in part:
        return "contains a backslash or NUL"
    # str.isprintable() is False for every category C character (and for separators), so
    # the per-character look-up runs only on the rare names it does not clear at C speed.
    if not part.isprintable() and any(unicodedata.category(c).startswith("C") for c in part):
        return "contains control characters"
    return None


@functools.lru_cache(maxsize=1 << 16)
def output_path(url_path: str) -> PurePosixPath:
    """The file (relative to OUT) holding the page at ``url_path`` (percent-encoded, rooted).

    Raises :class:`BuildError` when the decoded path would leave OUT or cannot be a name.
    Cached: a rebuild asks for each of thousands of carried pages twice (check, then copy).
    """
    decoded = unquote(url_path, errors="strict")
    if not decoded.startswith("/"):
        raise BuildError(f"{url_path}: not a site path")
    parts = decoded.strip("/").split("/") if decoded.strip("/") else []
    for part in parts:
        problem = _unsafe_component(part)
        if problem:
            raise BuildError(f"{url_path}: the path segment {part!r} {problem}")
    if decoded.endswith("/") or not parts or parts[-1] in FOLDER_PAGES:
        parts.append("index.html")
    path = PurePosixPath(*parts)
    check_name_lengths(path, url_path)
    return path


def check_name_lengths(path: PurePosixPath, source: str) -> None:
    """Refuse names longer than file systems allow, naming the URL and the limit."""
    for index, part in enumerate(path.parts):
        size = len(part.encode("utf-8"))
        limit = NAME_MAX_BYTES - (SIBLING_SUFFIX_BYTES if index == len(path.parts) - 1 else 0)
        if size > limit:
            raise BuildError(
                f"{source}: the name {part[:20]!r}… is {size} bytes in UTF-8 but file systems "
                f"allow {limit} (a Chinese character takes 3 bytes, so about {limit // 3} "
                "characters); shorten the slug or name"
            )


def case_collisions(paths: Iterable[PurePosixPath]) -> list[tuple[str, str]]:
    """Pairs of distinct paths that are the same file on a case-insensitive file system.

    Unicode NFC and case folding: macOS also folds composed and decomposed forms.
    """
    seen: dict[str, str] = {}
    clashes = []
    for path in paths:
        text = str(path)
        key = unicodedata.normalize("NFC", text).casefold()
        other = seen.setdefault(key, text)
        if other != text:
            clashes.append((other, text))
    return clashes
