"""Re-render stored posts after the pipeline (plugins, their config) changed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import select

from blog.models import Post, db
from blog.posts import bump_content_version, notify
from blog.render import RenderError, apply_render

logger = logging.getLogger("blog.rerender")
BATCH = 50


def rerender_posts(stale_only: bool = True, on_post: Callable[[Post], Any] | None = None) -> int:
    """Re-render posts (only stale ones by default), committing in batches; return the count.

    Stale means rendered with another pipeline or degraded by a plugin failure. Each new
    rendering also updates the search index and is announced as ``blog_post_changed``
    with action ``"rerendered"``, in the batch's transaction.
    """
    fingerprint = current_app.extensions["blog.render_fingerprint"]
    query = select(Post.id).order_by(Post.id)
    if stale_only:
        query = query.where(Post.render_fingerprint != fingerprint)
    ids = list(db.session.scalars(query))
    for start in range(0, len(ids), BATCH):
        for post in db.session.scalars(select(Post).where(Post.id.in_(ids[start : start + BATCH]))):
            try:
                rendered = apply_render(post)
            except RenderError as error:
                logger.error("cannot re-render %s: %s", post.slug, error)
            else:
                notify(post, "rerendered", rendered.text)
            if on_post is not None:
                on_post(post)
        bump_content_version()
        db.session.commit()
    return len(ids)
