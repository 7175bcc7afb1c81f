"""A single-file plugin implementing every hook, each with an effect a test can observe.

The tests copy it into ``instance/plugins/``; it is deliberately tiny and uses only
``blog.api``, as a third-party plugin would.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from typing import TYPE_CHECKING, Any

import click
from flask import current_app
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

from blog.api import LEFT_ALONE, Runs, TextTransform, current_variant, hookimpl

if TYPE_CHECKING:
    import re

    from flask import Flask, Request, Response
    from markdown import Markdown

    from blog.models import Post

__version__ = "0.3.1"

#: ``(slug, action)`` for every ``blog_post_changed`` call this process saw.
CHANGES: list[tuple[str, str]] = []


class _Insertion(InlineProcessor):
    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:
        element = etree.Element("ins")
        element.text = m.group(1)
        return element, m.start(0), m.end(0)


class InsertionExtension(Extension):
    """``++text++`` becomes ``<ins>text</ins>``."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.inlinePatterns.register(_Insertion(r"\+\+(.+?)\+\+", md), "every_hook_ins", 175)


@hookimpl
def blog_markdown_extensions() -> list[Extension]:
    return [InsertionExtension()]


@hookimpl
def blog_render_html(post: Post, html: str) -> str:
    return html + '<p class="every-hook-render" data-every-hook="kept">rendered</p>'


@hookimpl
def blog_allowed_html() -> dict[str, Any]:
    return {"attributes": {"p": {"data-every-hook"}}}


@hookimpl
def blog_excerpt(post: Post, html: str, text: str) -> str:
    return f"every_hook excerpt of {post.title}"


@hookimpl
def blog_post_metadata(post: Post, html: str) -> dict[str, Any]:
    return {"every_hook_length": len(html)}


@hookimpl
def blog_search_text(text: str) -> str:
    # British and American spellings find each other.
    return text.replace("colour", "color")


@hookimpl
def blog_post_changed(post: Post, action: str) -> None:
    CHANGES.append((post.slug, action))


@hookimpl
def blog_variants() -> list[str]:
    return ["quiet", "loud"]


@hookimpl
def blog_request_variant(request: Request) -> str | None:
    return request.cookies.get("every_hook_variant")


@hookimpl
def blog_template_context(request: Request, template: str) -> dict[str, Any]:
    return {"html_lang": f"x-every-hook-{template.removesuffix('.html')}"}


@hookimpl
def blog_editor_fields() -> list[dict[str, Any]]:
    return [
        {
            "key": "audience",
            "label": "读者",
            "help": "every_hook field",
            "choices": [{"value": "beginner", "label": "入门"}, {"value": "expert"}],
        },
        {"key": "tags", "label": "a core key: ignored", "choices": []},
        {"label": "no key: ignored"},
    ]


@hookimpl
def blog_head_assets(request: Request) -> list[str]:
    return ["/every-hook/style.css"]


class _Shout(TextTransform):
    """Capitals for ``shout this`` in a page's prose (the core keeps code out of it)."""

    key = "every-hook-shout"

    def convert(self, runs: Runs) -> list[str]:
        return [
            text if context is LEFT_ALONE else text.replace("shout this", "SHOUT THIS")
            for text, context in zip(runs.texts, runs.contexts, strict=True)
        ]


@hookimpl
def blog_text_transform(request: Request, response: Response) -> TextTransform | None:
    return _Shout() if response.mimetype == "text/html" else None


@hookimpl
def blog_response_filter(request: Request, response: Response) -> Response:
    response.headers["X-Every-Hook"] = current_variant() or "none"
    return response


@hookimpl
def blog_register_routes(app: Flask) -> None:
    @app.route("/every-hook/")
    def every_hook_page() -> str:
        return "started" if current_app.extensions.get("every_hook.started") else "not started"


@hookimpl
def blog_register_commands(cli: click.Group) -> None:
    @cli.command("every-hook")
    def every_hook_command() -> None:
        """Say that the plugin's command ran."""
        click.echo("every_hook command ran")


@hookimpl
def blog_startup(app: Flask) -> None:
    app.extensions["every_hook.started"] = True


@hookimpl
def blog_display_text(text: str, role: str) -> str | None:
    # Titles are shown with a typographic dash; the stored title keeps the two hyphens.
    return text.replace(" -- ", " — ") if role == "title" else None
