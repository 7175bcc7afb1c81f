"""Images and other files a post points at, found inside the source folder only.

A reference resolves against the places the source engine would look (the post's asset
folder or page bundle, ``source/``, ``static/``, the site root). Nothing outside the source
folder is read: a ``../../x.png`` that climbs out is refused, and so is a symlink whose
target lies outside. A file over the upload limit is refused before it is read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from blog.migrate.common import Conversion
from blog.migrate.report import CONVERTED

MARKDOWN_IMAGE = re.compile(
    r"(!\[[^\]\n]*\]\()[ \t]*(<[^>\n]+>|[^)\s]+)([ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'))?[ \t]*\)"
)
HTML_IMAGE = re.compile(r"(<img\b[^>]*?\bsrc\s*=\s*)([\"'])(.*?)\2", re.I | re.S)
LAZY_IMAGE = re.compile(r"<img\b[^>]*\bdata-src\s*=\s*([\"'])(.*?)\1[^>]*>", re.I | re.S)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".ico"})
SRC_ATTRIBUTE = re.compile(r"\bsrc\s*=\s*([\"']).*?\1", re.I | re.S)
TOKEN = re.compile(r"\x02asset:(\d+)\x03")
#: A Markdown link that is not an image, and an HTML link (Hexo's ``asset_link`` becomes one).
MARKDOWN_LINK = re.compile(r"((?<!!)\[[^\]\n]*\]\([ \t]*)(<[^>\n]+>|[^)\s]+)")
HTML_LINK = re.compile(r"(<a\b[^>]*?\bhref\s*=\s*)([\"'])(.*?)\2", re.I | re.S)
#: What a file's extension looks like; anything else after a dot is not a file name.
FILE_SUFFIX = re.compile(r"\.[a-z0-9]{1,5}")
#: Suffixes of links that lead to pages (of the old site), not to files to download.
PAGE_SUFFIXES = frozenset({"", ".html", ".htm", ".md", ".markdown", ".php", ".xml", ".txt"})


@dataclass
class Asset:
    """A local file a draft refers to; ``token`` stands in the text until it is stored."""

    path: Path
    reference: str
    line: int | None
    #: ``"image"`` (shown in the page) or ``"file"`` (a download: PDF, ZIP …).
    kind: str = "image"

    def token(self, number: int) -> str:
        return f"\x02asset:{number}\x03"


@dataclass
class Locator:
    """Where one source file's relative and absolute image paths point."""

    root: Path
    relative_bases: list[Path]
    absolute_bases: list[Path]
    site_url: str = ""
    base_path: str = ""
    limit: int = 10 * 1024 * 1024

    def local_path(self, reference: str) -> str | None:
        """The reference as a path on the old site, or None when it is elsewhere."""
        url = reference.strip("<>")
        if self.site_url and url.startswith(self.site_url + "/"):
            url = url[len(self.site_url) :]
            if self.base_path and url.startswith(self.base_path + "/"):
                url = url[len(self.base_path) :]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith(("#", "\x02")) or not parts.path:
            return None
        path = unquote(parts.path)
        if self.base_path and path.startswith(self.base_path + "/"):
            path = path[len(self.base_path) :]
        return path

    def find(self, path: str) -> tuple[Path | None, str]:
        """The file for ``path`` (from :meth:`local_path`), or None and why not."""
        bases = self.absolute_bases if path.startswith("/") else self.relative_bases
        root = self.root.resolve()
        reason = "not found in the source folder"
        for base in bases:
            candidate = Path(os.path.normpath(base / path.lstrip("/")))
            if not candidate.is_relative_to(self.root) and not candidate.is_relative_to(root):
                return None, "refused: the path leads outside the source folder"
            if not candidate.exists() and not candidate.is_symlink():
                continue
            if not candidate.resolve().is_relative_to(root):
                return None, "refused: a symlink pointing outside the source folder (not followed)"
            if not candidate.is_file():
                continue
            size = candidate.stat().st_size
            if size > self.limit:
                return None, f"refused: {size:,} bytes is over the upload limit of {self.limit:,}"
            return candidate, ""
        return None, reason


