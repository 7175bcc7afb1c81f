"""Wire comments into an application: blueprints, template functions, configuration checks."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, before_render_template, current_app, g, request, url_for
from markupsafe import Markup

from blog.admin.ratelimit import RateLimiter
from blog.comments import admin, api, views
from blog.comments.identicon import identicon_svg
from blog.comments.models import Comment
from blog.comments.service import (
    approved_counts,
    approved_counts_of,
    closed_reason,
    comments_enabled,
    thread_page,
)
from blog.comments.spam import MODERATION_MODES
from blog.comments.tokens import issue_token
from blog.config import ConfigError
from blog.i18n import ui_text
from blog.models import Post


def comments_for(post: Post) -> dict[str, Any] | None:
    """What the theme's comment section shows for ``post`` (``None``: no comments here)."""
    if not comments_enabled(post):
        return None
    number = request.args.get("comments_page", 1, type=int) or 1
    page = thread_page(post, number, _counts(post))
    if page is None:
        abort(404)
    reason = closed_reason(post)
    reply_to = request.args.get("reply", type=int)
    parent = None
    if reply_to and reason is None:
        candidate = next(
            (
                node.comment
                for node in _walk(page.threads)
                if node.comment and node.comment.id == reply_to
            ),
            None,
        )
        parent = candidate
    endpoint = "public.standalone_page" if post.kind == "page" else "public.post"
    notice = views.NOTICES.get(request.args.get("comment", ""))
    return {
        "page": page,
        "closed": reason,
        "token": issue_token(post.id) if reason is None else "",
        "action": url_for("comments.post_comment", slug=post.slug),
        "feed_url": url_for("comments.post_feed", slug=post.slug),
        "token_url": url_for("comments.fresh_token", slug=post.slug),
        "preview_url": url_for("comments.preview", slug=post.slug),
        "notice": notice and ui_text(notice),
        "reply_to": parent,
        "page_url": lambda n: url_for(endpoint, slug=post.slug, comments_page=n) + "#comments",
        "reply_url": lambda c: (
            url_for(endpoint, slug=post.slug, reply=c.id, comments_page=number) + "#comment-form"
        ),
        "honeypot": views.HONEYPOT,
        "post_id": post.id,
    }


def _walk(nodes: list[Any]) -> Any:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def comment_count(post: Post) -> int | None:
    """Approved comments on ``post`` for listings; ``None`` when the post has no comments."""
    if not comments_enabled(post):
        return None
    return _counts(post)[0]


def _counts(post: Post) -> tuple[int, int]:
    """``approved_counts`` of ``post``, read once a request: a post page shows the count in
    its header and pages the threads below with the same numbers."""
    cache: dict[int, tuple[int, int]] = g.setdefault("comment_counts", {})
    if post.id not in cache:
        cache[post.id] = approved_counts(post.id)
    return cache[post.id]


#: The context variables in which a theme's templates get a listing's posts (each card
#: shows its comment count).
LISTED_POSTS = ("posts", "pinned_posts")


def count_listed_comments(_app: Flask, template: Any, context: dict[str, Any]) -> None:
    """Before a template renders: read the comment counts of every post it lists at once
    (one grouped query), so its cards' ``comment_count`` calls find them read."""
    listed = [
        post
        for key in LISTED_POSTS
        for post in context.get(key) or ()
        if isinstance(post, Post) and comments_enabled(post)
    ]
    cache: dict[int, tuple[int, int]] = g.setdefault("comment_counts", {})
    wanted = list(dict.fromkeys(post.id for post in listed if post.id not in cache))
    if len(wanted) > 1:
        cache.update(approved_counts_of(wanted))


def comment_avatar(comment: Comment) -> Markup:
    if not current_app.config["COMMENTS_AVATARS"]:
        return Markup("")
    identity = comment.email or f"name:{comment.name}"
    return identicon_svg(identity, str(current_app.config["SECRET_KEY"]))


def check_config(app: Flask) -> None:
    mode = app.config["COMMENTS_MODERATION"]
    if mode not in MODERATION_MODES:
        raise ConfigError(
            f"COMMENTS_MODERATION must be one of {', '.join(MODERATION_MODES)}, got {mode!r}"
        )
    for key in ("COMMENTS_MAX_DEPTH", "COMMENTS_PER_PAGE", "COMMENTS_MAX_CHARS"):
        if int(app.config[key]) < 1:
            raise ConfigError(f"{key} must be at least 1, got {app.config[key]!r}")


def init_app(app: Flask, csrf: Any) -> None:
    """Register comments on ``app``; ``csrf`` is the admin's CSRFProtect (the form is exempt)."""
    check_config(app)
    csrf.exempt(views.comments)
    csrf.exempt(api.comments_api)
    app.extensions["blog.comments.preview_limiter"] = RateLimiter(*views.PREVIEW_RATE)
    app.register_blueprint(views.comments)
    app.register_blueprint(admin.comments_admin)
    app.register_blueprint(api.comments_api)
    app.jinja_env.globals.update(
        comments_for=comments_for, comment_count=comment_count, comment_avatar=comment_avatar
    )
    before_render_template.connect(count_listed_comments, app)
