"""Admin pages for the trash: move there, restore, and empty it after confirmation."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from blog.admin.blueprint import admin
from blog.models import Post, db
from blog.posts import purge_trash, restore_post, trash_post
from blog.views import render_page

CONFIRM_WORD = "empty"


@admin.route("/posts/<int:post_id>/trash", methods=["POST"])
def trash(post_id: int) -> Response:
    post = db.session.get(Post, post_id)
    if post is None or post.deleted_at is not None:
        abort(404)
    trash_post(post)
    flash(f"《{post.title}》已移到回收站。", "ok")
    return redirect(url_for("admin.posts"))


def _trashed() -> list[Post]:
    query = select(Post).where(Post.deleted_at.is_not(None)).order_by(Post.deleted_at.desc())
    return list(db.session.scalars(query))


@admin.route("/trash/")
def trash_list() -> tuple[str, int]:
    return render_page("admin/trash.html", posts=_trashed())


@admin.route("/trash/<int:post_id>/restore", methods=["POST"])
def restore(post_id: int) -> Response:
    post = db.session.get(Post, post_id)
    if post is None or post.deleted_at is None:
        abort(404)
    restore_post(post)
    flash(f"《{post.title}》已恢复。", "ok")
    return redirect(url_for("admin.trash_list"))


@admin.route("/trash/empty")
def empty_trash_confirm() -> tuple[str, int]:
    return render_page("admin/empty_trash.html", posts=_trashed(), confirm_word=CONFIRM_WORD)


@admin.route("/trash/empty", methods=["POST"])
def empty_trash() -> Response | tuple[str, int]:
    # The confirmation page's form sends the word; a bare POST (or a stray button) does nothing.
    if request.form.get("confirm") != CONFIRM_WORD:
        return render_page(
            "admin/empty_trash.html",
            status=400,
            posts=_trashed(),
            confirm_word=CONFIRM_WORD,
            refused=True,
        )
    count = purge_trash()
    flash(f"已永久删除 {count} 篇。", "ok")
    return redirect(url_for("admin.trash_list"))
