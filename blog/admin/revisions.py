"""Admin pages for revisions: the list, a diff against the current text, restore."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from blog.admin.blueprint import admin
from blog.admin.diff import diff_table
from blog.admin.editor import author_name
from blog.admin.refusals import Refusal, answered_by
from blog.models import Post, Revision, db
from blog.posts import ConflictError, fields_of, save_post
from blog.views import render_page


def _post(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None:
        abort(404)
    return post


def _revision(post: Post, number: int) -> Revision:
    revision = db.session.scalar(
        select(Revision).where(Revision.post_id == post.id, Revision.number == number)
    )
    if revision is None:
        abort(404)
    return revision


@admin.route("/posts/<int:post_id>/revisions/")
def revisions(post_id: int) -> tuple[str, int]:
    post = _post(post_id)
    rows = db.session.scalars(
        select(Revision).where(Revision.post_id == post.id).order_by(Revision.number.desc())
    ).all()
    return render_page("admin/revisions.html", post=post, revisions=rows)


@admin.route("/posts/<int:post_id>/revisions/<int:number>/")
def revision(post_id: int, number: int) -> tuple[str, int]:
    post = _post(post_id)
    chosen = _revision(post, number)
    table = diff_table(chosen.source, post.source, f"第 {chosen.number} 版", "当前")
    return render_page("admin/revision.html", post=post, revision=chosen, diff=table)


def _refused_restore(error: Refusal) -> Response:
    """Back to the revision, saying why it was not restored (nothing of it was stored)."""
    post_id = request.view_args["post_id"] if request.view_args else 0
    number = request.view_args["number"] if request.view_args else 0
    if isinstance(error, ConflictError):
        flash("这篇文章刚被别人修改过，请查看最新内容后再恢复。", "error")
    elif isinstance(error, DBAPIError):
        flash("数据库没有接受这次恢复，什么也没有写入，可以稍后再试。", "error")
    else:
        flash(f"无法恢复这一版：{error}", "error")
    return redirect(url_for("admin.revision", post_id=post_id, number=number))


@admin.route("/posts/<int:post_id>/revisions/<int:number>/restore", methods=["POST"])
@answered_by(_refused_restore)
def restore_revision(post_id: int, number: int) -> Response:
    post = _post(post_id)
    chosen = _revision(post, number)
    fields = fields_of(post)
    fields.title = chosen.title
    fields.source = chosen.source
    stored = chosen.fields
    fields.lang = str(stored.get("lang", fields.lang))
    fields.category = stored.get("category", fields.category)
    # Revisions saved before posts had several categories hold the primary one only.
    fields.categories = list(stored.get("categories", [fields.category] if fields.category else []))
    fields.tags = list(stored.get("tags", fields.tags))
    fields.meta = dict(stored.get("meta", fields.meta))
    # Restoring changes content only: the URL and the publication state stay as they are.
    save_post(
        fields,
        author=author_name(),
        post=post,
        expected_version=request.form.get("version", type=int),
        change_slug=False,
    )
    flash(f"已恢复第 {number} 版（保存为新版本）。", "ok")
    return redirect(url_for("admin.edit_post", post_id=post.id))
