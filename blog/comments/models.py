"""Comment tables: the comments themselves, client hits for the rate limit, used form tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from blog.models import Post, db, utcnow

PENDING, APPROVED, SPAM, DELETED = "pending", "approved", "spam", "deleted"
STATUSES = (PENDING, APPROVED, SPAM, DELETED)


class Comment(db.Model):  # type: ignore[name-defined]
    """A reader's comment (or the author's reply); the Markdown source is kept, HTML is stored.

    ``thread_id`` is the id of the top-level comment of the thread (its own id at the top),
    so one page of threads is two indexed queries however many comments a post has.
    ``address`` is the client address, kept for moderation and erased after
    ``COMMENTS_ADDRESS_DAYS``; the email is never shown.
    """

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_post_status_parent", "post_id", "status", "parent_id", "created_at"),
        Index("ix_comments_thread", "thread_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), default=None
    )
    thread_id: Mapped[int | None] = mapped_column(Integer, default=None)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    website: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str] = mapped_column(String(20), default="")
    body_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default=PENDING, index=True)
    is_author: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)

    post: Mapped[Post] = relationship(lazy="joined")


class CommentHit(db.Model):  # type: ignore[name-defined]
    """One comment POST from a client (its address digest), counted for the rate limit.

    In the database rather than in memory so the limit holds across ``--workers``
    processes; rows older than the window are pruned as new ones arrive.
    """

    __tablename__ = "comment_hits"
    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class UsedCommentToken(db.Model):  # type: ignore[name-defined]
    """A form token already spent by one client: the replay guard (see docs/security.md)."""

    __tablename__ = "comment_token_uses"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
