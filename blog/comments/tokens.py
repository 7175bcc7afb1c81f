"""The anonymous form token: signed, time-limited, not tied to a session, spent once per client.

A post page is cached and shared by every reader, so its comment form cannot carry a
per-session CSRF token. It carries a token signed with the site's secret instead, naming
the post and the moment it was issued (itsdangerous). docs/security.md explains how this,
the Origin/Referer check, the honeypot and the minimum fill time work together.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from blog.comments.fields import CommentError
from blog.comments.models import UsedCommentToken
from blog.i18n import ui_text
from blog.models import db, utcnow

SALT = "blog.comments.form-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=SALT)


def issue_token(post_id: int) -> str:
    """A new token for the comment form of post ``post_id``."""
    return str(_serializer().dumps({"p": post_id, "n": secrets.token_urlsafe(12)}))


@dataclass(frozen=True)
class CheckedToken:
    nonce: str
    age: float


def check_token(token: str, post_id: int) -> CheckedToken:
    """Verify ``token`` for ``post_id``: signature, post, age. Raise :class:`CommentError`."""
    hours = float(current_app.config["COMMENTS_TOKEN_HOURS"])
    try:
        payload, issued = _serializer().loads(
            token, max_age=int(hours * 3600), return_timestamp=True
        )
    except SignatureExpired:
        raise CommentError(
            "token", ui_text("The form has expired; check your comment and post it again."), 400
        ) from None
    except BadSignature:
        raise CommentError(
            "token",
            ui_text("The form token is not valid; check your comment and post it again."),
            400,
        ) from None
    if not isinstance(payload, dict) or payload.get("p") != post_id:
        raise CommentError(
            "token",
            ui_text("The form token is for another post; check your comment and post it again."),
            400,
        )
    age = time.time() - issued.timestamp()
    if age < float(current_app.config["COMMENTS_MIN_FILL_SECONDS"]):
        raise CommentError(
            "token", ui_text("That was too fast; wait a few seconds and post it again."), 400
        )
    return CheckedToken(nonce=str(payload.get("n", "")), age=age)


def client_digest(address: str) -> str:
    """A keyed digest of a client address: counted and compared, never reversible by a list."""
    key = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(key, address.encode("utf-8"), hashlib.sha256).hexdigest()


def spend_token(checked: CheckedToken, client: str, body_hash: str) -> None:
    """Record that ``client`` sent this body with this token; sending it again is a replay.

    The page token is shared by every reader of a cached page, so "spent" is per client
    and per body: a captured request cannot be sent twice, while the same reader may
    post a second, different comment from the same page.

    Committed on its own so that two simultaneous replays race on the primary key and
    exactly one wins, whatever happens to the comment afterwards.
    """
    hours = float(current_app.config["COMMENTS_TOKEN_HOURS"])
    digest = hashlib.sha256(f"{checked.nonce}\n{client}\n{body_hash}".encode()).hexdigest()
    now = utcnow()
    db.session.execute(delete(UsedCommentToken).where(UsedCommentToken.expires_at < now))
    db.session.add(UsedCommentToken(digest=digest, expires_at=now + timedelta(hours=hours)))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise CommentError(
            "token",
            ui_text("This form was already posted; check your comment and post it again."),
            400,
        ) from None
