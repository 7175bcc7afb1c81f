"""Math plugin: TeX in posts rendered at save time to MathML (no JavaScript needed).

See :mod:`blog_plugins.math.scanner` for the delimiters and
:mod:`blog_plugins.math.render` for how converter output is made safe and how errors
are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context, url_for

from blog.api import hookimpl, plugin_config, static_url
from blog_plugins.math.allowlist import allowed_html
from blog_plugins.math.extension import MathExtension
from blog_plugins.math.font import (
    DEBIAN_LATIN_MODERN_MATH,
    DEBIAN_STIX_GENERAL,
    register_font_routes,
)
from blog_plugins.math.render import Limits
from blog_plugins.math.report import convention_notices, formula_warnings
from blog_plugins.math.scanner import Delimiters

if TYPE_CHECKING:
    from flask import Flask, Request
    from markdown.extensions import Extension

    from blog.models import Post

__version__ = "2.1.0"


@dataclass
class Config:
    """``[plugins.math]``: formula bounds, site-wide macros and delimiter conventions.

    Formulas longer or deeper than the bounds show an error box. ``macros`` maps a
    command name (without the backslash) to its TeX, with ``#1``… for arguments; every
    post sees them. ``backtick_math`` reads `` `$x$` `` and `` `$$…$$` `` as math (the
    blogdown habit); ``spaced_dollars`` reads ``$ x $`` as math (the MathJax habit);
    ``kramdown_math`` reads ``$$…$$`` inside a paragraph as inline math (Jekyll's kramdown).
    ``detect_conventions`` turns each on for a post that evidently uses it (two or more
    backtick-wrapped formulas; a spaced pair that reads as TeX; ``$$…$$`` inside a
    paragraph in a post with no ``$x$``), and says so in the post's render notices.
    ``font_file`` is the OpenType MATH font served to browsers (Debian's Latin Modern
    Math by default); ``script_font_file`` is the font whose script letters draw
    ``\\mathscr`` (Debian's STIX General by default; when missing, ``\\mathscr`` looks like
    ``\\mathcal``).
    """

    max_formula_length: int = 4000
    max_nesting_depth: int = 40
    macros: dict[str, str] = field(default_factory=dict)
    backtick_math: bool = False
    spaced_dollars: bool = False
    kramdown_math: bool = False
    detect_conventions: bool = True
    font_file: str = DEBIAN_LATIN_MODERN_MATH
    script_font_file: str = DEBIAN_STIX_GENERAL


def limits_from(config: Config | None) -> Limits:
    config = config or Config()
    return Limits(max_length=config.max_formula_length, max_nesting=config.max_nesting_depth)


def delimiters_from(config: Config | None) -> Delimiters:
    config = config or Config()
    return Delimiters(
        backticks=config.backtick_math,
        spaced_dollars=config.spaced_dollars,
        kramdown=config.kramdown_math,
        detect=config.detect_conventions,
    )


@hookimpl
def blog_markdown_extensions() -> list[Extension | str]:
    config = plugin_config("math") or Config()
    language = str(current_app.config.get("UI_LANGUAGE") or "") if has_app_context() else None
    return [MathExtension(limits_from(config), config.macros, delimiters_from(config), language)]


@hookimpl
def blog_allowed_html() -> dict[str, Any]:
    return allowed_html()


@hookimpl
def blog_head_assets(request: Request) -> list[str]:
    return [url_for("math_font_css"), static_url("math", "math.css")]


@hookimpl
def blog_register_routes(app: Flask) -> None:
    config = plugin_config("math", app) or Config()
    register_font_routes(app, config.font_file, config.script_font_file)


@hookimpl
def blog_post_metadata(post: Post, html: str) -> dict[str, Any]:
    """Store broken formulas (``warnings``) and followed conventions (``notices``)."""
    source = post.source or ""
    facts: dict[str, Any] = {}
    warnings = formula_warnings(source, html) if "math-error" in html else []
    if warnings:
        facts["warnings"] = warnings
    notices = convention_notices(source, delimiters_from(plugin_config("math") or Config()))
    if notices:
        facts["notices"] = notices
    return facts
