"""The stages of the blog, in the order data flows through them.

Every hook a plugin can implement is specified here; the docstring of each is its
reference documentation (``docs/plugins.md`` is built around them). The engine calls
them through pluggy, in the order plugins are listed in ``PLUGINS`` (``tryfirst`` /
``trylast`` and wrappers work as pluggy documents). An implementation that raises is
logged with its plugin's name and its contribution is skipped: during a request the page
still renders; during a save the post is stored *degraded* (the failure is kept in
``render_problems``, shown by ``blog plugins`` and the admin, and ``blog rerender``
renders it again). Set ``STRICT_PLUGINS = true`` to re-raise instead.

Save time (``blog/render.py``)::

    blog_markdown_extensions -> Markdown -> blog_render_html (chain) -> sanitize
    (tags from blog_allowed_html) -> one parse into a Document -> blog_excerpt
    (first wins) -> blog_post_metadata -> blog_search_text (chain) -> stored;
    then blog_post_changed

The save-time hooks receive ``post`` as a frozen :class:`blog.api.PostDraft` (title,
source, slug, lang, meta...), never the database row, and the excerpt and metadata hooks
receive the parsed :class:`blog.api.Document` (text, headings, first image, segments).

Request time (``blog/views.py``)::

    blog_variants / blog_request_variant pick the variant -> view -> template
    (blog_template_context, blog_head_assets, blog_display_text through the ``display``
    filter) -> blog_text_transform (one scan of the page's text for all of them)
    -> blog_response_filter (chain)

Admin editor: blog_editor_fields adds front-matter fields to the post form.

Start-up: blog_register_routes, blog_register_commands, blog_startup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Flask, Request, Response
    from markdown.extensions import Extension

    from blog.document import Document, PostDraft
    from blog.models import Post
    from blog.textscan import TextTransform

PROJECT = "blog"
#: 1.1: hooks called through pluggy; ``document`` for blog_excerpt/blog_post_metadata;
#: ``post`` is a read-only PostDraft at save time; blog_post_changed hears "rerendered".
#: 1.2: ``blog.api.uploaded_images`` and ``blog.api.add_static_file``.
#: 1.3: ``blog.api.LIVE_PREVIEW_ATTRIBUTE`` and ``CONTENT_REPLACED_EVENT`` (admin preview).
#: 1.4: ``blog_editor_fields`` (front-matter fields a plugin adds to the admin editor).
#: 1.5: ``plugin_config(name, app=None)``: an app to read, ``None`` without an app.
#:      ``blog.api.split_fragments``, ``join_fragments`` and ``FragmentCache`` (a response
#:      filter converts a post's body once, not on every page it is shown on).
#: 1.6: ``blog_text_transform``: a plugin that changes the text of outgoing pages returns
#:      a ``blog.api.TextTransform``, and the core applies every plugin's in one scan of
#:      the page (``LEFT_ALONE``, ``Opening``, ``Runs``, ``Tag``, ``transform_text``).
API_VERSION = "1.6"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def blog_markdown_extensions(post: PostDraft) -> list[Extension | str]:
    """Return Python-Markdown extensions to add to the render pipeline for ``post``.

    A text transform belongs here, as a treeprocessor working on Markdown's element
    tree, rather than in :func:`blog_render_html`, which would parse HTML again. Runs
    once per render (a fresh ``markdown.Markdown`` is built for every post, so
    extensions need not be thread-safe). Return a list of extension instances or
    dotted names; the lists of all plugins are concatenated after the core's own
    extensions (``extra``, ``sane_lists``, two-space list nesting from
    :mod:`blog.markdown_lists`, ``admonition``, ``toc``).
    """


@hookspec
def blog_render_html(post: PostDraft, html: str) -> str | None:
    """Transform the HTML that Markdown produced for ``post``; ``None`` means unchanged.

    Runs at save time only, never per request. Implementations form a chain: each
    receives the previous one's output. It runs before sanitizing, so anything a
    plugin emits must be allowed by some plugin's :func:`blog_allowed_html`.
    Elements carrying ``translate="no"`` (math, code) must be left alone by text
    transforms.
    """


@hookspec
def blog_allowed_html() -> dict[str, Any] | None:
    """Return additions to the sanitizer's allowlist.

    A dict with any of: ``"tags"`` (a set of element names), ``"attributes"``
    (a mapping of element name, or ``"*"`` for all, to a set of attribute names) and
    ``"url_schemes"`` (a set) and ``"attribute_values"`` (a mapping of attribute name to
    a regular expression its values must match in full, wherever the attribute is
    allowed; a value failing the pattern of any plugin is removed). Runs once per
    render; the additions of every plugin are merged with the core's allowlist. Nothing
    can re-allow ``script``, ``style`` attributes or event handlers.
    """


@hookspec(firstresult=True)
def blog_excerpt(post: PostDraft, document: Document, html: str, text: str) -> str | None:
    """Return the plain-text excerpt for ``post``, or ``None`` to let another plugin decide.

    ``document`` is the sanitized body read once (``document.segments`` in reading
    order, each with its ``Kind``); ``html`` and ``text`` are ``document.html`` and
    ``document.text``, kept for plugins written against API 1.0. Runs at save time; the
    first non-``None`` result wins, and the core falls back to the start of the text.
    """


@hookspec
def blog_post_metadata(post: PostDraft, document: Document, html: str) -> dict[str, Any] | None:
    """Return JSON-serialisable facts about ``post`` to store with it (word counts, reading time).

    Runs at save time after the excerpt, with the same ``document`` (``html`` is
    ``document.html``). The dicts of all plugins are merged into ``post.render_meta``,
    which templates read as ``post.render_meta["key"]``. Under ``"warnings"``, a list of
    what the author should fix that did not stop the save (the post still renders), each
    a string or ``{"message": ..., "line": n}`` (``n`` counted in the body): the editor
    shows them and ``blog import`` prints them with the file and line. Under
    ``"notices"``, strings saying what a plugin noticed and did. The lists of all
    plugins are joined.
    """


@hookspec
def blog_search_text(text: str) -> str | None:
    """Normalise ``text`` for the search index (and the query); ``None`` means unchanged.

    A chain like :func:`blog_render_html`. Runs at save time for each post's indexed text
    and at request time for every search query, so both sides are normalised alike
    (for example, converting Traditional to Simplified so either script finds both).
    """


@hookspec(firstresult=True)
def blog_text_lang(text: str) -> str | None:
    """Return the BCP 47 language tag of reader-written ``text`` (a comment), or ``None``.

    Runs at save time for every comment before it is rendered; the first non-``None``
    answer wins and becomes the ``lang`` of the stand-in post the comment is rendered as,
    so the save-time and response-time transforms treat it as written in its own script.
    Without an answer the comment takes its post's language.
    """


@hookspec
def blog_display_text(text: str, role: str) -> str | None:
    """Return ``text`` as it should be shown outside a post's body; ``None`` means unchanged.

    A chain like :func:`blog_render_html`, run at request time on short text the pages and
    feeds show: ``role`` is ``"title"`` (post titles in pages, ``<title>``, listings and
    feeds), ``"heading"`` (table-of-contents entries), ``"excerpt"``, ``"description"``
    (meta descriptions) or ``"snippet"`` (search results; then ``text`` is HTML with
    ``<mark>`` highlights, and the result must stay safe HTML). The stored text stays as
    written. Themes apply it with the ``display`` filter: ``{{ post.title|display }}``.
    """


@hookspec
def blog_post_changed(post: Post, action: str) -> None:
    """Be told that ``post`` was saved, deleted, restored or purged.

    ``action`` is one of ``"saved"``, ``"rerendered"`` (``blog rerender`` stored a new
    rendering of an unchanged source), ``"trashed"``, ``"restored"``, ``"purged"``. Runs
    after the change is flushed, inside the same database transaction; every plugin is
    told and return values are ignored.
    """


@hookspec
def blog_variants() -> list[str]:
    """Return the URL variants this plugin serves (for example ``["zh-hans", "zh-tw"]``).

    Runs at start-up, inside the new app's context (``current_app`` and the plugin's
    configuration are available); the lists of all plugins are joined, duplicates dropped. Every
    public page is then also reachable under ``/<variant>/…``;
    the prefix is moved into ``SCRIPT_NAME`` so ``url_for`` keeps it, and the selected
    variant is available as ``g.variant`` and in templates as ``variant``.
    """


@hookspec(firstresult=True)
def blog_request_variant(request: Request) -> str | None:
    """Choose the variant for a request whose URL carries no variant prefix.

    Runs before the view for every public request without a prefix. Decide from the
    cookies, the ``Accept-Language`` header and the query string only: the page cache
    remembers the answer for those three values. Return one of the names from
    :func:`blog_variants`, or ``None``; the first non-``None`` answer wins.
    """


@hookspec
def blog_template_context(request: Request, template: str) -> dict[str, Any] | None:
    """Return extra variables for rendering ``template`` during ``request``.

    ``template`` is the theme template's name (``"post.html"``). Runs for every rendered
    page; the dicts are merged in plugin order over the core's variables, so a later
    plugin's value for a key wins.
    """


@hookspec
def blog_editor_fields() -> list[dict[str, Any]]:
    """Return front-matter fields this plugin adds to the admin editor.

    Each field is a dict: ``key`` (the front-matter key, stored in the post's ``meta``),
    ``label``, an optional ``help`` line, and ``choices``: a list of ``{"value", "label"}``.
    The editor shows one checkbox per choice, ticked when the post's front matter lists
    its value, and saves the ticked values as a list under ``key`` (the key is removed
    when none is ticked). Values the post already names that are not among the choices
    are shown ticked as well, so a save never drops them unseen. The JSON API takes the
    key as a post field, as a list of strings (or one string naming several), and shows
    it in single-post answers. Runs for every editor page and save and every API write;
    lists are concatenated, and a key the core edits itself is ignored.
    """


@hookspec
def blog_head_assets(request: Request) -> list[str]:
    """Return URLs of CSS (``.css``) and JavaScript (``.js``) files for the page head.

    Use ``blog.api.static_url(plugin, path)`` for files in the plugin's ``static/``
    folder. Runs for every rendered page; lists are concatenated.
    """


@hookspec
def blog_text_transform(request: Request, response: Response) -> TextTransform | None:
    """Return a :class:`blog.api.TextTransform` for the text of ``response``, or ``None``.

    Runs for every HTML, Atom or XML response before :func:`blog_response_filter`. The
    core reads the page once and applies the transforms of all plugins to its text runs
    as a chain in plugin order (each sees the previous one's output): a script conversion and the
    corner quotes share one scan instead of parsing the page each. The core applies the
    "do not touch" rule of :func:`blog.api.leaves_text_alone` for every transform; a
    transform adds its own (``Opening(LEFT_ALONE)`` from ``start_tag``). Stored HTML
    between fragment marks (a post's body) is transformed once and kept. A transform
    that raises is logged with its name and left out of that response; the page is
    still sent, with the other transforms applied.
    """


@hookspec
def blog_response_filter(request: Request, response: Response) -> Response | None:
    """Transform an outgoing HTML response; ``None`` means unchanged.

    A chain, run for every HTML, Atom or XML response (public pages, feeds and the admin)
    after the text transforms (:func:`blog_text_transform`) and before the page cache
    stores it, so its work is done once per URL, variant and content version. A filter
    that changes the page's text should be a text transform instead: the page is then
    not read once more.

    Stored HTML a page shows as it is (a post's body) arrives between fragment marks
    (HTML comments the core removes after the chain). A filter that changes text may
    split the page with ``blog.api.split_fragments``, filter the rest, convert each
    fragment once through a ``blog.api.FragmentCache`` and put the page back with
    ``join_fragments``; a filter that ignores the marks still sees the whole page.
    """


@hookspec
def blog_register_routes(app: Flask) -> None:
    """Register blueprints or routes on ``app``.

    Runs once while the app is created, after the core's blueprints; every plugin's
    implementation runs and return values are ignored.
    """


@hookspec
def blog_register_commands(cli: click.Group) -> None:
    """Add ``click`` commands to the ``blog`` command group ``cli``.

    Runs when ``blog`` lists its commands (``blog --help``) or is asked for a command
    it does not have built in, for an instance whose ``config.toml`` exists. Only the
    enabled plugins' modules are loaded then, not the app, so ``blog --help`` starts
    fast: a command that needs the app (configuration, database) gets it when it runs,
    from click's context object: ``click.get_current_context().obj.app()``. Every
    plugin's implementation runs and return values are ignored.

    Not called for plugins whose distribution declares its commands as ``blog.commands``
    entry points (``<plugin>.<command>``): those are listed without importing the
    plugin and imported when they run (``docs/plugins.md``).
    """


@hookspec
def blog_startup(app: Flask) -> None:
    """Prepare the plugin: check its configuration, build caches.

    Runs once at the end of ``create_app``, inside an application context; return
    values are ignored. Raising here marks the plugin as failed and unregisters it, so
    none of its other hooks run (in strict mode the exception stops start-up).
    """
