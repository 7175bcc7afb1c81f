"""Secret preview links: show a post that is not public (a draft) to a reviewer.

An author creates a link in the editor; it works until it expires or is revoked. The
URL is ``/preview/<id>-<secret>/`` where the secret is an HMAC of the row's id and salt
under SECRET_KEY, so a copied database cannot produce working links and the editor can
show an existing link again. Preview responses are never cached (``no-store``, outside
the page cache) and never indexed (``noindex`` meta and ``X-Robots-Tag``); they send no
Referer, so the link does not leak to sites the draft links to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app
from sqlalchemy import select
from werkzeug.wrappers import Response

from blog.models import Post, PreviewLink, db, utcnow
from blog.views import render_page

#: Lifetimes an author can choose in the editor, in days.
LIFETIME_DAYS = (1, 7, 30)
#: Characters of the URL-safe HMAC kept in the link (192 bits).
SECRET_CHARS = 32
#: Response headers of every preview answer, found or not.
PRIVATE_HEADERS = {
    "Cache-Control": "no-store, private",
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Referrer-Policy": "no-referrer",
}

previews = Blueprint("previews", __name__)


def _secret(link_id: int, salt: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"preview-link:{link_id}:{salt}".encode(), hashlib.sha256)
    return digest.hexdigest()[:SECRET_CHARS]


def token_of(link: PreviewLink) -> str:
    """The URL part that opens ``link``."""
    return f"{link.id}-{_secret(link.id, link.salt)}"


def create_link(post: Post, days: int, author: str) -> PreviewLink:
    """Add a link to ``post`` that expires after ``days`` (one of :data:`LIFETIME_DAYS`)."""
    if days not in LIFETIME_DAYS:
        raise ValueError(f"a preview link lasts {LIFETIME_DAYS} days, not {days}")
    now = utcnow()
    link = PreviewLink(
        post_id=post.id,
        salt=secrets.token_hex(16),
        created_by=author,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(link)
    db.session.commit()
    return link


def revoke_link(link: PreviewLink) -> None:
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        db.session.commit()


def links_of(post: Post) -> list[PreviewLink]:
    """The post's links that still work, newest first."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(PreviewLink)
            .where(
                PreviewLink.post_id == post.id,
                PreviewLink.revoked_at.is_(None),
                PreviewLink.expires_at > now,
            )
            .order_by(PreviewLink.id.desc())
        )
    )


def live_link(token: str, now: datetime | None = None) -> PreviewLink | None:
    """The unexpired, unrevoked link ``token`` names, if its post is not in the trash."""
    link_id, _, secret = token.partition("-")
    if not link_id.isdigit() or len(link_id) > 18 or len(secret) != SECRET_CHARS:
        return None
    link = db.session.get(PreviewLink, int(link_id))
    if link is None or not hmac.compare_digest(secret, _secret(link.id, link.salt)):
        return None
    if link.revoked_at is not None or link.expires_at <= (now or utcnow()):
        return None
    if link.post.deleted_at is not None:
        return None
    return link


@previews.route("/preview/<token>/")
def preview(token: str) -> Response:
    link = live_link(token)
    if link is None:
        abort(404)
    link.last_used_at = utcnow()
    db.session.commit()
    body, status = render_page(
        "post.html",
        post=link.post,
        prev_post=None,
        next_post=None,
        preview_link=link,
        body_unlocked=True,
        noindex=True,
    )
    response = Response(body, status=status, mimetype="text/html")
    response.headers.update(PRIVATE_HEADERS)
    return response


@previews.after_request
def keep_private(response: Response) -> Response:
    """A refused preview (404) gets the same private headers as a working one."""
    response.headers.update(PRIVATE_HEADERS)
    return response
