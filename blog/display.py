"""Short text shown outside a post's body, passed through the ``blog_display_text`` chain.

Titles, table-of-contents entries, excerpts, meta descriptions and search snippets are
stored as written; plugins adjust how they are shown (spacing, punctuation) at request
time. Templates call it as the ``display`` filter, feeds call :func:`display_text`.

A page shows the same names again and again (site title, category and tag names, the
titles of neighbours and related posts), and the chain's answer depends only on the text,
its role and the plugins' configuration, so plain text is passed through it once per app
and kept in a bounded table (search snippets, which carry the query's highlights, are not).
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
#: Answers kept per app, and the longest text kept (longer text is rarely shown twice).
MEMO_ENTRIES = 20_000
MEMO_MAX_CHARS = 2_000
_MEMO_KEY = "blog.display_memo"


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
    plain = str(text)
    # Shared by the app's threads: a lost update only means one more call of the chain.
    memo: dict[tuple[str, str], str] = current_app.extensions.setdefault(_MEMO_KEY, {})
    key = (plain, role)
    shown = memo.get(key)
    if shown is None:
        shown = str(plugins.chain("blog_display_text", "text", plain, role=role))
        if len(plain) <= MEMO_MAX_CHARS:
            if len(memo) >= MEMO_ENTRIES:
                memo.clear()  # simpler than LRU order, and a site rarely has this many names
            memo[key] = shown
    return shown
