"""Admin pages for uploads (images and downloads): the upload form and the list with snippets."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from sqlalchemy import select

from blog.admin.blueprint import admin
from blog.admin.editor import author_name
from blog.admin.messages import human_size
from blog.admin.models import Upload
from blog.admin.uploads import UploadError, download_extensions, markdown_snippet, store_file
from blog.models import db
from blog.views import render_page

#: Room for the multipart framing and the CSRF field around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024


def uploads_page(
    status: int = 200, error: str | None = None, added: Upload | None = None
) -> tuple[str, int]:
    rows = db.session.scalars(
        select(Upload).order_by(Upload.created_at.desc(), Upload.id.desc())
    ).all()
    return render_page(
        "admin/uploads.html",
        status=status,
        uploads=[(row, markdown_snippet(row)) for row in rows],
        error=error,
        added=added,
        added_snippet=markdown_snippet(added) if added else None,
        download_extensions=download_extensions(),
    )


def limit_upload_request() -> None:
    """Before every request: cap the upload form's body before anything parses it."""
    # The links page's form carries an avatar image.
    limited = ("admin.upload", "admin.link_save", "api.upload_file")
    if request.endpoint in limited and request.method == "POST":
        request.max_content_length = (
            int(current_app.config["UPLOAD_MAX_BYTES"]) + FORM_OVERHEAD_BYTES
        )


@admin.route("/uploads/")
def uploads() -> tuple[str, int]:
    return uploads_page()


def wants_json() -> bool:
    """Whether the editor's script (drop or paste an image) sent the upload."""
    accepted = request.accept_mimetypes
    return accepted.best_match(["text/html", "application/json"]) == "application/json"


def upload_failed(status: int, message: str) -> tuple[str, int] | tuple[Response, int]:
    if wants_json():
        return jsonify(error=message), status
    return uploads_page(status, message)


@admin.route("/uploads/", methods=["POST"])
def upload() -> tuple[str, int] | tuple[Response, int]:
    file = request.files.get("file")
    if file is None or not file.filename:
        return upload_failed(400, "请选择一个文件。")
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    # One byte past the limit is enough to know a file is too large.
    data = file.stream.read(limit + 1)
    try:
        added = store_file(data, file.filename, author_name())
    except UploadError as error:
        return upload_failed(400, str(error))
    if wants_json():
        return jsonify(
            markdown=markdown_snippet(added),
            url=f"/uploads/{added.name}",
            width=added.width,
            height=added.height,
            download=not added.is_image(),
        ), 201
    return uploads_page(added=added)


def too_large() -> tuple[str, int] | tuple[Response, int]:
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    return upload_failed(413, f"文件太大：上限为 {human_size(limit)}（UPLOAD_MAX_BYTES）。")
