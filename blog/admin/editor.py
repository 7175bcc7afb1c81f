"""Admin pages for posts and standalone pages: list, edit, live preview, save actions."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from markupsafe import Markup
from sqlalchemy import Select, or_, select
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from blog.admin import plugin_fields
from blog.admin.auth import current_user
from blog.admin.blueprint import admin
from blog.admin.diff import diff_table
from blog.admin.fields import empty_fields, merge_fields
from blog.admin.refusals import Refusal, answered_by, database_refused
from blog.dates import to_local
from blog.models import DRAFT, PUBLISHED, SCHEDULED, STATUSES, Category, Post, Tag, db, utcnow
from blog.posts import (
    ConflictError,
    FieldError,
    PostFields,
    draft_to_render,
    fields_of,
    pinned_rank,
    save_post,
)
from blog.render import RenderError, render_post, render_warnings, warning_text
from blog.slugs import slug_from_title
from blog.views import render_page

PER_PAGE = 50
ACTIONS = ("draft", "publish", "schedule", "preview")
FORM_KEYS = (
    "title",
    "source",
    "slug",
    "lang",
    "published_at",
    "category",
    "categories",
    "tags",
    "kind",
    "series",
    "series_order",
)


def author_name() -> str:
    user = current_user()
    return user.name if user else ""


def _filtered(args: dict[str, str]) -> Select[tuple[Post]]:
    query = select(Post).where(Post.deleted_at.is_(None))
    if args.get("kind") in ("post", "page"):
        query = query.where(Post.kind == args["kind"])
    if args.get("status") in STATUSES:
        query = query.where(Post.status == args["status"])
    if args.get("category"):
        # Any of the post's categories, as the public category listing shows it.
        query = query.where(Post.categories.any(Category.name == args["category"]))
    if args.get("tag"):
        query = query.where(Post.tags.any(Tag.name == args["tag"]))
    if args.get("q"):
        pattern = (
            "%" + args["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        query = query.where(
            or_(
                Post.title.ilike(pattern, escape="\\"),
                Post.source.ilike(pattern, escape="\\"),
                Post.slug == args["q"],
            )
        )
    return query


@admin.route("/")
def posts() -> tuple[str, int]:
    args = {
        key: request.args.get(key, "").strip() for key in ("kind", "status", "category", "tag", "q")
    }
    page = max(1, request.args.get("page", 1, type=int) or 1)
    found = db.session.scalars(
        _filtered(args)
        .order_by(Post.updated_at.desc(), Post.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    ).all()
    return render_page(
        "admin/posts.html",
        posts=found[:PER_PAGE],
        filters=args,
        page_number=page,
        has_next=len(found) > PER_PAGE,
        statuses=STATUSES,
        categories=db.session.scalars(select(Category.name).order_by(Category.name)).all(),
        tags=db.session.scalars(select(Tag.name).order_by(Tag.name)).all(),
    )


def form_values(post_fields: PostFields) -> dict[str, str]:
    """The editor's input values for ``post_fields`` (dates in the site's time zone)."""
    moment = post_fields.published_at
    return {
        "title": post_fields.title,
        "source": post_fields.source,
        "slug": post_fields.slug or "",
        "lang": post_fields.lang,
        "kind": post_fields.kind,
        "category": post_fields.category or "",
        "categories": ", ".join(post_fields.category_names()[1:]),
        "tags": ", ".join(post_fields.tags),
        "published_at": to_local(moment).strftime("%Y-%m-%dT%H:%M") if moment else "",
        "pinned": "1" if pinned_rank(post_fields.meta) else "",
        "series": str(post_fields.meta.get("series") or ""),
        "series_order": str(post_fields.meta.get("series_order") or ""),
        **plugin_fields.form_values(plugin_fields.editor_fields(), post_fields),
    }


def editor_page(
    post: Post | None,
    values: dict[str, str],
    *,
    version: int | None,
    status: int = 200,
    error: FieldError | None = None,
    preview_html: str | None = None,
    conflict: Any = None,
    failure: str | None = None,
) -> tuple[str, int]:
    return render_page(
        "admin/edit.html",
        status=status,
        post=post,
        form=values,
        version=version,
        error=error,
        preview_html=preview_html,
        conflict=conflict,
        failure=failure,
        langs=("zh-Hans", "zh-Hant", "en"),
        plugin_fields=plugin_fields.editor_fields(),
    )


def _post_or_404(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None or post.deleted_at is not None:
        abort(404)
    return post


@admin.route("/posts/new")
def new_post() -> tuple[str, int]:
    return editor_page(
        None, form_values(empty_fields(request.args.get("kind", "post"))), version=None
    )


@admin.route("/posts/<int:post_id>/edit")
def edit_post(post_id: int) -> tuple[str, int]:
    post = _post_or_404(post_id)
    return editor_page(post, form_values(fields_of(post)), version=post.version)


def _apply_action(action: str, post_fields: PostFields, post: Post | None) -> None:
    """Set status and date for the button the author pressed."""
    now = utcnow()
    if action == "draft":
        post_fields.status = DRAFT
    elif action == "publish":
        already_out = post is not None and post.status == PUBLISHED
        post_fields.status = PUBLISHED
        if not already_out or post_fields.published_at is None:
            post_fields.published_at = now
    elif action == "schedule":
        if post_fields.published_at is None or post_fields.published_at <= now:
            raise FieldError("published_at", "定时发布需要填写一个将来的发布时间")
        post_fields.status = SCHEDULED


def _requested_slug(post_fields: PostFields, post: Post | None, change_slug: bool) -> str | None:
    """The slug this save asks for, when it may set one (to tell the author if it was taken)."""
    if post is None:
        return post_fields.slug or slug_from_title(
            post_fields.title, str(current_app.config["SLUG_STYLE"])
        )
    if change_slug and post_fields.slug and post_fields.slug != post.slug:
        return post_fields.slug
    return None


def _fields_from_form(base: PostFields, untitled: str | None = None) -> PostFields:
    """The submitted editor form merged onto ``base``, checked as a save checks it.

    ``untitled`` stands in for a blank title (a preview may be asked for before the post
    is named; a save may not).
    """
    chosen = _chosen_plugin_values()
    data = _form_data(chosen)
    if untitled is not None and not data.get("title", "").strip():
        data["title"] = untitled
    post_fields = merge_fields(base, data)
    plugin_fields.apply(post_fields, chosen)
    return post_fields


def _preview(post_fields: PostFields, post: Post | None) -> str:
    """The body HTML a save of ``post_fields`` onto ``post`` would store: the same draft
    (front matter, slug, language) goes through the same render."""
    return render_post(draft_to_render(post_fields, post)).body_html


def _preview_html(post_fields: PostFields, post: Post | None) -> str:
    try:
        return _preview(post_fields, post)
    except RenderError as error:
        return str(Markup('<p class="render-error">{}</p>').format(error))


def _chosen_plugin_values() -> dict[str, list[str]]:
    return plugin_fields.submitted(plugin_fields.editor_fields(), request.form)


def _form_data(chosen: dict[str, list[str]]) -> dict[str, str]:
    """The submitted post fields as ``merge_fields`` takes them, with plugin fields' ``chosen``."""
    data = {key: request.form[key] for key in FORM_KEYS if key in request.form}
    if request.form.get("password"):
        data["password"] = request.form["password"]
    if request.form.get("unprotect") == "1":
        data["unprotect"] = "1"
    if "pinned" in request.form:
        # A hidden "0" goes with the checkbox, so unticking it reaches the server too.
        data["pinned"] = "1" if "1" in request.form.getlist("pinned") else "0"
    data.update(
        {plugin_fields.VALUE_PREFIX + key: "\n".join(values) for key, values in chosen.items()}
    )
    return data


