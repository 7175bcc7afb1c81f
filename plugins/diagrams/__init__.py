"""Diagrams plugin: ```` ```mermaid ```` blocks drawn by Mermaid in the reader's browser.

Why in the browser and not as SVG at save time: Mermaid lays text out with a real browser
engine, so a save-time render means a headless Chromium per save (seconds and hundreds of
MB, inside the render budget's child process), and its SVG carries ``<style>`` elements
and ``style`` attributes that our sanitizer and the ``style-src 'self'`` policy refuse;
one stored SVG also cannot follow the reader's light or dark scheme.

Mermaid itself is not in this repository: the README's set-up installs it from npm
(``scripts/serve-demo``, ``scripts/test``) and ``mermaid_file`` names its one-file build.
It is served at a content-hashed static URL and linked only from pages that contain a
diagram, or a live preview that may come to show one (the admin editor); a response filter
adds it. ``blog build`` copies it. Without the file the site works and diagrams stay
readable as their source.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from blog.api import (
    LIVE_PREVIEW_ATTRIBUTE,
    add_static_file,
    hookimpl,
    plugin_config,
    static_url,
)
from blog_plugins.diagrams.extension import DIAGRAM_CLASS, DiagramExtension

if TYPE_CHECKING:
    from flask import Flask, Request, Response
    from markdown.extensions import Extension

__version__ = "1.0.0"

log = logging.getLogger(__name__)

#: Where ``scripts/serve-demo`` installs Mermaid, relative to the instance folder.
DEFAULT_MERMAID_FILE = "npm/node_modules/mermaid/dist/mermaid.min.js"
#: The marker a page with a diagram contains (as the extension writes it).
_MARKER = f'<pre class="{DIAGRAM_CLASS}"'.encode()
#: The admin editor's live preview, which can gain a diagram while the author types.
_LIVE_PREVIEW = f" {LIVE_PREVIEW_ATTRIBUTE}".encode()
_HEAD_END = b"</head>"
_LIBRARY = "mermaid.min.js"


@dataclass
class Config:
    """``[plugins.diagrams]``: ``mermaid_file`` is Mermaid's one-file browser build
    (``dist/mermaid.min.js`` of the npm package); a relative path is read from the
    instance folder."""

    mermaid_file: str = DEFAULT_MERMAID_FILE


def library_path(app: Flask) -> Path:
    config = plugin_config("diagrams") or Config()
    path = Path(config.mermaid_file)
    return path if path.is_absolute() else Path(app.instance_path) / path


@hookimpl
def blog_markdown_extensions() -> list[Extension | str]:
    return [DiagramExtension()]


@hookimpl
def blog_startup(app: Flask) -> None:
    path = library_path(app)
    if path.is_file():
        add_static_file("diagrams", _LIBRARY, path)
        app.extensions["blog_plugins.diagrams"] = True
    else:
        log.warning(
            "diagrams: %s not found (install it with `npm install --prefix <instance>/npm "
            "mermaid`, or set [plugins.diagrams] mermaid_file); diagrams show their source",
            path,
        )
        app.extensions["blog_plugins.diagrams"] = False


@hookimpl
def blog_response_filter(request: Request, response: Response) -> Response | None:
    if response.mimetype != "text/html" or response.direct_passthrough:
        return None
    if response.status_code != 200 or not _library_ready():
        return None
    body = response.get_data()
    if (_MARKER not in body and _LIVE_PREVIEW not in body) or _HEAD_END not in body:
        return None
    tags = (
        f'<link rel="stylesheet" href="{static_url("diagrams", "diagrams.css")}">\n'
        f'<script src="{static_url("diagrams", _LIBRARY)}" defer></script>\n'
        f'<script src="{static_url("diagrams", "diagrams.js")}" defer></script>\n'
    ).encode()
    response.set_data(body.replace(_HEAD_END, tags + _HEAD_END, 1))
    return response


def _library_ready() -> bool:
    return bool(current_app.extensions.get("blog_plugins.diagrams"))
