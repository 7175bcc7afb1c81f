"""Comments as a domain: who may comment where, storing, moderating, reading threads.

Every change that alters what readers see (an approved comment, one taken down) bumps
the site's content version in the same transaction, so each process's page cache drops
its pages (see :mod:`blog.cache`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, url_for
from sqlalchemy import bindparam, func, select, update

from blog.cache import mark_pages_stale
from blog.comments.content import body_digest, render_comment, text_lang
from blog.comments.fields import CommentError, CommentFields
from blog.comments.models import APPROVED, DELETED, PENDING, SPAM, STATUSES, Comment
from blog.comments.notify import notify
from blog.i18n import ui_plural, ui_text
from blog.models import Post, db, utcnow
from blog.queries import Pagination

#: How often a process forgets old client addresses while comments arrive.
ERASE_INTERVAL_SECONDS = 3600.0
#: How many bytes of Markdown a comment's render may read (beyond MAX_CHARS, for UTF-8).
BYTES_PER_CHAR = 4


def comments_enabled(post: Post) -> bool:
    """Whether ``post`` shows comments at all (site switch and ``comments: false``)."""
    if not current_app.config["COMMENTS_ENABLED"]:
        return False
    return (post.meta or {}).get("comments", True) is not False


def closed_reason(post: Post) -> str | None:
    """Why new comments on a commentable post are refused now, or ``None`` when open."""
    if not post.is_public:
        return ui_text("This post does not take comments.")
    days = int(current_app.config["COMMENTS_CLOSE_AFTER_DAYS"])
    if days > 0 and post.published_at and post.published_at + timedelta(days=days) < utcnow():
        return ui_plural(
            "Comments are closed: the post is more than %(num)d day old.",
            "Comments are closed: the post is more than %(num)d days old.",
            days,
        )
    if post.is_protected:
        # The comment form is not on the locked page, and comments would be read by
        # readers who cannot read the post (blog/protected.py).
        return ui_text("Password-protected posts do not take comments.")
    return None


def _clamped_parent(post: Post, parent_id: int | None) -> Comment | None:
    """The approved comment of ``post`` a reader's reply hangs under (see :func:`within_depth`)."""
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id)
    if parent is None or parent.post_id != post.id or parent.status != APPROVED:
        raise CommentError(
            "parent", ui_text("The comment you are replying to does not exist or was deleted."), 400
        )
    return within_depth(parent)


def within_depth(parent: Comment | None) -> Comment | None:
    """The comment a reply to ``parent`` hangs under: replies deeper than the limit join
    their parent's level, so a thread never nests past ``COMMENTS_MAX_DEPTH``."""
    max_depth = max(1, int(current_app.config["COMMENTS_MAX_DEPTH"]))
    while parent is not None and parent.depth >= max_depth - 1:
        parent = db.session.get(Comment, parent.parent_id) if parent.parent_id else None
    return parent


#: Pages that show comment counts ("N 条评论") besides the post itself ("$": exactly).
COUNTING_PAGES = (
    "/$",
    "/page/",
    "/categories/",
    "/tags/",
    "/archive/",
    "/search",
    "/comments.xml$",
)


def refresh_pages(posts: Iterable[Post]) -> None:
    """Make the pages that show ``posts``' comments fresh in every process and variant.

    Only those pages: the rest of the page cache (every other post) stays warm.
    """
    prefixes = set(COUNTING_PAGES)
    for post in posts:
        section = "pages" if post.kind == "page" else "posts"
        prefixes.add(f"/{section}/{post.slug}/")
    mark_pages_stale(sorted(prefixes))


def render_body(source: str, fallback_lang: str) -> tuple[str, str]:
    """``(html, lang)`` for a comment body; the lang is the body's own detected script."""
    lang = text_lang(source, fallback_lang)
    max_bytes = int(current_app.config["COMMENTS_MAX_CHARS"]) * BYTES_PER_CHAR
    return render_comment(source, lang, max_bytes), lang


