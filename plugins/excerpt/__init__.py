"""Excerpts, meta descriptions, word counts and reading time for posts.

Builds a post's excerpt from its rendered body (so formulas, code, images and tables
become placeholders such as ``[公式]`` and ``[代码]``), honours the author's ``<!--more-->``
marker and front-matter ``excerpt``/``description``, cuts on sentence and word boundaries
counting CJK characters as readers do, and stores word counts and reading time in
``post.render_meta``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blog.api import hookimpl, plugin_config
from blog_plugins.excerpt.config import Config
from blog_plugins.excerpt.excerpt import meta_description, post_excerpt
from blog_plugins.excerpt.marker import mark_more
from blog_plugins.excerpt.stats import reading_stats

if TYPE_CHECKING:
    from blog.api import Document, PostDraft

__version__ = "1.1.0"
__all__ = ["Config", "__version__"]


@hookimpl
def blog_render_html(post: PostDraft, html: str) -> str | None:
    """Turn the first ``<!--more-->`` comment into an element that survives sanitizing."""
    return mark_more(html)


@hookimpl
def blog_allowed_html() -> dict[str, Any]:
    """Keep the ``<!--more-->`` stand-in through the sanitizer."""
    return {"tags": {"span"}, "attributes": {"span": {"class"}}}


@hookimpl
def blog_excerpt(post: PostDraft, document: Document) -> str | None:
    """Return the excerpt for listings and feeds, or ``None`` for an empty body."""
    excerpt = post_excerpt(document.segments, post.meta or {}, post.lang, _config())
    return excerpt or None


@hookimpl
def blog_post_metadata(post: PostDraft, document: Document) -> dict[str, Any]:
    """Return word counts, reading time and the meta description."""
    config = _config()
    segments = document.segments
    stats = reading_stats(segments, config)
    stats["description"] = meta_description(segments, post.meta or {}, post.lang, config)
    return stats


def _config() -> Config:
    return plugin_config("excerpt") or Config()
