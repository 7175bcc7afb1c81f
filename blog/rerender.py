"""Re-render stored posts after the pipeline (plugins, their config) changed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update
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
        stored = _store_if_unchanged(
            [
                (posts[post_id], versions[post_id], rendered)
                for post_id, (draft, rendered) in zip(batch, done, strict=True)
                if post_id in posts and draft.id == post_id and isinstance(rendered, Rendered)
            ]
        )
        for post_id, (_draft, rendered) in zip(batch, done, strict=True):
            post = posts.get(post_id)
            if post is None:  # purged meanwhile
                continue
            if isinstance(rendered, RenderError):
                logger.error("cannot re-render %s: %s", post.slug, rendered)
            elif post_id not in stored:
                logger.warning("%s changed while re-rendering; left for its own save", post.slug)
            else:
                notify(post, "rerendered", rendered)
            if on_post is not None:
                on_post(post)
        db.session.commit()
    return len(ids)


#: The conditions of :func:`_store_if_unchanged`'s ``UPDATE``, under names no column has.
_ID, _VERSION = "rerendered_id", "rendered_version"


def _store_if_unchanged(renders: list[tuple[Post, int, Rendered]]) -> set[int]:
    """Store each render on its post if the post is still at the version rendered; return
    the ids of the posts stored.

    The same conditional write as a save's version claim (see :mod:`blog.posts`), without
    moving the version on (a re-render is no revision): a save that committed after the
    draft was read leaves its own, newer rendering in place. The batch is one ``UPDATE``
    run with every post's values, where the driver counts the rows a batch changed; if
    one post moved on, the batch is written again one post at a time to learn which (a
    post already written matches again and gets the same values).
    """
    rows = [
        {_ID: post.id, _VERSION: version, **render_columns(rendered, post)}
        for post, version, rendered in renders
    ]
    if not rows:
        return set()
    table = Post.__table__
    statement = update(table).where(
        table.c.id == bindparam(_ID), table.c.version == bindparam(_VERSION)
    )
    stored: set[int] = set()
    whole = len(rows) > 1 and db.session.get_bind().dialect.supports_sane_multi_rowcount
    if whole and getattr(db.session.execute(statement, rows), "rowcount", 0) == len(rows):
        stored = {row[_ID] for row in rows}
    else:
        for row in rows:
            if getattr(db.session.execute(statement, row), "rowcount", 0) == 1:
                stored.add(row[_ID])
    for (post, _version, _rendered), row in zip(renders, rows, strict=True):
        if post.id in stored:
            for name, value in row.items():
                if name not in (_ID, _VERSION):
                    set_committed_value(post, name, value)
    return stored


def _drafts(ids: list[int], versions: dict[int, int]) -> Iterator[PostDraft]:
    """Drafts of the posts ``ids``, read in batches (in id order, as the writer expects);
    each post's version as read goes into ``versions``."""
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        rows = db.session.scalars(select(Post).where(Post.id.in_(batch)).order_by(Post.id))
        for post in rows:
            versions[post.id] = post.version
            yield PostDraft.of(post)
