"""A plugin whose every request- and render-time hook raises: isolation must contain it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blog.api import Runs, TextTransform, hookimpl

if TYPE_CHECKING:
    from flask import Request, Response
    from markdown.extensions import Extension

    from blog.models import Post

__version__ = "0.0.1"


class BrokenPluginError(RuntimeError):
    """Raised on purpose by every hook of this plugin."""


@hookimpl
def blog_markdown_extensions() -> list[Extension]:
    raise BrokenPluginError("markdown extensions")


@hookimpl
def blog_render_html(post: Post, html: str) -> str:
    raise BrokenPluginError("render html")


@hookimpl
def blog_allowed_html() -> dict[str, Any]:
    raise BrokenPluginError("allowed html")


@hookimpl
def blog_excerpt(post: Post, html: str, text: str) -> str:
    raise BrokenPluginError("excerpt")


@hookimpl
def blog_post_metadata(post: Post, html: str) -> dict[str, Any]:
    raise BrokenPluginError("post metadata")


@hookimpl
def blog_search_text(text: str) -> str:
    raise BrokenPluginError("search text")


@hookimpl
def blog_template_context(request: Request, template: str) -> dict[str, Any]:
    raise BrokenPluginError("template context")


@hookimpl
def blog_head_assets(request: Request) -> list[str]:
    raise BrokenPluginError("head assets")


@hookimpl
def blog_response_filter(request: Request, response: Response) -> Response:
    raise BrokenPluginError("response filter")


class _Exploding(TextTransform):
    def convert(self, runs: Runs) -> list[str]:
        raise BrokenPluginError("text transform")


@hookimpl
def blog_text_transform(request: Request, response: Response) -> TextTransform:
    return _Exploding()
