"""Admin pages for the links page (友链): add, edit, reorder and delete entries.

Avatars go through :func:`blog.admin.uploads.store_upload`, so they get the same checks as
any upload (type read from the bytes, size and pixel limits) and are served from /uploads/.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.wrappers import Response

from blog.admin.blueprint import admin
from blog.admin.editor import author_name
from blog.admin.refusals import Refusal, answered_by
from blog.admin.uploads import UploadError, store_upload
from blog.models import Link, db
from blog.posts import bump_content_version
from blog.validation import FieldError, check_text
from blog.views import database_unavailable, render_page

#: Longest accepted values, as the columns hold them.
LIMITS = {"name": 100, "url": 500, "description": 300}
FIELD_NAMES = {"name": "名称", "url": "网址", "description": "简介", "position": "排序"}


class LinkFormError(FieldError):
    """A field ``key`` of the link form is wrong; ``reason`` names it in the UI language."""


def ordered_links() -> list[Link]:
    return list(db.session.scalars(select(Link).order_by(Link.position, Link.id)))


def _field(key: str) -> str:
    value = request.form.get(key, "").strip()
    try:
        check_text(key, value)
    except FieldError as error:
        raise LinkFormError(key, f"{FIELD_NAMES[key]}：{error}") from None
    if len(value) > LIMITS[key]:
        raise LinkFormError(key, f"{FIELD_NAMES[key]}不能超过 {LIMITS[key]} 个字符。")
    return value


def _url(value: str) -> str:
    parts = urlsplit(value)
    unsafe = any(c in value for c in ' <>"')
    if parts.scheme not in ("http", "https") or not parts.netloc or unsafe:
        raise LinkFormError(
            "url", "网址必须是完整的 http:// 或 https:// 地址，例如 https://example.com/。"
        )
    return value


def _position() -> int:
    raw = request.form.get("position", "").strip() or "0"
    if not raw.lstrip("-").isdigit() or abs(int(raw)) > 1_000_000:
        raise LinkFormError("position", "排序必须是整数，例如 0、10、20（小的在前）。")
    return int(raw)


def _avatar() -> str | None:
    """The stored name of a newly uploaded avatar, or ``None`` when none was sent."""
    file = request.files.get("avatar")
    if file is None or not file.filename:
        return None
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    try:
        return store_upload(file.stream.read(limit + 1), file.filename, author_name()).name
    except UploadError as error:
        raise LinkFormError("avatar", f"头像：{error}") from None


def links_page(status: int = 200, error: str | None = None) -> tuple[str, int]:
    return render_page(
        "admin/links.html", status=status, links=ordered_links(), error=error, form=request.form
    )


@admin.route("/links/")
def link_list() -> tuple[str, int]:
    return links_page()


def _refused_link(error: Refusal) -> tuple[str, int] | Response:
    """The links page again with the form as sent and why nothing was saved."""
    if isinstance(error, OperationalError | InterfaceError):
        return database_unavailable(error)  # the links page itself needs the database
    if isinstance(error, DBAPIError):
        return links_page(500, "数据库没有接受这次保存，什么也没有写入。可以稍后再保存。")
    if isinstance(error, LinkFormError):
        return links_page(400, error.reason)
    if isinstance(error, FieldError):
        return links_page(400, f"{FIELD_NAMES.get(error.key, error.key)}：{error.reason}")
    return links_page(400, str(error))


@admin.route("/links/", methods=["POST"])
@admin.route("/links/<int:link_id>", methods=["POST"])
@answered_by(_refused_link)
def link_save(link_id: int | None = None) -> Response | tuple[str, int]:
    """Add a link, or change one; an avatar upload replaces the old one."""
    link = db.session.get(Link, link_id) if link_id is not None else Link()
    if link is None:
        abort(404)
    name = _field("name")
    if not name:
        raise LinkFormError("name", "名称不能为空。")
    url = _url(_field("url"))
    description = _field("description")
    position = _position()
    avatar = _avatar()
    link.name, link.url, link.description, link.position = name, url, description, position
    if avatar is not None:
        link.avatar = avatar
    elif request.form.get("remove_avatar") == "1":
        link.avatar = ""
    if link_id is None:
        db.session.add(link)
    bump_content_version()  # the cached /links/ page changes
    db.session.commit()
    flash(f"友链“{name}”已保存。", "ok")
    return redirect(url_for("admin.link_list"))


@admin.route("/links/<int:link_id>/delete", methods=["POST"])
def link_delete(link_id: int) -> Response:
    link = db.session.get(Link, link_id)
    if link is None:
        abort(404)
    db.session.delete(link)
    bump_content_version()
    db.session.commit()
    flash(f"友链“{link.name}”已删除。", "ok")
    return redirect(url_for("admin.link_list"))
