"""``url_for`` for templates, with each answer kept per script root, endpoint and values.

A page miss builds the same few URLs again and again (home, archive, the tag and category
links of every card), and werkzeug's rule building is a noticeable part of a miss. For a
URL relative to the site (no ``_external``, ``_scheme``, ``_anchor`` or ``_method``, and an
absolute endpoint name) the answer depends only on the URL map, fixed once the app
serves, on the values, and on the script root (a variant prefix or a sub-path lives
there). Anything else is passed to Flask's ``url_for`` as it is.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context, request
from flask import url_for as flask_url_for

#: Answers kept per app; the table is emptied when full (a site has few distinct URLs per
#: page, but a listing of many tags could otherwise grow it without bound).
MEMO_ENTRIES = 20_000


def memoized_url_for(app: Flask) -> Any:
    """Return the ``url_for`` templates of ``app`` call."""
    memo: dict[tuple[Any, ...], str] = {}

    def url_for(endpoint: str, **values: Any) -> str:
        # URL default callbacks may read the request: then every call goes to Flask.
        if (
            endpoint[:1] == "."
            or not _plain(values)
            or any(app.url_default_functions.values())
            or not has_request_context()
        ):
            return flask_url_for(endpoint, **values)
        key = (
            request.script_root,
            endpoint,
            *((name, type(value), value) for name, value in sorted(values.items())),
        )
        found = memo.get(key)
        if found is None:
            found = flask_url_for(endpoint, **values)
            if len(memo) >= MEMO_ENTRIES:
                memo.clear()
            memo[key] = found
        return found

    return url_for


def _plain(values: dict[str, Any]) -> bool:
    """Only strings and numbers, and none of Flask's ``_`` options."""
    return all(name[:1] != "_" and type(value) in (str, int) for name, value in values.items())
