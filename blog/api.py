"""The public API for plugins: everything a plugin imports from the core comes from here.

Plugins implement hooks from :mod:`blog.hookspecs` with :data:`hookimpl`, read their
validated configuration with :func:`plugin_config`, and link their static files with
:func:`static_url`. ``API_VERSION`` follows semantic versioning: a plugin may declare
``REQUIRES_API = "1"`` (a major version) and is refused by an incompatible core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_app_context, has_request_context

from blog.document import MORE_CLASS, Document, Kind, PostDraft, Segment, read_document
from blog.elements import (
    BLOCK_ELEMENTS,
    CONTENT_REPLACED_EVENT,
    HIDDEN_ELEMENTS,
    LIVE_PREVIEW_ATTRIBUTE,
    NO_CONVERT_ATTRIBUTE,
    NO_CONVERT_CLASS,
    VERBATIM_ELEMENTS,
    VOID_ELEMENTS,
    leaves_text_alone,
)
from blog.fragments import FragmentCache
from blog.fragments import join as join_fragments
from blog.fragments import split as split_fragments
from blog.hookspecs import API_VERSION, hookimpl
from blog.textscan import LEFT_ALONE, Opening, Runs, Tag, TextTransform, transform_text
from blog.uploaded_image import UploadedImage

__all__ = [
    "API_VERSION",
    "BLOCK_ELEMENTS",
    "CONTENT_REPLACED_EVENT",
    "HIDDEN_ELEMENTS",
    "LEFT_ALONE",
    "LIVE_PREVIEW_ATTRIBUTE",
    "MORE_CLASS",
    "NO_CONVERT_ATTRIBUTE",
    "NO_CONVERT_CLASS",
    "VERBATIM_ELEMENTS",
    "VOID_ELEMENTS",
    "Document",
    "FragmentCache",
    "Kind",
    "Opening",
    "PostDraft",
    "Runs",
    "Segment",
    "Tag",
    "TextTransform",
    "UploadedImage",
    "add_static_file",
    "current_variant",
    "hookimpl",
    "join_fragments",
    "leaves_text_alone",
    "plugin_config",
    "read_document",
    "split_fragments",
    "static_url",
    "transform_text",
    "uploaded_images",
]


def plugin_config(name: str, app: Flask | None = None) -> Any:
    """Return the validated configuration of plugin ``name``: its ``Config`` instance.

    The instance is filled from the ``[plugins.<name>]`` table of ``config.toml`` (the
    defaults when there is no table) and checked at start-up, where an unknown key or a
    wrong type stops the app naming file, table and key. ``app`` is the application to
    read: by default the current one; hooks that receive the app before it serves
    (``blog_register_routes``) and plugin commands (``ctx.obj.app()``) pass it.

    ``None`` when there is no application (a plugin's function called on its own, from a
    script or a test), when ``name`` is not enabled in it, or when the plugin has no
    ``Config``; so a plugin reads its configuration as ``plugin_config("x") or Config()``.
    """
    if app is None:
        if not has_app_context():
            return None
        app = current_app
    plugins = app.extensions.get("blog.plugins")
    return plugins.config_for(name) if plugins is not None else None


def uploaded_images(text: str) -> dict[str, UploadedImage]:
    """Find the uploads ``text`` refers to; map each address, as written, to its facts.

    Uploads without a known size (stored before sizes were kept) are left out. Needs an
    application context (it reads the database).
    """
    # Imported here: every plugin imports this module, also when `blog --help` only lists
    # plugin commands, and the upload store would load the whole database layer.
    from blog.admin.uploads import uploaded_images as find_uploads

    return find_uploads(text)


def static_url(plugin: str, path: str) -> str:
    """Return the content-hashed, cache-forever URL of ``path`` in plugin's ``static/``."""
    return str(current_app.extensions["blog.assets"].url(f"plugins/{plugin}", path))


def add_static_file(plugin: str, name: str, path: Path) -> str:
    """Serve ``path``, a file outside the plugin's ``static/`` (e.g. installed by npm), like
    the plugin's own static files: as ``name`` at a content-hashed, cache-forever URL,
    which is returned (and later given by ``static_url(plugin, name)``), and copied by
    ``blog build``. Call it from ``blog_startup``.
    """
    return str(current_app.extensions["blog.assets"].add_file(f"plugins/{plugin}", name, path))


def current_variant() -> str | None:
    """Return the variant selected for the current request (``None`` outside requests)."""
    if not has_request_context():
        return None
    return g.get("variant")
