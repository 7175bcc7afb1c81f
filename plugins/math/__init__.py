"""Math plugin: TeX in posts rendered at save time to MathML (no JavaScript needed).

See :mod:`blog_plugins.math.scanner` for the delimiters and
:mod:`blog_plugins.math.render` for how converter output is made safe and how errors
are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blog.api import hookimpl, plugin_config, static_url
from blog_plugins.math.allowlist import allowed_html
from blog_plugins.math.extension import MathExtension
from blog_plugins.math.render import Limits

if TYPE_CHECKING:
    from flask import Request
    from markdown.extensions import Extension

__version__ = "1.0.0"


@dataclass
class Config:
    """``[plugins.math]``: bounds on a single formula (longer or deeper ones show an error)."""

    max_formula_length: int = 4000
    max_nesting_depth: int = 40


def limits_from(config: Config | None) -> Limits:
    config = config or Config()
    return Limits(max_length=config.max_formula_length, max_nesting=config.max_nesting_depth)


@hookimpl
def blog_markdown_extensions() -> list[Extension | str]:
    return [MathExtension(limits_from(plugin_config("math")))]


@hookimpl
def blog_allowed_html() -> dict[str, Any]:
    return allowed_html()


@hookimpl
def blog_head_assets(request: Request) -> list[str]:
    return [static_url("math", "math.css")]
