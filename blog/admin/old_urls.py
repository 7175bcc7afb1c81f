"""Admin page for the redirect table: old URLs (from ``blog import``) that answer 301."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from blog.admin.blueprint import admin
from blog.models import Redirect, db
from blog.views import render_page


def _path(value: str, field: str) -> str:
    """A site-local path: starts with one '/', no scheme or host, no control characters."""
    value = value.strip()
    if not value.startswith("/") or value.startswith("//") or len(value) > 1000:
        raise ValueError(f"{field}必须是以 / 开头的站内路径（不超过 1000 个字符）。")
    if any(ord(c) < 32 or c == "\\" for c in value):
        raise ValueError(f"{field}含有控制字符或反斜杠。")
    return value


@admin.route("/redirects/")
def redirect_list() -> tuple[str, int]:
    rows = list(db.session.scalars(select(Redirect).order_by(Redirect.old_path)))
    return render_page("admin/redirects.html", rows=rows)


@admin.route("/redirects/", methods=["POST"])
def redirect_save() -> Response:
    """Add a row, or change the target of an existing one."""
    try:
        old = _path(request.form.get("old_path", ""), "旧地址")
        target = _path(request.form.get("target", ""), "新地址")
    except ValueError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.redirect_list"))
    if old.rstrip("/") == target.rstrip("/"):
        flash("旧地址和新地址相同，会形成循环。", "error")
        return redirect(url_for("admin.redirect_list"))
    row = db.session.get(Redirect, old)
    if row is None:
        db.session.add(Redirect(old_path=old, target=target, origin="admin"))
    else:
        row.target = target
    db.session.commit()
    flash(f"{old} → {target} 已保存。", "ok")
    return redirect(url_for("admin.redirect_list"))


@admin.route("/redirects/delete", methods=["POST"])
def redirect_delete() -> Response:
    row = db.session.get(Redirect, request.form.get("old_path", ""))
    if row is None:
        abort(404)
    db.session.delete(row)
    db.session.commit()
    flash(f"{row.old_path} 的跳转已删除。", "ok")
    return redirect(url_for("admin.redirect_list"))
