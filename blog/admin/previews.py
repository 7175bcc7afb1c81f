"""Admin side of secret preview links: create and revoke them from the editor."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from blog.admin.blueprint import admin
from blog.admin.editor import _post_or_404, author_name
from blog.models import PreviewLink, db
from blog.preview_links import LIFETIME_DAYS, create_link, links_of, revoke_link, token_of


def _back_to_editor(post_id: int) -> Response:
    return redirect(url_for("admin.edit_post", post_id=post_id) + "#preview-links")


@admin.route("/posts/<int:post_id>/preview-links", methods=["POST"])
def create_preview_link(post_id: int) -> Response:
    post = _post_or_404(post_id)
    days = request.form.get("days", type=int)
    if days not in LIFETIME_DAYS:
        flash("有效期只能选择 1 天、7 天或 30 天。", "error")
        return _back_to_editor(post.id)
    create_link(post, days, author_name())
    flash(f"已创建预览链接，{days} 天后失效。把下面的链接发给审阅者即可。", "ok")
    return _back_to_editor(post.id)


@admin.route("/preview-links/<int:link_id>/revoke", methods=["POST"])
def revoke_preview_link(link_id: int) -> Response:
    link = db.session.get(PreviewLink, link_id)
    if link is None:
        abort(404)
    revoke_link(link)
    flash("预览链接已撤销，它从现在起不能再打开这篇文章。", "ok")
    return _back_to_editor(link.post_id)


@admin.app_template_global()
def preview_links_of(post: object) -> list[PreviewLink]:
    return links_of(post)  # type: ignore[arg-type]


@admin.app_template_global()
def preview_link_url(link: PreviewLink) -> str:
    return url_for("previews.preview", token=token_of(link), _external=True)


@admin.app_template_global()
def preview_lifetimes() -> tuple[int, ...]:
    return LIFETIME_DAYS
