"""Comment bodies: Markdown with math and code, rendered once at save time, narrowed.

The post pipeline does the work (one call to :func:`blog.render.render_fragment`); this
module only says what comments may not use: raw HTML, images and headings are switched
off in Markdown *and* removed from the allowlist, element ids are dropped (a comment must
not clobber the page's anchors) and links are marked ``nofollow ugc``.
"""

from __future__ import annotations

import hashlib
import re

import markdown
from flask import current_app

from blog.models import Post
from blog.plugins import Plugins
from blog.render import render_fragment
from blog.sanitize import Allowlist

#: Markdown parts comments never use (Python-Markdown's registry names).
DISABLED_PREPROCESSORS = ("html_block",)
DISABLED_INLINE = ("html", "image_link", "image_reference", "short_image_ref")
DISABLED_BLOCKS = ("hashheader", "setextheader")
DISABLED_TREE = ("attr_list",)
FORBIDDEN_TAGS = frozenset(
    {"img", "picture", "h1", "h2", "h3", "h4", "h5", "h6", "input", "form", "iframe"}
)
_LINK_REL = re.compile(r'<a ([^>]*?)rel="noopener"')
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)


def _narrow(converter: markdown.Markdown, allowlist: Allowlist) -> None:
    for name in DISABLED_PREPROCESSORS:
        if name in converter.preprocessors:
            converter.preprocessors.deregister(name)
    for name in DISABLED_INLINE:
        if name in converter.inlinePatterns:
            converter.inlinePatterns.deregister(name)
    for name in DISABLED_BLOCKS:
        if name in converter.parser.blockprocessors:
            converter.parser.blockprocessors.deregister(name)
    for name in DISABLED_TREE:
        if name in converter.treeprocessors:
            converter.treeprocessors.deregister(name)
    allowlist.tags -= FORBIDDEN_TAGS
    for names in allowlist.attributes.values():
        names.discard("id")
        names.discard("name")


def text_lang(text: str, fallback: str) -> str:
    """The comment's own language, as the plugins detect it, else its post's."""
    plugins: Plugins = current_app.extensions["blog.plugins"]
    return str(plugins.hooks.blog_text_lang(text=text) or fallback)


def render_comment(source: str, lang: str, max_bytes: int) -> str:
    """Render a comment body to sanitized HTML (raises ``RenderError`` when too costly)."""
    stand_in = Post(slug="", title="", source=source, lang=lang, meta={}, kind="comment")
    html = render_fragment(stand_in, _narrow, max_bytes)
    return _LINK_REL.sub(r'<a \1rel="nofollow ugc noopener"', html)


def link_count(source: str) -> int:
    """Links a comment carries: every ``http(s)://`` or ``www.`` in its source."""
    return len(_URL.findall(source))


def body_digest(source: str) -> str:
    """The duplicate detector's key: the body with case and whitespace folded."""
    folded = re.sub(r"\s+", " ", source).strip().casefold()
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()
