"""Render at save time: Markdown source -> sanitized HTML, excerpt, TOC and stats.

This is the only place Markdown is rendered. Readers get the stored result; the pipeline
is extended only through plugin hooks (see :mod:`blog.hookspecs`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import markdown
from flask import current_app
from markdown.extensions.toc import TocExtension, slugify_unicode

from blog.document import Document, PostDraft, read_document
from blog.markdown_lists import NestedListExtension
from blog.models import DEGRADED_FINGERPRINT, Post, body_digest
from blog.plugins import PluginProblem, Plugins, collecting_problems
from blog.render_budget import RenderTimeoutError, render_with_budget
from blog.sanitize import Allowlist, sanitize_html

T = TypeVar("T")

#: Bumped when the core's own part of the pipeline changes output, to re-render every post.
CORE_RENDER_VERSION = "4"  # 4: lists nested by two spaces (blog.markdown_lists)
FALLBACK_EXCERPT_CHARS = 200
#: Deepest list/blockquote nesting accepted. Python-Markdown's cost grows about cubically
#: with depth (4-space lists: 100 deep 0.9 s, 150 deep 3 s, 1,500 deep RecursionError after
#: 21 s); no real post nests beyond a dozen levels.
MAX_NESTING = 50
#: Characters Python-Markdown would scan looking for the ``]`` of every ``[`` (see
#: :func:`bracket_scan_cost`). Its link parser rescans the rest of the paragraph for each
#: ``[``, about 2 µs a character: 1,000 unclosed ``[`` cost 0.5 M (~1 s), 4,000 cost 8 M.
MAX_BRACKET_SCAN = 4_000_000
_NESTING_UNIT = re.compile(r" {0,3}>[ ]?|(?:[-*+]|\d{1,9}[.)])[ \t]+| {4}|\t")
_FENCE = re.compile(r" {0,3}(```|~~~)")
_BRACKET_OR_ESCAPE = re.compile(r"\\[\s\S]|[\[\]]")


class RenderError(Exception):
    """A post cannot be rendered (too large, too slow); the message says why."""


def within_budget(work: Callable[[], T], seconds: float, size: int | None = None) -> T:
    """Run ``work`` under :func:`blog.render_budget.render_with_budget`; past ``seconds``
    it is stopped (its process killed) and :class:`RenderError` says so. ``size`` is the
    source's length in bytes (small sources render in this process)."""
    try:
        return render_with_budget(work, seconds, size)
    except RenderTimeoutError:
        raise RenderError(
            f"rendering took longer than {seconds:g} s (RENDER_TIMEOUT_SECONDS) and was "
            "stopped; look for very long or deeply nested constructs"
        ) from None


def nesting_depth(source: str) -> int:
    """Deepest list/blockquote/indent nesting of any line outside fenced code."""
    deepest = 0
    fenced = False
    for line in source.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        depth = 0
        position = 0
        while (unit := _NESTING_UNIT.match(line, position)) and unit.end() > position:
            depth += 1
            position = unit.end()
        deepest = max(deepest, depth)
    return deepest


def bracket_scan_cost(source: str) -> int:
    """Characters Python-Markdown's link parser scans: from each ``[`` to its ``]``.

    An unclosed ``[`` is scanned to the end of its paragraph. Linear time, so refusing a
    quadratic input costs less than starting to render it.
    """
    cost = 0
    for paragraph in re.split(r"\n[ \t]*\n", source):
        opened: list[int] = []
        # Only brackets and escapes matter; a backslash escapes the character after it.
        for found in _BRACKET_OR_ESCAPE.finditer(paragraph):
            mark = found.group()
            if mark == "[":
                opened.append(found.start())
            elif mark == "]" and opened:
                cost += found.start() - opened.pop()
        cost += sum(len(paragraph) - start for start in opened)
    return cost


def check_render_limits(source: str, max_bytes: int) -> None:
    """Refuse, with a message naming the limit, input known to be too costly to render."""
    size = len(source.encode("utf-8"))
    if size > max_bytes:
        raise RenderError(f"post is {size:,} bytes; the limit is {max_bytes:,} (MAX_POST_BYTES)")
    depth = nesting_depth(source)
    if depth > MAX_NESTING:
        raise RenderError(
            f"lists or blockquotes are nested {depth} levels deep; the limit is {MAX_NESTING}"
        )
    if bracket_scan_cost(source) > MAX_BRACKET_SCAN:
        raise RenderError(
            "too many unclosed '[' in one paragraph for the Markdown renderer; "
            "escape literal brackets as \\[ or close them"
        )


