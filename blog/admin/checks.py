"""What the editor checks in a saved post besides the plugins' own warnings: links to
posts or pages of this site that do not exist (a typo, a deleted or never-published post).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from flask import current_app, request
from sqlalchemy import select

from blog.models import Post, Redirect, SlugRedirect, db

#: ``/posts/<slug>/`` or ``/pages/<slug>/``, after an optional variant prefix (``/zh-tw``).
INTERNAL_POST = re.compile(r"^(?:/zh-[a-z]+)?/(posts|pages)/([^/]+)/?$")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _own_hosts() -> set[str]:
    hosts = {request.host} if request else set()
    site_url = str(current_app.config.get("SITE_URL") or "")
    if site_url:
        hosts.add(urlsplit(site_url).netloc)
    return hosts


def broken_internal_links(post: Post) -> list[str]:
    """The links in ``post``'s body to posts or pages of this site that readers cannot open."""
    reader = _Links()
    reader.feed(post.body_html or "")
    hosts = _own_hosts()
    broken: list[str] = []
    for href in dict.fromkeys(reader.hrefs):
        parts = urlsplit(href)
        if parts.scheme not in ("", "http", "https") or (
            parts.netloc and parts.netloc not in hosts
        ):
            continue
        path = unquote(parts.path)
        match = INTERNAL_POST.match(path)
        if match is None:
            continue
        kind = "page" if match.group(1) == "pages" else "post"
        if not _opens(match.group(2), kind, path):
            broken.append(href)
    return broken


def _opens(slug: str, kind: str, path: str) -> bool:
    target = db.session.scalars(
        select(Post).where(Post.slug == slug, Post.kind == kind, Post.deleted_at.is_(None))
    ).first()
    if target is not None:
        return target.is_public
    moved = db.session.get(SlugRedirect, slug)
    if moved is not None and moved.post.deleted_at is None and moved.post.is_public:
        return True
    return db.session.get(Redirect, path) is not None
