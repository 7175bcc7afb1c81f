"""API tokens: created once (shown once), stored as SHA-256, looked up by that hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from blog.admin.models import ApiToken
from blog.models import User, db, utcnow

TOKEN_PREFIX = "blog_"  # noqa: S105  (a marker that makes leaked tokens greppable)


def token_digest(token: str) -> str:
    # A plain hash is enough: tokens carry 256 random bits, so there is nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str) -> str:
    """Create a token named ``name`` for ``user``; return the secret (never stored)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(name=name, user_id=user.id, token_hash=token_digest(secret)))
    db.session.commit()
    return secret


def live_token(secret: str) -> ApiToken | None:
    """The live (not revoked) token row for ``secret``, touching its last-used time."""
    row = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_digest(secret), ApiToken.revoked_at.is_(None)
        )
    )
    if row is not None:
        row.last_used_at = utcnow()
        db.session.commit()
    return row


def revoke_tokens(name: str, user: User | None) -> int:
    """Revoke the live tokens called ``name`` (of ``user`` when given); return how many."""
    query = select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    rows = db.session.scalars(query).all()
    for row in rows:
        row.revoked_at = utcnow()
    db.session.commit()
    return len(rows)