@dataclass
class Rendered:
    """What rendering one post produces; :func:`apply_render` stores it on the post."""

    body_html: str
    excerpt: str
    toc: list[dict[str, Any]]
    text: str
    render_meta: dict[str, Any] = field(default_factory=dict)
    document: Document | None = None
    #: Hook implementations that raised during this render (their part is missing).
    problems: tuple[PluginProblem, ...] = ()
    #: The post as it was rendered (a render made ahead is used only for the same post).
    draft: PostDraft | None = None
    #: The body's search-index tokens (``blog.search.body_tokens`` of ``text``), when the
    #: render was made on a bulk writer's render worker; else the index makes them.
    index_tokens: str | None = None


def heading_id(value: str, separator: str) -> str:
    """Make a heading id that survives Chinese headings (never empty)."""
    return slugify_unicode(value, separator) or "section"


def _plugins() -> Plugins:
    plugins: Plugins = current_app.extensions["blog.plugins"]
    return plugins


def build_markdown(post: PostDraft | None = None) -> markdown.Markdown:
    """Build a fresh Markdown instance (they are not thread-safe) with plugin extensions."""
    draft = post or PostDraft(title="", source="")
    extensions: list[Any] = [
        "extra",
        "sane_lists",
        NestedListExtension(),
        "admonition",
        TocExtension(slugify=heading_id, permalink=False),
    ]
    for contributed in _plugins().hooks.blog_markdown_extensions(post=draft):
        extensions.extend(contributed)
    return markdown.Markdown(extensions=extensions, output_format="html")


def build_allowlist() -> Allowlist:
    allowlist = Allowlist()
    for addition in _plugins().hooks.blog_allowed_html():
        allowlist.extend(addition)
    return allowlist


TOC_LEVELS = range(2, 5)


#: ``render_meta`` keys whose lists from several plugins are joined, not replaced.
LISTED_META = frozenset({"warnings", "notices"})


