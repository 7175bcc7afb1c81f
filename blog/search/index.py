"""Keeping the search index current: one post at a time in the caller's transaction, or all."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select, update

from blog.models import Category, Post, Tag, db, post_categories, post_tags
from blog.render import html_to_text
from blog.search.backends import IndexedPost, backend
from blog.search.tokens import index_tokens, normalize


def body_tokens(body_text: str) -> str:
    """The index tokens of a body whose plain text is ``body_text``, space-separated.

    What :func:`update_index` stores for the body; a bulk writer has it made with each
    render, on the render workers (see :mod:`blog.prerender`), and hands it over.
    """
    return " ".join(index_tokens(normalize(body_text)))


def indexed_post(
    post: Post, body_text: str | None = None, tokens: str | None = None
) -> IndexedPost:
    """Extract and normalise the searchable text of ``post`` (math and code as plain text).

    ``body_text`` is the plain text of ``post.body_html`` when the caller has just rendered
    it (the save path hands it over); otherwise the text stored with the body is used, and
    only a row saved before that column existed has its HTML read here. ``tokens`` are
    :func:`body_tokens` of ``body_text``, when the caller has them.
    """
    if body_text is None:
        body_text = stored_body_text(post.body_text, post.body_html)
    return _indexed(
        post.id,
        post.title,
        body_text,
        [tag.name for tag in post.tags],
        " ".join(category_names(post)),
        tokens,
    )


def category_names(post: Post) -> list[str]:
    """Every category of ``post``, primary first (a row saved before they were kept: its one)."""
    names = [category.name for category in post.categories]
    if not names and post.category is not None:
        names = [post.category.name]
    return names


def stored_body_text(body_text: str | None, body_html: str | None) -> str:
    return body_text if body_text is not None else html_to_text(body_html or "")


def _indexed(
    post_id: int,
    title: str,
    body_text: str,
    tags: Sequence[str],
    category: str,
    tokens: str | None = None,
) -> IndexedPost:
    raw = {"title": title, "tags": " ".join(tags), "category": category}
    if tokens is None:  # else the body's tokens are made: it is not normalised again
        raw["body"] = body_text
    fields = {name: normalize(value) for name, value in raw.items()}
    return IndexedPost(post_id, fields, body_text, tokens)


def update_index(
    post: Post, action: str, body_text: str | None = None, tokens: str | None = None
) -> None:
    """Reflect a save/trash/restore/purge of ``post`` in the index, in the caller's transaction.

    ``body_text`` and ``tokens``: see :func:`indexed_post`.
    """
    # A protected post is never found by search: its words would be its text.
    if action in ("trashed", "purged") or post.deleted_at is not None or post.is_protected:
        backend().remove(post.id)
    else:
        backend().store(indexed_post(post, body_text, tokens))


def rebuild_index(batch: int = 500) -> int:
    """Index every post that is not in the trash from scratch; commit; return how many.

    Reads only the columns the index needs, in batches of ``batch`` posts, and writes each
    batch in one statement per table. The body's text comes from ``posts.body_text``; a row
    saved before that column existed has its HTML read once and the text stored, so the
    next rebuild reads no HTML.
    """
    engine = backend()
    engine.clear()
    ids = list(
        db.session.scalars(
            select(Post.id)
            .where(Post.deleted_at.is_(None), Post.password_hash.is_(None))
            .order_by(Post.id)
        )
    )
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        tags: dict[int, list[str]] = {}
        for post_id, name in db.session.execute(
            select(post_tags.c.post_id, Tag.name)
            .join(Tag, Tag.id == post_tags.c.tag_id)
            .where(post_tags.c.post_id.in_(chunk))
            .order_by(Tag.name)
        ):
            tags.setdefault(post_id, []).append(name)
        categories: dict[int, list[str]] = {}
        for post_id, name in db.session.execute(
            select(post_categories.c.post_id, Category.name)
            .join(Category, Category.id == post_categories.c.category_id)
            .where(post_categories.c.post_id.in_(chunk))
            .order_by(post_categories.c.post_id, post_categories.c.position)
        ):
            categories.setdefault(post_id, []).append(name)
        rows = db.session.execute(
            select(Post.id, Post.title, Post.body_text, Category.name)
            .outerjoin(Category, Category.id == Post.category_id)
            .where(Post.id.in_(chunk))
            .order_by(Post.id)
        ).all()
        missing = [row.id for row in rows if row.body_text is None]
        texts: dict[int, str] = {}
        if missing:
            for post_id, html in db.session.execute(
                select(Post.id, Post.body_html).where(Post.id.in_(missing))
            ):
                texts[post_id] = html_to_text(html or "")
            db.session.execute(
                update(Post.__table__).where(Post.__table__.c.id == bindparam("post_id")),
                [{"post_id": k, "body_text": v} for k, v in texts.items()],
            )
        engine.insert(
            [
                _indexed(
                    row.id,
                    row.title,
                    texts[row.id] if row.body_text is None else row.body_text,
                    tags.get(row.id, []),
                    " ".join(categories.get(row.id) or ([row.name] if row.name else [])),
                )
                for row in rows
            ]
        )
    db.session.commit()
    return len(ids)
