"""Re-render stored posts after the pipeline (plugins, their config) changed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from blog.document import PostDraft
from blog.models import Post, db
from blog.parallel import render_all
from blog.posts import bump_content_version, notify
from blog.render import Rendered, RenderError, render_columns

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
    process alone writes. A post is written only if it is still at the version its draft
    was read at (a save that committed meanwhile keeps its own rendering). Each new
    rendering also updates the search index and is announced as ``blog_post_changed``
    with action ``"rerendered"``, in the batch's transaction.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    fingerprint = current_app.extensions["blog.render_fingerprint"]
    query = select(Post.id).order_by(Post.id)
    if stale_only:
        query = query.where(Post.render_fingerprint != fingerprint)
    if only is not None:
        query = query.where(Post.id.in_(list(only)))
    ids = list(db.session.scalars(query))
    versions: dict[int, int] = {}
    # The next batch renders while this process writes the current one.
    results = render_all(app, _drafts(ids, versions), workers, ahead=2 * BATCH)
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        # Rendered before any lock is taken: saves go on while the batch renders.
        done = [next(results) for _ in batch]
        # The first write, as in a save: from here saves wait until this batch commits.
        bump_content_version()
        posts = {
            p.id: p
            for p in db.session.scalars(
                select(Post)
                .where(Post.id.in_(batch))
                .execution_options(populate_existing=True)  # not the rows read as drafts
            )
        }
        for post_id, (draft, rendered) in zip(batch, done, strict=True):
            post = posts.get(post_id)
            if post is None:  # purged meanwhile
                continue
            if isinstance(rendered, RenderError):
                logger.error("cannot re-render %s: %s", post.slug, rendered)
            elif draft.id != post_id or not _store_if_unchanged(post, versions[post_id], rendered):
                logger.warning("%s changed while re-rendering; left for its own save", post.slug)
            else:
                notify(post, "rerendered", rendered)
            if on_post is not None:
                on_post(post)
        db.session.commit()
    return len(ids)


def _store_if_unchanged(post: Post, version: int, rendered: Rendered) -> bool:
    """Store ``rendered`` on ``post`` if it is still at ``version`` (the one rendered).

    The same conditional write as a save's version claim (see :mod:`blog.posts`), without
    moving the version on (a re-render is no revision): a save that committed after the
    draft was read leaves its own, newer rendering in place.
    """
    columns = render_columns(rendered, post)
    stored = db.session.execute(
        update(Post)
        .where(Post.id == post.id, Post.version == version)
        .values(**columns)
        .execution_options(synchronize_session=False)
    )
    if getattr(stored, "rowcount", 0) != 1:
        return False
    for name, value in columns.items():
        set_committed_value(post, name, value)
    return True


def _drafts(ids: list[int], versions: dict[int, int]) -> Iterator[PostDraft]:
    """Drafts of the posts ``ids``, read in batches (in id order, as the writer expects);
    each post's version as read goes into ``versions``."""
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        rows = db.session.scalars(select(Post).where(Post.id.in_(batch)).order_by(Post.id))
        for post in rows:
            versions[post.id] = post.version
            yield PostDraft.of(post)