def render_warnings(render_meta: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The warnings plugins stored for a post, each as ``{"message", "line"?}``.

    A plugin may store a warning as a plain string or as a dict with ``message`` and the
    body ``line`` it concerns (see ``blog_post_metadata``).
    """
    found = (render_meta or {}).get("warnings") or []
    warnings = []
    for item in found:
        if isinstance(item, str) and item:
            warnings.append({"message": item})
        elif isinstance(item, dict) and item.get("message"):
            warnings.append(item)
    return warnings


def warning_text(warning: dict[str, Any]) -> str:
    """One warning as the author reads it: ``第 3 行：message`` or the message alone."""
    line = warning.get("line")
    prefix = f"第 {line} 行：" if isinstance(line, int) else ""
    return f"{prefix}{warning['message']}"


def html_to_text(html: str) -> str:
    """Return the visible text of ``html`` with block boundaries as single spaces."""
    return read_document(html).text


def nested_toc(headings: tuple[tuple[int, str, str], ...]) -> list[dict[str, Any]]:
    """Nest ``(level, id, text)`` headings of levels 2-4 into the stored table of contents."""
    root: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []
    for level, identifier, name in headings:
        if level not in TOC_LEVELS:
            continue
        item = {"level": level, "id": identifier, "name": name, "children": []}
        while stack and stack[-1]["level"] >= level:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(item)
        stack.append(item)
    return root


def markdown_and_plugins(draft: PostDraft) -> tuple[str, tuple[PluginProblem, ...]]:
    """Markdown and the ``blog_render_html`` chain: the part of a render under the budget.

    It runs in the render's own process (see :mod:`blog.render_budget`): the plugin
    failures met there are collected there and sent back with the HTML.
    """
    with collecting_problems(defer_logging=True) as found:
        html = build_markdown(draft).convert(draft.source)
        html = str(_plugins().chain("blog_render_html", "html", html, post=draft))
    return html, tuple(found)


def render_post(post: Any) -> Rendered:
    """Render ``post.source`` through Markdown, the plugins and the sanitizer.

    ``post`` is a stored or unsaved :class:`~blog.models.Post`; the hooks receive a frozen
    :class:`~blog.document.PostDraft` of it and the :class:`~blog.document.Document` read
    from the sanitized body, which is parsed exactly once here. A plugin that raises is
    skipped and named in ``Rendered.problems``.
    """
    check_render_limits(post.source, int(current_app.config["MAX_POST_BYTES"]))
    seconds = float(current_app.config["RENDER_TIMEOUT_SECONDS"])
    plugins = _plugins()
    draft = post if isinstance(post, PostDraft) else PostDraft.of(post)
    with collecting_problems() as problems:
        try:
            size = len(draft.source.encode("utf-8", "surrogatepass"))
            # A partial of a module-level function: it can be pickled, so it runs in a
            # pre-forked render worker (no fork on the save path).
            work = functools.partial(markdown_and_plugins, draft)
            html, found = within_budget(work, seconds, size)
            for problem in found:
                problem.log()
            problems.extend(found)
        except RecursionError:
            raise RenderError("post is nested too deeply for the Markdown renderer") from None
        html = sanitize_html(html, build_allowlist())
        document = read_document(html)
        text = document.text
        excerpt = plugins.hooks.blog_excerpt(post=draft, document=document, html=html, text=text)
        if excerpt is None:
            excerpt = text[:FALLBACK_EXCERPT_CHARS] + (
                "..." if len(text) > FALLBACK_EXCERPT_CHARS else ""
            )
        meta: dict[str, Any] = {"first_image": document.first_image} if document.first_image else {}
        for facts in plugins.hooks.blog_post_metadata(post=draft, document=document, html=html):
            for key, value in facts.items():
                if key in LISTED_META and isinstance(value, list):
                    # Several plugins report warnings and notices: keep every one.
                    meta[key] = [*meta.get(key, []), *value]
                else:
                    meta[key] = value
    return Rendered(
        body_html=html,
        excerpt=excerpt,
        toc=nested_toc(document.headings),
        text=text,
        render_meta=meta,
        document=document,
        problems=tuple(problems),
        draft=draft,
    )


def render_fragment(
    post: Post, narrow: Callable[[markdown.Markdown, Allowlist], None], max_bytes: int
) -> str:
    """Render reader-written ``post.source`` (a comment) through the same pipeline as posts.

    ``post`` is a transient stand-in carrying the source and its language. ``narrow``
    removes Markdown features and allowed tags before anything runs (comments get no
    raw HTML, images or headings), so the stricter allowlist is enforced by the same
    sanitizer. Returns the sanitized HTML; raises :class:`RenderError` like posts do.
    """
    check_render_limits(post.source, max_bytes)
    seconds = float(current_app.config["RENDER_TIMEOUT_SECONDS"])
    plugins = _plugins()
    draft = post if isinstance(post, PostDraft) else PostDraft.of(post)
    converter = build_markdown(draft)
    allowlist = build_allowlist()
    narrow(converter, allowlist)

    def markdown_and_plugins() -> str:
        html = converter.convert(draft.source)
        return str(plugins.chain("blog_render_html", "html", html, post=draft))

    try:
        size = len(draft.source.encode("utf-8", "surrogatepass"))
        html = within_budget(markdown_and_plugins, seconds, size)
    except RecursionError:
        raise RenderError("the text is nested too deeply for the Markdown renderer") from None
    return sanitize_html(html, allowlist)


def render_fingerprint() -> str:
    """Digest of everything that shapes rendered output: core, Markdown, plugins, config."""
    plugins = _plugins()
    parts = [CORE_RENDER_VERSION, markdown.__version__, *plugins.fingerprint_parts()]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def apply_render(post: Post) -> Rendered:
    """Render ``post`` and store the result on it; return it (its text feeds the index).

    A render during which a plugin failed is stored degraded: the failures are kept in
    ``post.render_problems`` and the fingerprint is not the current one, so ``blog
    rerender`` (and ``blog serve`` at start) renders the post again.
    """
    rendered = render_post(post)
    store_render(post, rendered)
    return rendered


def store_render(post: Post, rendered: Rendered) -> None:
    """Store ``rendered`` (made from ``post``'s current fields) on ``post``."""
    for name, value in render_columns(rendered, post).items():
        setattr(post, name, value)


def render_columns(rendered: Rendered, post: Post) -> dict[str, Any]:
    """The ``posts`` columns that store ``rendered`` on ``post`` (whose source it was made of).

    ``body_digest`` comes last, after the body it digests (see ``Post.body_digest``).
    """
    protected = post.password_hash is not None
    columns: dict[str, Any] = {
        "body_html": rendered.body_html,
        "body_text": rendered.text,
        "excerpt": rendered.excerpt,
        "toc": rendered.toc,
        "render_meta": rendered.render_meta,
        "render_problems": None,
        "render_fingerprint": current_app.extensions["blog.render_fingerprint"],
    }
    if protected:
        # Listings, feeds, meta descriptions and previews read these: for a protected post
        # they would give its text away, so they are never stored (the body stays, served
        # only to readers who unlocked it).
        columns["excerpt"] = ""
        columns["toc"] = []
        columns["render_meta"] = {
            k: v for k, v in rendered.render_meta.items() if k != "description"
        }
    if rendered.problems:
        columns["render_problems"] = [problem.as_json() for problem in rendered.problems]
        columns["render_fingerprint"] = DEGRADED_FINGERPRINT
    columns["body_digest"] = body_digest(post.source, columns["body_html"], columns["toc"])
    return columns
