"""Render at save time: Markdown source -> sanitized HTML, excerpt, TOC and stats.

This is the only place Markdown is rendered. Readers get the stored result; the pipeline
is extended only through plugin hooks (see :mod:`blog.hookspecs`).
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import markdown
from flask import current_app
from markdown.extensions.toc import TocExtension, slugify_unicode

from blog.models import Post
from blog.plugins import Plugins
from blog.sanitize import Allowlist, sanitize_html

#: Bumped when the core's own part of the pipeline changes output, to re-render every post.
CORE_RENDER_VERSION = "1"
FALLBACK_EXCERPT_CHARS = 200


class RenderError(Exception):
    """A post cannot be rendered (too large, too slow); the message says why."""


@dataclass
class Rendered:
    """What rendering one post produces; :func:`apply_render` stores it on the post."""

    body_html: str
    excerpt: str
    toc: list[dict[str, Any]]
    text: str
    render_meta: dict[str, Any] = field(default_factory=dict)


def heading_id(value: str, separator: str) -> str:
    """Make a heading id that survives Chinese headings (never empty)."""
    return slugify_unicode(value, separator) or "section"


def _plugins() -> Plugins:
    plugins: Plugins = current_app.extensions["blog.plugins"]
    return plugins


def build_markdown() -> markdown.Markdown:
    """Build a fresh Markdown instance (they are not thread-safe) with plugin extensions."""
    extensions: list[Any] = [
        "extra",
        "sane_lists",
        "admonition",
        TocExtension(slugify=heading_id, toc_depth="2-4", permalink=False),
    ]
    for _plugin, contributed in _plugins().call_each("blog_markdown_extensions"):
        extensions.extend(contributed)
    return markdown.Markdown(extensions=extensions, output_format="html")


def build_allowlist() -> Allowlist:
    allowlist = Allowlist()
    for _plugin, addition in _plugins().call_each("blog_allowed_html"):
        allowlist.extend(addition)
    return allowlist


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset(
        "p div li h1 h2 h3 h4 h5 h6 pre blockquote tr table section figure dt dd br".split()  # noqa: SIM905
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("annotation", "script", "style"):
            self._skip += 1
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("annotation", "script", "style") and self._skip:
            self._skip -= 1
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return the visible text of ``html`` with block boundaries as single spaces."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return re.sub(r"\s+", " ", "".join(extractor.parts)).strip()


def _clean_toc(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "level": token["level"],
            "id": token["id"],
            "name": html_lib.unescape(re.sub(r"<[^>]+>", "", token["name"])),
            "children": _clean_toc(token.get("children", [])),
        }
        for token in tokens
    ]


def render_post(post: Post) -> Rendered:
    """Render ``post.source`` through Markdown, the plugins and the sanitizer."""
    limit = int(current_app.config["MAX_POST_BYTES"])
    size = len(post.source.encode("utf-8"))
    if size > limit:
        raise RenderError(f"post is {size:,} bytes; the limit is {limit:,} (MAX_POST_BYTES)")
    plugins = _plugins()
    converter = build_markdown()
    try:
        html = converter.convert(post.source)
    except RecursionError:
        raise RenderError("post is nested too deeply for the Markdown renderer") from None
    html = plugins.call_chain("blog_render_html", "html", html, post=post)
    html = sanitize_html(html, build_allowlist())
    text = html_to_text(html)
    excerpt = plugins.call_first("blog_excerpt", post=post, html=html, text=text)
    if excerpt is None:
        excerpt = text[:FALLBACK_EXCERPT_CHARS] + (
            "..." if len(text) > FALLBACK_EXCERPT_CHARS else ""
        )
    meta: dict[str, Any] = {}
    for _plugin, facts in plugins.call_each("blog_post_metadata", post=post, html=html):
        meta.update(facts)
    toc = _clean_toc(getattr(converter, "toc_tokens", []))
    return Rendered(body_html=html, excerpt=excerpt, toc=toc, text=text, render_meta=meta)


def render_fingerprint() -> str:
    """Digest of everything that shapes rendered output: core, Markdown, plugins, config."""
    plugins = _plugins()
    parts = [CORE_RENDER_VERSION, markdown.__version__, *plugins.fingerprint_parts()]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def apply_render(post: Post) -> Rendered:
    """Render ``post`` and store the result and the current fingerprint on it."""
    rendered = render_post(post)
    post.body_html = rendered.body_html
    post.excerpt = rendered.excerpt
    post.toc = rendered.toc
    post.render_meta = rendered.render_meta
    post.render_fingerprint = current_app.extensions["blog.render_fingerprint"]
    return rendered
