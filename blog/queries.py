"""Read-side queries: which posts are public, and listing pages that skip body columns."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import defer

from blog.models import PUBLISHED, SCHEDULED, Category, Post, Tag, db, post_tags, utcnow

#: Listings never load these: a page of ten posts would otherwise read megabytes.
HEAVY_COLUMNS = (Post.source, Post.body_html, Post.toc)


def public_condition(kind: str = "post") -> Any:
    """SQL condition for posts readers may see now (scheduled ones once their time comes)."""
    return and_(
        Post.kind == kind,
        Post.deleted_at.is_(None),
        Post.status.in_((PUBLISHED, SCHEDULED)),
        Post.published_at <= utcnow(),
    )


def listing_query(
    category: Category | None = None, tag: Tag | None = None
) -> Select[tuple[Post]]:
    query = select(Post).where(public_condition()).options(*(defer(c) for c in HEAVY_COLUMNS))
    if category is not None:
        query = query.where(Post.category_id == category.id)
    if tag is not None:
        query = query.where(Post.id.in_(select(post_tags.c.post_id).where(post_tags.c.tag_id == tag.id)))
    return query


@dataclass
class Page:
    """One page of a listing."""

    posts: list[Post]
    number: int
    count: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count


def listing_page(number: int, per_page: int, **filters: Any) -> Page | None:
    """Return page ``number`` (1-based) of a listing, or ``None`` when it does not exist."""
    query = listing_query(**filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    count = max(1, math.ceil(total / per_page))
    if number < 1 or number > count:
        return None
    posts = db.session.scalars(
        query.order_by(Post.published_at.desc(), Post.id.desc())
        .offset((number - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(posts), number, count, total)


def find_public(slug: str, kind: str = "post") -> Post | None:
    return db.session.scalar(select(Post).where(public_condition(kind), Post.slug == slug))


def neighbours(post: Post) -> tuple[Post | None, Post | None]:
    """Return the previous (older) and next (newer) public posts around ``post``."""
    assert post.published_at is not None
    light = listing_query()
    older = db.session.scalar(
        light.where(
            or_(
                Post.published_at < post.published_at,
                and_(Post.published_at == post.published_at, Post.id < post.id),
            )
        )
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(1)
    )
    newer = db.session.scalar(
        light.where(
            or_(
                Post.published_at > post.published_at,
                and_(Post.published_at == post.published_at, Post.id > post.id),
            )
        )
        .order_by(Post.published_at.asc(), Post.id.asc())
        .limit(1)
    )
    return older, newer


def archive() -> list[tuple[int, list[tuple[int, list[Post]]]]]:
    """Every public post grouped by year then month, newest first."""
    from blog.dates import to_local

    posts = db.session.scalars(
        listing_query().order_by(Post.published_at.desc(), Post.id.desc())
    ).all()
    years: dict[int, dict[int, list[Post]]] = {}
    for post in posts:
        assert post.published_at is not None
        local = to_local(post.published_at)
        years.setdefault(local.year, {}).setdefault(local.month, []).append(post)
    return [(year, list(months.items())) for year, months in years.items()]


def category_named(name: str) -> Category | None:
    return db.session.scalar(select(Category).where(Category.name == name))


def tag_named(name: str) -> Tag | None:
    return db.session.scalar(select(Tag).where(Tag.name == name))
