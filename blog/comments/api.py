"""Moderation over JSON under ``/api/comments``, with the same bearer tokens as ``/api``.

Cookies are never accepted (the shared ``authenticate`` reads only the Authorization
header), which is why the blueprint is exempt from CSRF like the posts API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from blog.admin.api import api_error, authenticate, http_error, no_store
from blog.comments.admin import REPLY_MAX_CHARS
from blog.comments.fields import CommentError, clean_text
from blog.comments.models import STATUSES, Comment
from blog.comments.service import author_reply, comment_json, moderate, queue
from blog.models import db
from blog.render import RenderError

comments_api = Blueprint("comments_api", __name__, url_prefix="/api/comments")
comments_api.before_request(authenticate)
comments_api.after_request(no_store)
comments_api.register_error_handler(404, http_error)
comments_api.register_error_handler(HTTPException, http_error)
PER_PAGE_MAX = 100
ACTIONS = ("approve", "spam", "delete", "pending")


def _comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404, f"no comment with id {comment_id}")
    return comment


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "the request body must be a JSON object (Content-Type: application/json)")
    return data


@comments_api.get("")
def list_comments() -> Response:
    status = request.args.get("status", "pending")
    if status not in STATUSES:
        return api_error(400, f"status must be one of {', '.join(STATUSES)}", key="status")
    page = max(1, request.args.get("page", 1, type=int) or 1)
    per_page = min(PER_PAGE_MAX, max(1, request.args.get("per_page", 20, type=int) or 20))
    rows, total = queue(status, page, per_page)
    return jsonify(
        comments=[comment_json(c, private=True) for c in rows],
        page=page,
        per_page=per_page,
        total=total,
    )


@comments_api.get("/<int:comment_id>")
def get_comment(comment_id: int) -> Response:
    return jsonify(comment_json(_comment(comment_id), private=True))


@comments_api.post("/<int:comment_id>/<action>")
def act(comment_id: int, action: str) -> Response:
    if action not in ACTIONS:
        return api_error(404, f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    comment = _comment(comment_id)
    moderate([comment], action)
    return jsonify(comment_json(comment, private=True))


@comments_api.post("/moderate")
def bulk() -> Response:
    """``{"ids": [1, 2], "action": "approve"}``: one action for many comments."""
    data = _body()
    ids, action = data.get("ids"), data.get("action")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        return api_error(400, "ids: a list of comment ids", key="ids")
    if action not in ACTIONS:
        return api_error(400, f"action: one of {', '.join(ACTIONS)}", key="action")
    rows = db.session.scalars(select(Comment).where(Comment.id.in_(ids))).all()
    changed = moderate(rows, action)
    return jsonify(changed=changed, ids=sorted(c.id for c in rows))


@comments_api.post("/<int:comment_id>/reply")
def reply(comment_id: int) -> Response:
    """``{"body": "..."}``: the token owner's reply, approved and marked as the author's."""
    parent = _comment(comment_id)
    body = _body().get("body")
    if not isinstance(body, str):
        return api_error(400, "body: the reply's Markdown text", key="body")
    try:
        text = clean_text(body, "body", "Reply", limit=REPLY_MAX_CHARS, multiline=True)
        if not text:
            return api_error(400, "body: must not be empty", key="body")
        saved = author_reply(parent, g.api_user.name, text)
    except CommentError as error:
        db.session.rollback()
        return api_error(error.status, error.message, key=error.key)
    except RenderError as error:
        db.session.rollback()
        return api_error(400, str(error), key="body")
    response = jsonify(comment_json(saved, private=True))
    response.status_code = 201
    return response
