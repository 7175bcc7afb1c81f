"""Code plugin: fenced code highlighted by Pygments at save time, with a copy button.

Options in the fence's info string are described in :mod:`blog_plugins.code.info`.
Token colours live in ``static/pygments.css`` (classes only, no inline styles, so a
strict Content-Security-Policy holds); ``static/copy.js`` adds the copy buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blog.api import hookimpl, static_url
from blog_plugins.code.allowlist import allowed_html
from blog_plugins.code.extension import CodeExtension

if TYPE_CHECKING:
    from flask import Request
    from markdown.extensions import Extension

__version__ = "1.0.0"


@hookimpl
def blog_markdown_extensions() -> list[Extension | str]:
    return [CodeExtension()]


@hookimpl
def blog_allowed_html() -> dict[str, Any]:
    return allowed_html()


@hookimpl
def blog_head_assets(request: Request) -> list[str]:
    return [static_url("code", "pygments.css"), static_url("code", "copy.js")]