def unlazy(text: str, conversion: Conversion) -> str:
    """``<img src="loading.gif" data-src="real.png">`` → ``<img src="real.png">``.

    Lazy-loading scripts are not carried over, and the sanitizer drops ``data-src``.
    """

    def fix(match: re.Match[str]) -> str:
        conversion.report.construct("lazy img", CONVERTED)
        tag = re.sub(r"\s*\bdata-src\s*=\s*([\"']).*?\1", "", match.group(0), flags=re.S)
        real = match.group(2).replace('"', "&quot;")
        if SRC_ATTRIBUTE.search(tag):
            return SRC_ATTRIBUTE.sub(lambda _m: f'src="{real}"', tag, count=1)
        return tag.replace("<img", f'<img src="{real}"', 1)

    return LAZY_IMAGE.sub(fix, text)


def _html_address(take: Callable[[str], str | None]) -> Callable[[re.Match[str]], str]:
    """Replace the quoted address of an ``HTML_IMAGE`` or ``HTML_LINK`` match (group 3,
    its quote in group 2) by what ``take`` gives for it; keep the tag when it gives nothing."""

    def replace(match: re.Match[str]) -> str:
        token = take(match.group(3))
        if token is None:
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{token}{match.group(2)}"

    return replace


def collect(text: str, locator: Locator, conversion: Conversion, assets: list[Asset]) -> str:
    """Replace every local image reference by a token, recording the file in ``assets``."""
    report = conversion.report

    def take(reference: str) -> str | None:
        path = locator.local_path(reference)
        if path is None:
            return None
        report.images_found += 1
        found, why = locator.find(path)
        line = conversion.line_of_text(reference)
        if found is None:
            report.images_missing += 1
            report.note(line, f"image {reference}: {why}")
            return None
        assets.append(Asset(found, reference, line))
        return assets[-1].token(len(assets) - 1)

    def markdown(match: re.Match[str]) -> str:
        token = take(match.group(2))
        if token is None:
            return match.group(0)
        return f"{match.group(1)}{token}{match.group(3) or ''})"

    return HTML_IMAGE.sub(_html_address(take), MARKDOWN_IMAGE.sub(markdown, text))


def collect_files(text: str, locator: Locator, conversion: Conversion, assets: list[Asset]) -> str:
    """Replace each link to a local file that is not an image or a page (a PDF, a ZIP …)
    by a token, recording the file in ``assets`` as a download.

    A file that cannot be found (or is refused) is reported with its line and its link is
    kept as written. Each file is counted once per post, however often it is linked.
    """
    report = conversion.report
    tokens: dict[str, str | None] = {}

    def take(reference: str) -> str | None:
        if reference in tokens:
            return tokens[reference]
        path = locator.local_path(reference)
        suffix = Path(path).suffix.lower() if path else ""
        if path is None or path.endswith("/") or suffix in PAGE_SUFFIXES | IMAGE_SUFFIXES:
            return None
        if not FILE_SUFFIX.fullmatch(suffix):  # template code in an example: {{ x.url }}
            return None
        if "@" in path:  # an e-mail address written without mailto:
            return None
        report.files_found += 1
        found, why = locator.find(path)
        line = conversion.line_of_text(reference)
        token = None
        if found is None:
            report.files_missing += 1
            report.note(line, f"file {reference}: {why}; the link is kept as written")
        else:
            assets.append(Asset(found, reference, line, "file"))
            token = assets[-1].token(len(assets) - 1)
        tokens[reference] = token
        return token

    def markdown(match: re.Match[str]) -> str:
        token = take(match.group(2))
        return match.group(0) if token is None else f"{match.group(1)}{token}"

    return HTML_LINK.sub(_html_address(take), MARKDOWN_LINK.sub(markdown, text))


def collect_value(value: str, locator: Locator, conversion: Conversion, assets: list[Asset]) -> str:
    """A front-matter image (``cover``, ``featuredImage``) as a token, when it is local."""
    rewritten = collect(f"![]({value})", locator, conversion, assets)
    return rewritten[4:-1] if rewritten.startswith("![](\x02") else value


def replace_tokens(text: str, names: Iterable[str | None], assets: list[Asset]) -> str:
    """Put each stored upload's URL (or the original reference, when it failed) back."""
    urls = list(names)

    def back(match: re.Match[str]) -> str:
        number = int(match.group(1))
        name = urls[number] if number < len(urls) else None
        return f"/uploads/{name}" if name else assets[number].reference

    return TOKEN.sub(back, text)
