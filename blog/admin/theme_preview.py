"""The site theme's stylesheets, scoped to the editor's preview pane.

The editor shows the rendered post inside the admin page; linking the theme's own
stylesheets there would restyle the whole admin (the default theme is dark). Here they
are served wrapped in ``@scope (.theme-preview)``, with ``:root``, ``html`` and ``body``
meaning the pane itself, so the preview has the theme's colours, type and spacing while
the admin around it keeps its own look. The files are read from the theme chain like
``base.html`` links them (``theme_options["stylesheets"]``, a child theme's file first).
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from werkzeug.wrappers import Response

from blog.admin.blueprint import admin

#: Scope root of the preview (blog/admin/templates/admin/edit.html).
SCOPE = ".theme-preview"
#: Selectors for the document itself; inside the scope they mean the pane.
_DOCUMENT_SELECTORS = re.compile(r"(?<![\w.#-])(:root|html|body)(?![\w-])")
_COMMENTS = re.compile(r"/\*.*?\*/", re.S)


def scoped_theme_css() -> str:
    """Every stylesheet of the theme, in link order, inside one ``@scope`` rule."""
    chain = current_app.extensions["blog.theme_chain"]
    options: dict[str, Any] = current_app.jinja_env.globals["theme_options"]  # type: ignore[assignment]
    sheets = options.get("stylesheets", ["base.css"])
    parts = []
    for name in sheets:
        for theme in chain:
            path = theme.static / name
            if path.is_file():
                css = _COMMENTS.sub("", path.read_text(encoding="utf-8"))
                parts.append(_DOCUMENT_SELECTORS.sub(":scope", css))
                break
    body = "\n".join(parts)
    return (
        f"/* The site theme, scoped to the editor's preview (blog/admin/theme_preview.py). */\n"
        f"@scope ({SCOPE}) {{\n{body}\n:scope {{ background: var(--bg); color: var(--fg); }}\n}}\n"
    )


@admin.route("/theme-preview.css")
def theme_preview_css() -> Response:
    return Response(scoped_theme_css(), mimetype="text/css")
