"""Spam rules: rate limits kept in the database, link count, word blocklist, duplicates.

The limits live in the database so they hold across ``blog serve --workers`` processes.
The per-client limit counts every attempt, so a flooding client stays blocked while it
floods; the per-post limit counts only stored comments, so one client's flood cannot
lock other readers out of a post.
"""

from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select

from blog.comments.content import link_count
from blog.comments.fields import CommentError, CommentFields
from blog.comments.models import APPROVED, DELETED, PENDING, SPAM, Comment, CommentHit
from blog.i18n import ui_text
from blog.models import db, utcnow

MODERATION_MODES = ("all", "first-time", "none")


class RateLimited(CommentError):
    """Too many comments; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__("rate", message, 429)
        self.retry_after = retry_after


def _window() -> timedelta:
    return timedelta(seconds=int(current_app.config["COMMENTS_RATE_WINDOW_SECONDS"]))


def record_client_hit(client: str) -> None:
    """Count one attempt by ``client``; raise :class:`RateLimited` past the per-client limit."""
    limit = int(current_app.config["COMMENTS_RATE_PER_CLIENT"])
    now = utcnow()
    since = now - _window()
    db.session.execute(delete(CommentHit).where(CommentHit.at < since))
    hits = db.session.scalars(
        select(CommentHit.at)
        .where(CommentHit.client == client, CommentHit.at >= since)
        .order_by(CommentHit.at)
    ).all()
    if len(hits) >= limit:
        # A refused attempt is not recorded: a flood cannot grow the table, and the client
        # may post again as soon as its oldest counted attempt leaves the window.
        db.session.commit()
        wait = (hits[-limit] + _window() - now).total_seconds()
        raise RateLimited(
            ui_text(
                "Too many comments: at most %(limit)d every %(seconds)d seconds. "
                "Please try again later.",
                limit=limit,
                seconds=_window().seconds,
            ),
            max(1, math.ceil(wait)),
        )
    db.session.add(CommentHit(client=client, at=now))
    db.session.commit()


def check_post_rate(post_id: int) -> None:
    limit = int(current_app.config["COMMENTS_RATE_PER_POST"])
    since = utcnow() - _window()
    count = db.session.scalar(
        select(func.count())
        .select_from(Comment)
        .where(Comment.post_id == post_id, Comment.created_at >= since)
    )
    if int(count or 0) >= limit:
        raise RateLimited(
            ui_text("This post is getting too many comments; please try again later."),
            _window().seconds,
        )


def check_links(source: str) -> None:
    limit = int(current_app.config["COMMENTS_MAX_LINKS"])
    found = link_count(source)
    if found > limit:
        raise CommentError(
            "body",
            ui_text(
                "A comment may contain at most %(limit)d links (this one has %(found)d).",
                limit=limit,
                found=found,
            ),
        )


def check_duplicate(post_id: int, fields: CommentFields, digest: str, client: str) -> None:
    """Refuse the same text on the same post from the same person or client."""
    same_person = Comment.name == fields.name
    if fields.email:
        same_person = or_(same_person, Comment.email == fields.email)
    duplicate = db.session.scalar(
        select(Comment.id)
        .where(
            Comment.post_id == post_id,
            Comment.body_hash == digest,
            Comment.status != DELETED,
            or_(same_person, Comment.address == client),
        )
        .limit(1)
    )
    if duplicate is not None:
        raise CommentError("body", ui_text("You have already posted this comment."), 409)


def blocklisted(fields: CommentFields) -> bool:
    words = [w.casefold() for w in current_app.config["COMMENTS_BLOCKLIST"] if w.strip()]
    haystack = " ".join((fields.name, fields.email, fields.website, fields.body)).casefold()
    return any(word in haystack for word in words)


def initial_status(fields: CommentFields) -> str:
    """Spam when blocklisted; otherwise as ``COMMENTS_MODERATION`` says."""
    if blocklisted(fields):
        return SPAM
    mode = str(current_app.config["COMMENTS_MODERATION"])
    if mode == "none":
        return APPROVED
    if mode == "all" or not fields.email:
        return PENDING
    known = db.session.scalar(
        select(Comment.id)
        .where(
            Comment.email == fields.email,
            Comment.name == fields.name,
            Comment.status == APPROVED,
        )
        .limit(1)
    )
    return APPROVED if known is not None else PENDING
