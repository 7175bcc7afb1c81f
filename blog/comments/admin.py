"""The moderation queue in the admin: approve, spam, delete, reply, bulk, privacy requests.

Its own blueprint under ``/admin/comments``; it shares the admin's login (checked here,
since the admin's login wall only guards its own blueprint), CSRF protection and layout.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response as BaseResponse

from blog.admin.auth import current_user
from blog.admin.refusals import answer_refusals, answered_by
from blog.comments.fields import CommentError, clean_text
from blog.comments.models import PENDING, STATUSES, Comment
from blog.comments.service import author_reply, erase_person, export_person, moderate
from blog.comments.service import queue as comment_queue
from blog.models import db
from blog.render import RenderError
from blog.views import render_page

comments_admin = Blueprint(
    "comments_admin", __name__, url_prefix="/admin/comments", template_folder="templates"
)
answer_refusals(comments_admin, CommentError)
PER_PAGE = 50
#: The author's replies are trusted more than readers' comments, but still bounded.
REPLY_MAX_CHARS = 20_000
STATUS_LABELS = {"pending": "待审核", "approved": "已通过", "spam": "垃圾", "deleted": "已删除"}
ACTION_LABELS = {"approve": "通过", "spam": "标为垃圾", "delete": "删除", "pending": "退回待审"}


@comments_admin.before_request
def require_login() -> BaseResponse | None:
    if current_user() is None:
        target = request.script_root + request.full_path.rstrip("?")
        return redirect(url_for("admin.login", next=target))
    return None


@comments_admin.after_request
def never_cache(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


@comments_admin.get("/")
def queue() -> tuple[str, int]:
    status = request.args.get("status", PENDING)
    if status not in STATUSES:
        abort(404)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, total = comment_queue(status, page, PER_PAGE)
    return render_page(
        "admin/comments.html",
        comments=rows,
        queue_status=status,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        statuses=STATUS_LABELS,
        actions=ACTION_LABELS,
    )


def _back() -> BaseResponse:
    return redirect(url_for("comments_admin.queue", status=request.form.get("status", PENDING)))


@comments_admin.post("/moderate")
def bulk() -> BaseResponse:
    """Apply one action to the ticked comments (a row's own button sends just its id)."""
    action = request.form.get("action", "")
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()]
    if not ids:
        flash("没有选中任何评论。", "error")
        return _back()
    rows = db.session.scalars(select(Comment).where(Comment.id.in_(ids))).all()
    try:
        changed = moderate(rows, action)
    except CommentError as error:
        flash(error.message, "error")
        return _back()
    flash(f"{ACTION_LABELS[action]}：{changed} 条评论。", "ok")
    return _back()


def _refused_reply(error: Exception) -> BaseResponse:
    """Back to the queue, saying why the reply was not stored (nothing of it was)."""
    if isinstance(error, CommentError):
        flash(error.message, "error")
    elif isinstance(error, RenderError):
        flash(f"无法渲染回复：{error}", "error")
    elif isinstance(error, DBAPIError):
        flash("数据库没有接受这条回复，什么也没有写入，可以稍后再试。", "error")
    else:
        flash(f"回复没有保存：{error}", "error")
    return _back()


@comments_admin.post("/<int:comment_id>/reply")
@answered_by(_refused_reply)
def reply(comment_id: int) -> BaseResponse:
    parent = db.session.get(Comment, comment_id)
    if parent is None:
        abort(404)
    user = current_user()
    assert user is not None  # require_login ran
    body = clean_text(request.form.get("body", ""), "body", "Reply", limit=20_000, multiline=True)
    if not body:
        raise CommentError("body", "回复内容不能为空。")
    author_reply(parent, user.name, body)
    flash("已回复。", "ok")
    return _back()


@comments_admin.route("/privacy", methods=["GET", "POST"])
def privacy() -> BaseResponse | tuple[str, int]:
    """Export (download JSON) or delete everything stored for one email address."""
    email = request.values.get("email", "").strip().lower()
    if request.method == "POST" and email:
        if request.form.get("action") == "export":
            data = json.dumps(export_person(email), ensure_ascii=False, indent=2)
            response = Response(data, mimetype="application/json")
            response.headers["Content-Disposition"] = "attachment; filename=comments-export.json"
            return response
        if request.form.get("action") == "delete":
            count = erase_person(email)
            flash(f"已删除 {email} 的 {count} 条评论及其全部个人信息。", "ok")
            return redirect(url_for("comments_admin.privacy"))
    found = export_person(email)["comments"] if email else []
    return render_page("admin/comments_privacy.html", email=email, found=found)
