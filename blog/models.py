"""Database models: posts, their revisions, categories, tags and users."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: ``render_fingerprint`` of a post rendered while a plugin failed: never the current
#: fingerprint, so ``blog rerender`` (and ``blog serve`` at start) renders it again.
DEGRADED_FINGERPRINT = "degraded"


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    """Return the current time as a naive UTC datetime (how every date is stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # A tag listing finds its posts through (tag_id, post_id) (migration 0004).
    Index("ix_post_tags_tag", "tag_id", "post_id"),
)

#: Every category of a post, the primary one (``posts.category_id``) at position 0: a
#: category listing finds its posts through (category_id, post_id), as tag listings do.
post_categories = Table(
    "post_categories",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
    Index("ix_post_categories_category", "category_id", "post_id"),
)

#: Posts saved (or restored) whose related lists, and their neighbours', are still to be
#: chosen (``blog/related.py``): written in the save's transaction, deleted when chosen, so
#: a crash between the two loses nothing. ``generation`` counts the saves noted, so that a
#: choice made from older text never deletes the note of a save that came after it.
related_pending = Table(
    "related_pending",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("generation", Integer, nullable=False, default=0),
)

DRAFT, PUBLISHED, SCHEDULED = "draft", "published", "scheduled"
STATUSES = (DRAFT, PUBLISHED, SCHEDULED)


class Category(db.Model):  # type: ignore[name-defined]
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Tag(db.Model):  # type: ignore[name-defined]
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Post(db.Model):  # type: ignore[name-defined]
    """A post or standalone page: Markdown source is the truth, the rest is render cache."""

    __tablename__ = "posts"
    # Every column the public listings filter on, in keyset order (migration 0004): page
    # boundaries and pages are index-only scans.
    __table_args__ = (
        Index(
            "ix_posts_listing", "kind", "published_at", "id", "status", "deleted_at", "category_id"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(300), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(20), default="zh-Hans")
    kind: Mapped[str] = mapped_column(String(10), default="post", index=True)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body_html: Mapped[str] = mapped_column(Text, default="")
    #: The visible text of ``body_html``, stored with it: ``blog reindex`` reads it instead of
    #: parsing every body again. ``None`` for rows saved before it existed (read on demand).
    #: Deferred: a page view never needs it, so loading a post does not read it.
    body_text: Mapped[str | None] = mapped_column(Text, default=None, deferred=True)
    excerpt: Mapped[str] = mapped_column(Text, default="")
    toc: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    render_meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    render_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    #: ``[{"plugin", "hook", "error"}]`` when a plugin failed during the last render.
    render_problems: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: Copies of front matter ``pinned``/``series``/``series_order`` (``meta`` stays the
    #: truth, as exported), kept in columns so the home page and a series page are one
    #: indexed read. ``pinned`` is a rank (Hexo's ``sticky: N``; 0 means not pinned).
    pinned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    series: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    series_order: Mapped[int | None] = mapped_column(Integer, default=None)
    #: Set for a password-protected post (werkzeug's salted hash; the password itself is
    #: never stored, not even in revisions): its body reaches only readers who unlocked it.
    password_hash: Mapped[str | None] = mapped_column(String(300), default=None)
    #: Ids of related posts, best first, chosen right after each save (``blog/related.py``).
    related: Mapped[list[int] | None] = mapped_column(JSON, default=list)
    #: :func:`body_digest` of ``source``, ``body_html`` and ``toc``, written with them
    #: (``blog.render.render_columns``), so that the static build learns whether a body
    #: changed without reading it. ``None`` when unknown: rows written before the column
    #: existed, and any row whose body was assigned another way (see
    #: :func:`_forget_body_digest`); the build then digests the body itself.
    body_digest: Mapped[str | None] = mapped_column(String(64), default=None)

    category: Mapped[Category | None] = relationship(lazy="joined")
    #: Every category, primary first (Hexo/Hugo/Jekyll ``categories:`` lists); written by
    #: ``blog.posts`` only, with positions, so it is read-only here.
    categories: Mapped[list[Category]] = relationship(
        secondary=post_categories,
        lazy="selectin",
        order_by=post_categories.c.position,
        viewonly=True,
    )
    tags: Mapped[list[Tag]] = relationship(secondary=post_tags, lazy="selectin", order_by=Tag.name)

    @property
    def is_protected(self) -> bool:
        return self.password_hash is not None

    @property
    def is_public(self) -> bool:
        return (
            self.deleted_at is None
            and self.status in (PUBLISHED, SCHEDULED)
            and self.published_at is not None
            and self.published_at <= utcnow()
        )


def body_digest(source: str, body_html: str, toc: list[dict[str, Any]]) -> str:
    """SHA-256 of a post's heavy columns as stored (``Post.body_digest``)."""
    digest = hashlib.sha256()
    toc_text = json.dumps(toc, ensure_ascii=False, sort_keys=True)
    for part in (source, body_html, toc_text):
        # Length-prefixed, so that no text moved from one part to the next keeps the digest.
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


@event.listens_for(Post.source, "set")
@event.listens_for(Post.body_html, "set")
@event.listens_for(Post.toc, "set")
def _forget_body_digest(post: Post, value: Any, old: Any, initiator: Any) -> None:
    # A body assigned without its digest (a future writer, a script) must not keep the old
    # one: the build would take the page for unchanged. ``render_columns`` assigns the
    # digest after the body, so the one write path still stores it.
    post.body_digest = None


class Revision(db.Model):  # type: ignore[name-defined]
    """One saved state of a post; rows are only ever appended."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("post_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    author: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Link(db.Model):  # type: ignore[name-defined]
    """One entry of the links page (友链): another site the author recommends."""

    __tablename__ = "links"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(300), default="")
    #: The name of an upload (``/uploads/<avatar>``), checked like every upload; "" for none.
    avatar: Mapped[str] = mapped_column(String(80), default="")
    #: Lower first; equal positions in the order the links were added.
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StalePage(db.Model):  # type: ignore[name-defined]
    """A path prefix whose cached pages a change made stale (see ``blog/cache.py``)."""

    __tablename__ = "stale_pages"
    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SiteState(db.Model):  # type: ignore[name-defined]
    """Site-wide counters; ``content_version`` changes whenever any public page may change."""

    __tablename__ = "site_state"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class SlugRedirect(db.Model):  # type: ignore[name-defined]
    """A slug a post had before an explicit rename; its old URL answers 301."""

    __tablename__ = "slug_redirects"
    old_slug: Mapped[str] = mapped_column(String(300), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[Post] = relationship(lazy="joined")


class Redirect(db.Model):  # type: ignore[name-defined]
    """An old URL path (from an imported site) that answers 301 with ``target``.

    Paths are stored decoded, as the router sees them; ``origin`` says which import or
    admin edit added the row.
    """

    __tablename__ = "redirects"
    old_path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    target: Mapped[str] = mapped_column(String(1000))
    origin: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PreviewLink(db.Model):  # type: ignore[name-defined]
    """A secret, expiring link that shows one post (usually a draft) to a reviewer.

    The URL's secret is an HMAC of ``id`` and ``salt`` under the site's SECRET_KEY
    (``blog/preview_links.py``): the database alone cannot forge or reveal a link.
    """

    __tablename__ = "preview_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

    post: Mapped[Post] = relationship(lazy="joined")
