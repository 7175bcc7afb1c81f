"""The JSON API under ``/api``: posts and revisions, authenticated by bearer tokens only.

Cookies are never accepted here, so a forged cross-site request (which carries cookies
but cannot know a token) is refused; that is why the blueprint is exempt from CSRF.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, request, url_for
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from blog.admin import plugin_fields
from blog.admin.fields import empty_fields, merge_fields
from blog.admin.ratelimit import RateLimiter
from blog.admin.tokens import live_token
from blog.admin.uploads import UploadError, markdown_snippet, store_file
from blog.models import PUBLISHED, STATUSES, Post, Revision, db, utcnow
from blog.posts import ConflictError, FieldError, PostFields, fields_of, save_post, trash_post
from blog.render import RenderError, render_warnings, warning_text
from blog.validation import MAX_DB_INTEGER, check_integer, json_object

api = Blueprint("api", __name__, url_prefix="/api")

#: Requests per token per minute, and failed authentications per client address per minute.
TOKEN_RATE = (120, 60.0)
FAILED_AUTH_RATE = (20, 60.0)
PER_PAGE_MAX = 100
#: Pages past this are empty anyway; the cap keeps OFFSET within a database integer.
MAX_PAGE = 1_000_000
#: A publish without ``version`` re-reads the post this often when saves keep landing first.
PUBLISH_ATTEMPTS = 5


def install_limiters(app: Any) -> None:
    app.extensions["blog.admin.api_limiter"] = RateLimiter(*TOKEN_RATE, scope="api")
    app.extensions["blog.admin.api_auth_limiter"] = RateLimiter(*FAILED_AUTH_RATE, scope="api-auth")


def api_error(status: int, message: str, **extra: Any) -> Response:
    response = jsonify(error=message, **extra)
    response.status_code = status
    return response


def _too_many(retry_after: float) -> Response:
    response = api_error(429, "rate limit exceeded; retry later")
    response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


@api.before_request
def authenticate() -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    address = request.remote_addr or "unknown"
    token = live_token(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
    if token is None:
        wait = current_app.extensions["blog.admin.api_auth_limiter"].hit(address)
        if wait is not None:
            return _too_many(wait)
        response = api_error(
            401, "missing, unknown or revoked token (send 'Authorization: Bearer <token>')"
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="blog"'
        return response
    wait = current_app.extensions["blog.admin.api_limiter"].hit(f"token:{token.id}")
    if wait is not None:
        return _too_many(wait)
    g.api_user = token.user
    return None


@api.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# 404 by code as well: Flask prefers the app's code-specific (HTML) handler over a
# blueprint's class-based one.
@api.errorhandler(404)
@api.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    return api_error(error.code or 500, error.description or error.name)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def post_json(post: Post, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": post.id,
        "slug": post.slug,
        "title": post.title,
        "kind": post.kind,
        "status": post.status,
        "lang": post.lang,
        "category": post.category.name if post.category else None,
        "categories": [category.name for category in post.categories],
        "tags": [tag.name for tag in post.tags],
        "published_at": _iso(post.published_at),
        "updated_at": _iso(post.updated_at),
        "version": post.version,
        "trashed": post.deleted_at is not None,
        "url": _public_url(post),
    }
    if full:
        data["source"] = post.source
        data["html"] = post.body_html
        data["warnings"] = [warning_text(w) for w in render_warnings(post.render_meta)]
        for field in plugin_fields.editor_fields():
            data[field.key] = plugin_fields.stored_values(post.meta, field.key)
    return data


def _public_url(post: Post) -> str | None:
    if not post.is_public:
        return None
    endpoint = "public.standalone_page" if post.kind == "page" else "public.post"
    return url_for(endpoint, slug=post.slug, _external=True)


def _merged(base: PostFields, data: dict[str, Any]) -> PostFields:
    """``data`` merged onto ``base``: the core's keys, and the front-matter fields plugins add
    to the editor (``blog_editor_fields``), checked as the editor checks them."""
    core, chosen = plugin_fields.split_plugin_keys(data)
    fields = merge_fields(base, core, strict_keys=True)
    plugin_fields.apply(fields, chosen)
    return fields


def _body() -> dict[str, Any]:
    """The JSON object sent, checked by :func:`blog.validation.json_object`."""
    if request.mimetype != "application/json":
        abort(400, "the request body must be a JSON object (Content-Type: application/json)")
    return json_object()


# A refused write, from any endpoint: nothing of it stays in the session, and the client
# gets the JSON error naming the key (one place instead of an except block per view).
@api.errorhandler(FieldError)
def _field_error(error: FieldError) -> Response:
    db.session.rollback()
    return api_error(400, str(error), key=error.key)


@api.errorhandler(RenderError)
def _render_error(error: RenderError) -> Response:
    db.session.rollback()
    return api_error(400, str(error), key="source")


@api.errorhandler(ConflictError)
def _conflict(error: ConflictError) -> Response:
    db.session.rollback()
    return api_error(
        409,
        str(error),
        current_version=error.current.version,
        current=post_json(error.current, full=True),
    )


def _post(post_id: int) -> Post:
    # Ids past the database's integer range exist nowhere (PostgreSQL would refuse them).
    post = db.session.get(Post, post_id) if post_id <= MAX_DB_INTEGER else None
    if post is None:
        abort(404, f"no post with id {post_id}")
    return post


@api.get("/posts")
def list_posts() -> Response:
    query = select(Post).where(Post.deleted_at.is_(None))
    status = request.args.get("status")
    if status:
        if status not in STATUSES:
            return api_error(400, f"status must be one of {', '.join(STATUSES)}", key="status")
        query = query.where(Post.status == status)
    kind = request.args.get("kind")
    if kind:
        query = query.where(Post.kind == kind)
    page = min(MAX_PAGE, max(1, request.args.get("page", 1, type=int) or 1))
    per_page = min(PER_PAGE_MAX, max(1, request.args.get("per_page", 20, type=int) or 20))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Post.updated_at.desc(), Post.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return jsonify(posts=[post_json(p) for p in rows], page=page, per_page=per_page, total=total)


@api.get("/posts/<int:post_id>")
def get_post(post_id: int) -> Response:
    return jsonify(post_json(_post(post_id), full=True))


@api.post("/posts")
def create_post() -> Response:
    fields = _merged(empty_fields(), _body())
    post = save_post(fields, author=g.api_user.name)
    response = jsonify(post_json(post, full=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_post", post_id=post.id)
    return response


@api.route("/posts/<int:post_id>", methods=["PUT", "PATCH"])
def update_post(post_id: int) -> Response:
    post = _post(post_id)
    data = _body()
    version = data.pop("version", None)
    change_slug = data.pop("change_slug", False)
    if version is None:
        return api_error(
            400, "version: required, the post version your change is based on", key="version"
        )
    if not isinstance(change_slug, bool):
        return api_error(400, "change_slug: must be true or false", key="change_slug")
    check_integer("version", version, 1, MAX_DB_INTEGER)
    fields = _merged(fields_of(post), data)
    saved = save_post(
        fields,
        author=g.api_user.name,
        post=post,
        expected_version=version,
        change_slug=change_slug,
    )
    return jsonify(post_json(saved, full=True))


@api.post("/posts/<int:post_id>/publish")
def publish_post(post_id: int) -> Response:
    """Publish now, or at ``{"at": "..."}`` (a future time schedules the post).

    With ``version`` a post changed since is a 409; without it, publishing applies to
    whatever is stored, so a save that lands in between is published, not overwritten.
    """
    data = _body() if request.get_data(cache=True).strip() else {}
    version = data.get("version")
    if version is not None:
        check_integer("version", version, 1, MAX_DB_INTEGER)
    unknown = sorted(set(data) - {"at", "version"})
    if unknown:
        return api_error(400, f"{unknown[0]}: is not a publish option", key=unknown[0])
    for attempt in range(1, PUBLISH_ATTEMPTS + 1):
        post = _post(post_id)
        fields = merge_fields(
            fields_of(post), {"published_at": data["at"]} if data.get("at") else {}
        )
        fields.status = PUBLISHED
        if not data.get("at"):
            fields.published_at = utcnow()
        try:
            saved = save_post(fields, author=g.api_user.name, post=post, expected_version=version)
        except ConflictError:
            # Without a version, publish whatever is stored now: try again on it.
            if version is None and attempt < PUBLISH_ATTEMPTS:
                db.session.rollback()
                continue
            raise
        return jsonify(post_json(saved, full=True))
    raise AssertionError("unreachable")


@api.delete("/posts/<int:post_id>")
def delete_post(post_id: int) -> Response:
    """Move the post to the trash (restorable in the admin); nothing is destroyed."""
    post = _post(post_id)
    if post.deleted_at is None:
        trash_post(post)
    return jsonify(post_json(post))


def _revision_json(revision: Revision, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": revision.number,
        "title": revision.title,
        "author": revision.author,
        "created_at": _iso(revision.created_at),
        "fields": revision.fields,
    }
    if full:
        data["source"] = revision.source
    return data


@api.get("/posts/<int:post_id>/revisions")
def list_revisions(post_id: int) -> Response:
    post = _post(post_id)
    rows = db.session.scalars(
        select(Revision).where(Revision.post_id == post.id).order_by(Revision.number.desc())
    ).all()
    return jsonify(revisions=[_revision_json(r) for r in rows])


@api.get("/posts/<int:post_id>/revisions/<int:number>")
def get_revision(post_id: int, number: int) -> Response:
    post = _post(post_id)
    revision = db.session.scalar(
        select(Revision).where(Revision.post_id == post.id, Revision.number == number)
    )
    if revision is None:
        abort(404, f"post {post_id} has no revision {number}")
    return jsonify(_revision_json(revision, full=True))


@api.post("/uploads")
def upload_file() -> Response:
    """Store an image or a file for download sent as multipart field ``file``."""
    file = request.files.get("file")
    if file is None or not file.filename:
        return api_error(400, "send the file as multipart/form-data field 'file'")
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    try:
        # One byte past the limit is enough to know a file is too large.
        stored = store_file(file.stream.read(limit + 1), file.filename, g.api_user.name)
    except UploadError as error:
        return api_error(400, str(error))
    response = jsonify(
        name=stored.name,
        url=f"/uploads/{stored.name}",
        markdown=markdown_snippet(stored),
        download=not stored.is_image(),
        content_type=stored.content_type,
        size=stored.size,
        width=stored.width,
        height=stored.height,
    )
    response.status_code = 201
    response.headers["Location"] = f"/uploads/{stored.name}"
    return response
