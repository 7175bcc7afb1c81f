"""Render at save time: Markdown source -> sanitized HTML, excerpt, TOC and stats.

This is the only place Markdown is rendered. Readers get the stored result; the pipeline
is extended only through plugin hooks (see :mod:`blog.hookspecs`).
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Callable
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
CORE_RENDER_VERSION = "3"
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


class RenderError(Exception):
    """A post cannot be rendered (too large, too slow); the message says why."""


def within_budget(work: Callable[[], str], seconds: float) -> str:
    """Run ``work`` in a worker thread; raise :class:`RenderError` if it takes over ``seconds``.

    A Python thread cannot be stopped safely (an asynchronous exception can land inside a
    lock and deadlock the process), so the caller stops *waiting*: the request or import
    thread gets its answer at the deadline and goes back to serving, while the abandoned
    render finishes in the background. The up-front limits (:func:`check_render_limits`)
    refuse the inputs known to run for minutes, which bounds that leftover work.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    outcome: dict[str, Any] = {}

    def run() -> None:
        with app.app_context():
            try:
                outcome["html"] = work()
            except BaseException as error:  # handed to the waiting thread as it is
                outcome["error"] = error

    worker = threading.Thread(target=run, name="blog-render", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise RenderError(
            f"rendering took longer than {seconds:g} s (RENDER_TIMEOUT_SECONDS); "
            "look for very long or deeply nested constructs"
        )
    if "error" in outcome:
        raise outcome["error"]
    return str(outcome["html"])


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
        escaped = False
        for index, char in enumerate(paragraph):
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "[":
                opened.append(index)
            elif char == "]" and opened:
                cost += index - opened.pop()
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
        TocExtension(slugify=heading_id, permalink=False),
    ]
    for _plugin, contributed in _plugins().call_each("blog_markdown_extensions"):
        extensions.extend(contributed)
    return markdown.Markdown(extensions=extensions, output_format="html")


def build_allowlist() -> Allowlist:
    allowlist = Allowlist()
    for _plugin, addition in _plugins().call_each("blog_allowed_html"):
        allowlist.extend(addition)
    return allowlist


TOC_LEVELS = range(2, 5)
_BLOCKS = frozenset(
    "p div li h1 h2 h3 h4 h5 h6 pre blockquote tr table section figure dt dd br".split()  # noqa: SIM905
)
_INVISIBLE = frozenset({"annotation", "script", "style"})


@dataclass(frozen=True)
class BodyFacts:
    """What one pass over a sanitized body yields (see :func:`read_body`)."""

    text: str
    headings: tuple[tuple[int, str, str], ...]
    first_image: str | None


class _BodyReader(HTMLParser):
    """One pass over sanitized HTML: visible text, headings ``(level, id, text)``, first image.

    TeX annotations are skipped: the formula's rendering already supplies its text. A
    MathML ``<semantics>`` with a ``text/plain`` annotation reads as that annotation (the
    standard plain-text alternative, e.g. "10⁻⁶" where the rendering flattens to "10−6").
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.headings: list[tuple[int, str, str]] = []
        self.first_image: str | None = None
        self._heading: tuple[int, str] | None = None
        self._heading_text: list[str] = []
        self._skip = 0
        self._semantics: tuple[int, list[str]] | None = None
        self._plain: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "semantics" and self._semantics is None:
            self._semantics = (len(self.parts), [])
        if tag == "annotation" and self._semantics and ("encoding", "text/plain") in attrs:
            self._plain = self._semantics[1]
        if tag in _INVISIBLE:
            self._skip += 1
        if tag in _BLOCKS:
            self.parts.append(" ")
        if tag == "img" and self.first_image is None:
            self.first_image = dict(attrs).get("src") or None
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            identifier = dict(attrs).get("id")
            if identifier:
                self._heading, self._heading_text = (int(tag[1]), identifier), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "annotation":
            self._plain = None
        if tag == "semantics" and self._semantics is not None:
            start, plain = self._semantics
            if plain:
                del self.parts[start:]
                self.parts.append("".join(plain))
            self._semantics = None
        if tag in _INVISIBLE and self._skip:
            self._skip -= 1
        if tag in _BLOCKS:
            self.parts.append(" ")
        if self._heading and tag == f"h{self._heading[0]}":
            text = re.sub(r"\s+", " ", "".join(self._heading_text)).strip()
            self.headings.append((*self._heading, text))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._plain is not None:
            self._plain.append(data)
        if not self._skip:
            self.parts.append(data)
            if self._heading:
                self._heading_text.append(data)


@functools.lru_cache(maxsize=16)
def read_body(html: str) -> BodyFacts:
    """Read ``html`` once; cached because the save pipeline and the search index both ask."""
    reader = _BodyReader()
    reader.feed(html)
    reader.close()
    text = re.sub(r"\s+", " ", "".join(reader.parts)).strip()
    return BodyFacts(text, tuple(reader.headings), reader.first_image)


def html_to_text(html: str) -> str:
    """Return the visible text of ``html`` with block boundaries as single spaces."""
    return read_body(html).text


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


def render_post(post: Post) -> Rendered:
    """Render ``post.source`` through Markdown, the plugins and the sanitizer."""
    check_render_limits(post.source, int(current_app.config["MAX_POST_BYTES"]))
    seconds = float(current_app.config["RENDER_TIMEOUT_SECONDS"])
    plugins = _plugins()
    converter = build_markdown()

    def markdown_and_plugins() -> str:
        html = converter.convert(post.source)
        return str(plugins.call_chain("blog_render_html", "html", html, post=post))

    try:
        html = within_budget(markdown_and_plugins, seconds)
    except RecursionError:
        raise RenderError("post is nested too deeply for the Markdown renderer") from None
    html = sanitize_html(html, build_allowlist())
    facts = read_body(html)
    text = facts.text
    excerpt = plugins.call_first("blog_excerpt", post=post, html=html, text=text)
    if excerpt is None:
        excerpt = text[:FALLBACK_EXCERPT_CHARS] + (
            "..." if len(text) > FALLBACK_EXCERPT_CHARS else ""
        )
    toc = nested_toc(facts.headings)
    meta: dict[str, Any] = {"first_image": facts.first_image} if facts.first_image else {}
    for _plugin, facts in plugins.call_each("blog_post_metadata", post=post, html=html):
        meta.update(facts)
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