def create_comment(
    post: Post,
    fields: CommentFields,
    *,
    status: str,
    parent_id: int | None = None,
    address: str | None = None,
    user_agent: str = "",
    is_author: bool = False,
    created_at: datetime | None = None,
    uid: str | None = None,
) -> Comment:
    """Render and store one comment (committed); approved ones refresh the cached pages."""
    comment = new_comment(
        post,
        fields,
        status=status,
        parent=_clamped_parent(post, parent_id),
        address=address,
        user_agent=user_agent,
        is_author=is_author,
        created_at=created_at,
        uid=uid,
    )
    if status == APPROVED:
        refresh_pages([post])
    db.session.commit()
    return comment


def new_comment(
    post: Post,
    fields: CommentFields,
    *,
    status: str,
    parent: Comment | None,
    address: str | None = None,
    user_agent: str = "",
    is_author: bool = False,
    created_at: datetime | None = None,
    approved_at: datetime | None = None,
    uid: str | None = None,
) -> Comment:
    """Render ``fields`` and add one comment under ``parent`` (already checked by the caller)
    to the session, flushed so its id and thread are set; the caller commits.

    The one place a :class:`Comment` is made, for the reader's form, the author's reply
    and every import. An empty body (a removed comment kept for its replies) renders as
    nothing.
    """
    if fields.body:
        html, lang = render_body(fields.body, post.lang)
    else:
        html, lang = "", post.lang
    now = utcnow()
    comment = Comment(
        uid=uid or secrets.token_hex(16),
        post_id=post.id,
        parent_id=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        name=fields.name,
        email=fields.email,
        website=fields.website,
        source=fields.body,
        body_html=html,
        lang=lang,
        body_hash=body_digest(fields.body) if fields.body else "",
        status=status,
        is_author=is_author,
        address=address,
        user_agent=user_agent[:300],
        created_at=created_at or now,
        approved_at=approved_at or (now if status == APPROVED else None),
    )
    db.session.add(comment)
    db.session.flush()
    comment.thread_id = parent.thread_id if parent else comment.id
    return comment


def comment_url(comment: Comment, external: bool = False) -> str:
    endpoint = "public.standalone_page" if comment.post.kind == "page" else "public.post"
    return url_for(endpoint, slug=comment.post.slug, _external=external) + f"#comment-{comment.id}"


def comment_json(comment: Comment, *, private: bool = False) -> dict[str, Any]:
    """The JSON form of a comment (API, webhook); ``private`` adds email and address."""
    data: dict[str, Any] = {
        "id": comment.id,
        "uid": comment.uid,
        "post_id": comment.post_id,
        "post_slug": comment.post.slug,
        "post_title": comment.post.title,
        "parent_id": comment.parent_id,
        "depth": comment.depth,
        "name": comment.name,
        "website": comment.website,
        "source": comment.source,
        "html": comment.body_html,
        "lang": comment.lang,
        "status": comment.status,
        "is_author": comment.is_author,
        "created_at": comment.created_at.isoformat() + "Z",
        "approved_at": comment.approved_at.isoformat() + "Z" if comment.approved_at else None,
    }
    if private:
        data["email"] = comment.email
        data["address"] = comment.address
        data["user_agent"] = comment.user_agent
    return data


def announce(comment: Comment) -> None:
    """Send the owner's notifications about a new reader comment (background thread)."""
    data = comment_json(comment)
    data["post_url"] = comment_url(comment, external=True)
    payload = {
        "event": "comment.created",
        "comment": data,
        "admin_url": url_for("comments_admin.queue", status=comment.status, _external=True),
    }
    thread = notify(dict(current_app.config), payload)
    if thread is not None:
        current_app.extensions.setdefault("blog.comments.notifications", []).append(thread)


