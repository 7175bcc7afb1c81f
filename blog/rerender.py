"""Re-render stored posts after the pipeline (plugins, their config) changed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from typing import Any

from flask import current_app
from sqlalchemy import select

from blog.document import PostDraft
from blog.models import Post, db
from blog.parallel import render_all
from blog.posts import bump_content_version, notify
from blog.render import RenderError, store_render

logger = logging.getLogger("blog.rerender")
BATCH = 50


def rerender_posts(
    stale_only: bool = True,
    on_post: Callable[[Post], Any] | None = None,
    workers: int | None = None,
    only: Collection[int] | None = None,
) -> int:
    """Re-render posts (only stale ones by default), committing in batches; return the count.

    Stale means rendered with another pipeline or degraded by a plugin failure; ``only``
    limits the work to those post ids (with ``stale_only=False``: render them all). Rendering
    runs on ``workers`` processes (default: every core, see :mod:`blog.parallel`); this
    process alone writes. Each new rendering also updates the search index and is
    announced as ``blog_post_changed`` with action ``"rerendered"``, in the batch's
    transaction.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    fingerprint = current_app.extensions["blog.render_fingerprint"]
    query = select(Post.id).order_by(Post.id)
    if stale_only:
        query = query.where(Post.render_fingerprint != fingerprint)
    if only is not None:
        query = query.where(Post.id.in_(list(only)))
    ids = list(db.session.scalars(query))
    results = render_all(app, _drafts(ids), workers)
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        posts = {p.id: p for p in db.session.scalars(select(Post).where(Post.id.in_(batch)))}
        for post_id in batch:
            draft, rendered = next(results)
            post = posts[post_id]
            if isinstance(rendered, RenderError):
                logger.error("cannot re-render %s: %s", post.slug, rendered)
            elif draft.id != post_id or post.source != draft.source:
                logger.warning("%s changed while re-rendering; left for its own save", post.slug)
            else:
                store_render(post, rendered)
                notify(post, "rerendered", rendered.text)
            if on_post is not None:
                on_post(post)
        bump_content_version()
        db.session.commit()
    return len(ids)


def _drafts(ids: list[int]) -> Iterator[PostDraft]:
    """Drafts of the posts ``ids``, read in batches (in id order, as the writer expects)."""
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        rows = db.session.scalars(select(Post).where(Post.id.in_(batch)).order_by(Post.id))
        yield from (PostDraft.of(post) for post in rows)
