"""Short text shown outside a post's body, passed through the ``blog_display_text`` chain.

Titles, table-of-contents entries, excerpts, meta descriptions and search snippets are
stored as written; plugins adjust how they are shown (spacing, punctuation) at request
time. Templates call it as the ``display`` filter, feeds call :func:`display_text`.
"""

from __future__ import annotations

from typing import Any

import nh3
from flask import current_app
from markupsafe import Markup

from blog.plugins import Plugins

ROLES = frozenset({"title", "heading", "excerpt", "description", "snippet"})
#: Elements a search snippet may carry after plugins have changed it.
SNIPPET_TAGS = {"mark", "sup", "sub", "b", "strong", "em", "i"}


def display_text(text: Any, role: str = "title") -> Any:
    """Return ``text`` through the plugins' ``blog_display_text`` chain for ``role``.

    ``None`` and empty text pass through. :class:`~markupsafe.Markup` (a search snippet)
    comes back as ``Markup``: the plugins are told it is HTML by its role.
    """
    if not text or role not in ROLES:
        return text
    plugins: Plugins = current_app.extensions["blog.plugins"]
    if isinstance(text, Markup):
        shown = plugins.chain("blog_display_text", "text", str(text), role=role)
        # A plugin's HTML is cleaned again before it is trusted: only inline marks survive.
        return Markup(nh3.clean(str(shown), tags=SNIPPET_TAGS, attributes={}))  # noqa: S704
    return str(plugins.chain("blog_display_text", "text", str(text), role=role))