def moderate(comments: Iterable[Comment], action: str) -> int:
    """Apply ``action`` (approve, spam, delete, pending) to ``comments``; return how many."""
    status = {"approve": APPROVED, "spam": SPAM, "delete": DELETED, "pending": PENDING}.get(action)
    if status is None:
        raise CommentError("action", ui_text("Unknown action: %(action)s", action=action))
    visible: dict[int, Post] = {}
    changed = 0
    for comment in comments:
        if comment.status == status:
            continue
        if APPROVED in (status, comment.status):
            visible[comment.post_id] = comment.post
        comment.status = status
        if status == APPROVED:
            comment.approved_at = utcnow()
        changed += 1
    if visible:
        refresh_pages(visible.values())
    db.session.commit()
    return changed


def author_reply(parent: Comment, name: str, body: str) -> Comment:
    """Store the site author's reply to ``parent`` (approved, marked as the author's)."""
    if parent.status != APPROVED:
        moderate([parent], "approve")
    fields = CommentFields(name=name, email="", website="", body=body)
    return create_comment(parent.post, fields, status=APPROVED, parent_id=parent.id, is_author=True)


# -- reading ----------------------------------------------------------------------------


@dataclass
class Node:
    """One comment in a displayed thread; ``comment`` is ``None`` for a removed parent."""

    comment: Comment | None
    children: list[Node] = field(default_factory=list)


@dataclass
class ThreadPage(Pagination):
    """One page of a post's comment threads (``total`` counts approved comments)."""

    threads: list[Node] = field(default_factory=list)


def approved_count(post_id: int) -> int:
    return approved_counts(post_id)[0]


#: The table's columns: the counts are plain rows, and a statement naming no mapped class
#: skips the ORM's execution path (about a third of this statement's CPU; it does not
#: flush pending changes first, and no caller counts before committing).
_COMMENTS = Comment.__table__.c
#: Built once: every post page runs it, and building the expression anew each time cost
#: as much CPU as running it.
_APPROVED_COUNTS = select(func.count(), func.count(func.distinct(_COMMENTS.thread_id))).where(
    _COMMENTS.post_id == bindparam("post_id"), _COMMENTS.status == APPROVED
)


def approved_counts(post_id: int) -> tuple[int, int]:
    """``(approved comments, threads holding one)`` on the post ``post_id``, in one query."""
    comments, threads = db.session.execute(_APPROVED_COUNTS, {"post_id": post_id}).one()
    return int(comments or 0), int(threads or 0)


_APPROVED_COUNTS_OF = (
    select(_COMMENTS.post_id, func.count(), func.count(func.distinct(_COMMENTS.thread_id)))
    .where(
        _COMMENTS.post_id.in_(bindparam("post_ids", expanding=True)),
        _COMMENTS.status == APPROVED,
    )
    .group_by(_COMMENTS.post_id)
)


def approved_counts_of(post_ids: list[int]) -> dict[int, tuple[int, int]]:
    """:func:`approved_counts` of each of ``post_ids`` (a listing's cards), in one query."""
    counts = dict.fromkeys(post_ids, (0, 0))
    for post_id, comments, threads in db.session.execute(
        _APPROVED_COUNTS_OF, {"post_ids": post_ids}
    ):
        counts[post_id] = (int(comments or 0), int(threads or 0))
    return counts