def _submitted_values(post: Post | None) -> dict[str, str]:
    """The editor's inputs as the author sent them, over the stored ones."""
    base = form_values(fields_of(post) if post is not None else empty_fields())
    try:
        chosen = _chosen_plugin_values()
    except FieldError:
        chosen = {}  # a plugin field's value was refused: keep every other input sent
    return {**base, **_form_data(chosen)}


def _refused_save(error: Refusal) -> tuple[str, int]:
    """Show the editor again with the author's input and why it was not saved."""
    post_id = request.view_args.get("post_id") if request.view_args else None
    # The view found the post; trashed since, it is still the one the author edits.
    post = db.session.get(Post, post_id) if post_id is not None else None
    values = _submitted_values(post)
    version = request.form.get("version", type=int)
    if isinstance(error, ConflictError):
        current = error.current
        table = diff_table(
            current.source,
            values["source"].replace("\r\n", "\n"),
            f"已保存（第 {current.version} 版）",
            "你的修改",
        )
        return editor_page(post, values, version=current.version, status=409, conflict=table)
    if isinstance(error, DBAPIError):
        return editor_page(
            post,
            values,
            version=version,
            status=500 if database_refused(error) else 503,
            failure="数据库没有接受这次保存，什么也没有写入。你的输入还在下面，可以稍后再保存。",
        )
    if isinstance(error, RenderError):
        error = FieldError("source", str(error))
    return editor_page(post, values, version=version, status=400, error=error)


