"""Helpers for the comment tests: an app that accepts comments at once, posting like a reader."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

#: Settings that let tests post without waiting for the minimum fill time or hitting the
#: rate limits by accident; tests of those rules set their own values.
QUICK = {
    "COMMENTS_MIN_FILL_SECONDS": 0,
    "COMMENTS_RATE_PER_CLIENT": 1000,
    "COMMENTS_RATE_PER_POST": 1000,
}
ORIGIN = "http://localhost"
_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def form_token(client: FlaskClient, path: str) -> str:
    """The token the comment form on ``path`` carries."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    match = _TOKEN.search(response.get_data(as_text=True))
    assert match, f"no comment form on {path}"
    return match.group(1)


def post_comment(
    client: FlaskClient,
    slug: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    address: str = "127.0.0.1",
    prefix: str = "",
    **fields: Any,
) -> TestResponse:
    """Fill in and submit the comment form of post ``slug`` as a reader at ``address``."""
    path = f"{prefix}/posts/{slug}/"
    form = {"name": "读者", "email": "", "website": "", "body": "写得好", "parent": ""}
    form.update({k: str(v) for k, v in fields.items()})
    form["token"] = token if token is not None else form_token(client, path)
    return client.post(
        f"{path}comments",
        data=form,
        headers={"Origin": ORIGIN, **(headers or {})},
        environ_base={"REMOTE_ADDR": address},
    )


def comment_list(html: str) -> str:
    """The ``<ol class="comment-list">`` part of a post page ("" when there is none)."""
    start = html.find('<ol class="comment-list">')
    if start < 0:
        return ""
    end = html.find('<form class="comment-form"', start)
    return html[start : end if end > 0 else len(html)]