def thread_page(
    post: Post, number: int, counts: tuple[int, int] | None = None
) -> ThreadPage | None:
    """Page ``number`` of ``post``'s threads (oldest first); ``None`` past the last page.

    ``counts`` is ``approved_counts(post.id)`` when the caller has it already.
    """
    per_page = max(1, int(current_app.config["COMMENTS_PER_PAGE"]))
    total, thread_count = counts if counts is not None else approved_counts(post.id)
    pages = max(1, -(-thread_count // per_page))
    if number < 1 or number > pages:
        return None
    if thread_count == 0:
        return ThreadPage(number, pages, total, [])
    visible = (Comment.post_id == post.id) & (Comment.status == APPROVED)
    thread_ids = db.session.scalars(
        select(Comment.thread_id)
        .where(visible)
        .group_by(Comment.thread_id)
        .order_by(Comment.thread_id)
        .offset((number - 1) * per_page)
        .limit(per_page)
    ).all()
    rows = db.session.scalars(
        select(Comment)
        .where(Comment.thread_id.in_(thread_ids), Comment.status.in_((APPROVED, DELETED, SPAM)))
        .order_by(Comment.id)
    ).all()
    return ThreadPage(number, pages, total, _tree(rows))


def _tree(rows: Iterable[Comment]) -> list[Node]:
    """Nest comments; a parent that is not approved stays only as a placeholder for its replies."""
    nodes = {row.id: Node(row if row.status == APPROVED else None) for row in rows}
    roots: list[Node] = []
    for row in rows:
        node = nodes[row.id]
        parent = nodes.get(row.parent_id) if row.parent_id else None
        (parent.children if parent else roots).append(node)

    def keep(node: Node) -> bool:
        node.children = [child for child in node.children if keep(child)]
        return node.comment is not None or bool(node.children)

    return [root for root in roots if keep(root)]


def counts_for(post_ids: Iterable[int]) -> dict[int, int]:
    """Approved comments per post, for listings (one grouped query)."""
    ids = list(post_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Comment.post_id, func.count())
        .where(Comment.post_id.in_(ids), Comment.status == APPROVED)
        .group_by(Comment.post_id)
    ).all()
    return {int(post_id): int(count) for post_id, count in rows}


def recent_approved(post: Post | None, limit: int) -> list[Comment]:
    query = select(Comment).where(Comment.status == APPROVED)
    if post is not None:
        query = query.where(Comment.post_id == post.id)
    return list(db.session.scalars(query.order_by(Comment.id.desc()).limit(limit)).all())


def queue(status: str, page: int, per_page: int) -> tuple[list[Comment], int]:
    """The admin queue: comments with ``status``, newest first, and their total."""
    if status not in STATUSES:
        status = PENDING
    where = Comment.status == status
    total = int(db.session.scalar(select(func.count()).select_from(Comment).where(where)) or 0)
    rows = db.session.scalars(
        select(Comment)
        .where(where)
        .order_by(Comment.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), total


# -- privacy ----------------------------------------------------------------------------


def erase_addresses_if_due() -> None:
    """Run :func:`erase_old_addresses` at most every ``ERASE_INTERVAL_SECONDS`` per process.

    Called as comments arrive, so a site needs no cron job for the promise in its config.
    """
    now = time.monotonic()
    last = current_app.extensions.get("blog.comments.erased_at")
    if last is None or now - last >= ERASE_INTERVAL_SECONDS:
        current_app.extensions["blog.comments.erased_at"] = now
        erase_old_addresses()


def erase_old_addresses() -> int:
    """Forget client addresses older than ``COMMENTS_ADDRESS_DAYS``; return how many."""
    days = int(current_app.config["COMMENTS_ADDRESS_DAYS"])
    cutoff = utcnow() - timedelta(days=days)
    result = db.session.execute(
        update(Comment)
        .where(Comment.address.is_not(None), Comment.created_at < cutoff)
        .values(address=None, user_agent="")
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def comments_of(email: str) -> list[Comment]:
    email = email.strip().lower()
    if not email:
        return []
    return list(
        db.session.scalars(select(Comment).where(Comment.email == email).order_by(Comment.id))
    )


def export_person(email: str) -> dict[str, Any]:
    """Everything stored about ``email``: every comment with its private fields."""
    return {
        "email": email.strip().lower(),
        "comments": [comment_json(c, private=True) for c in comments_of(email)],
    }


def erase_person(email: str) -> int:
    """Delete everything stored for ``email``; replies by others keep a removed placeholder."""
    rows = comments_of(email)
    visible = {row.post_id: row.post for row in rows if row.status == APPROVED}
    for row in rows:
        row.name = ""
        row.email = ""
        row.website = ""
        row.source = ""
        row.body_html = ""
        row.body_hash = ""
        row.address = None
        row.user_agent = ""
        row.status = DELETED
    if visible:
        refresh_pages(visible.values())
    db.session.commit()
    return len(rows)