@admin.route("/posts/new", methods=["POST"])
@admin.route("/posts/<int:post_id>/edit", methods=["POST"])
@answered_by(_refused_save)
def save(post_id: int | None = None) -> Response | tuple[str, int]:
    post = _post_or_404(post_id) if post_id is not None else None
    base = fields_of(post) if post is not None else empty_fields()
    action = request.form.get("action", "draft")
    if action not in ACTIONS:
        abort(400)
    post_fields = _fields_from_form(base)
    if action == "preview":
        version = request.form.get("version", type=int)
        return editor_page(
            post,
            _submitted_values(post),
            version=version,
            preview_html=_preview_html(post_fields, post),
        )
    # A draft has no public URL to keep; a published slug changes only on request.
    change_slug = post is None or request.form.get("change_slug") == "1" or post.status == DRAFT
    requested_slug = _requested_slug(post_fields, post, change_slug)
    _apply_action(action, post_fields, post)
    if post is None:
        saved = save_post(post_fields, author=author_name())
    else:
        saved = save_post(
            post_fields,
            author=author_name(),
            post=post,
            expected_version=request.form.get("version", type=int),
            change_slug=change_slug,
        )
    flash(
        {"draft": "草稿已保存。", "publish": "已发布。", "schedule": "已定时发布。"}[action], "ok"
    )
    if requested_slug is not None and saved.slug != requested_slug:
        flash(
            f"网址别名「{requested_slug}」已被另一篇文章使用，这篇文章的网址别名改为"
            f"「{saved.slug}」。如需别的别名，请修改后再保存。",
            "warning",
        )
    # Plugins list what the author should fix but that did not stop the save (an unknown
    # conversion group, a rule that could not be read) in render_meta["warnings"].
    for warning in render_warnings(saved.render_meta):
        flash(warning_text(warning), "warning")
    return redirect(url_for("admin.edit_post", post_id=saved.id))


@admin.route("/preview", methods=["POST"])
@admin.route("/posts/<int:post_id>/preview", methods=["POST"])
def preview(post_id: int | None = None) -> Response | tuple[Response, int]:
    """Render the editor's form through the save's pipeline without saving anything.

    The whole form is read as a save reads it, onto the stored post when there is one, so
    front matter the form does not show (conversion groups, keys from an import) renders
    as it will once saved.
    """
    post = _post_or_404(post_id) if post_id is not None else None
    base = fields_of(post) if post is not None else empty_fields(request.form.get("kind", "post"))
    try:
        post_fields = _fields_from_form(base, untitled="preview")
        html = _preview(post_fields, post)
    except (FieldError, RenderError) as error:
        return jsonify(error=str(error)), 400
    response = jsonify(html=html)
    response.headers["Cache-Control"] = "no-store"
    return response


def public_url(post: Post) -> str | None:
    if not post.is_public:
        return None
    endpoint = "public.standalone_page" if post.kind == "page" else "public.post"
    return url_for(endpoint, slug=post.slug)


@admin.app_template_global()
def admin_public_url(post: Post) -> str | None:
    return public_url(post)
