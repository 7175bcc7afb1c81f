"""Password-protected posts: the locked page, the unlock form's POST and the unlock cookie.

The body of a protected post leaves the server only in a response to a request carrying a
valid unlock cookie for that post; that response is ``private, no-store`` and bypasses the
page cache (see ``blog/cache.py``). The locked page has no body, no excerpt and no contents
list, so it may be shared by every reader and cached like any page; its form therefore
carries a signed token naming the post instead of a per-session CSRF token (as the comment
form does), and the POST must also come from this site's origin. Guesses are counted per
client and per post in the database (``RateLimiter``), so several workers share the count.

The cookie is signed with the site's secret and holds the post id and a fragment of the
password hash: it opens that post only, expires after ``POST_UNLOCK_HOURS``, and stops
working as soon as the author changes the password.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, request, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from blog import queries
from blog.admin.ratelimit import RateLimiter
from blog.i18n import ui_text
from blog.models import Post

#: Every unlock cookie is named this plus the post id; the page cache passes requests
#: carrying one straight to the app (a cached page would be the locked one).
COOKIE_PREFIX = "blog_unlock_"
_COOKIE_SALT = "blog.post-unlock.cookie"
_FORM_SALT = "blog.post-unlock.form"
#: How long a locked page's form may be used after it was rendered (it may sit in a cache).
FORM_TOKEN_HOURS = 48

protected = Blueprint("protected", __name__)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=salt)


def _hash_tag(post: Post) -> str:
    # A digest of the stored hash, so a cookie never carries any part of the hash itself.
    assert post.password_hash is not None
    key = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(key, post.password_hash.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def cookie_name(post: Post) -> str:
    return f"{COOKIE_PREFIX}{post.id}"


def is_unlocked(post: Post) -> bool:
    """Whether this request carries a valid, unexpired unlock cookie for ``post``."""
    if post.password_hash is None:
        return True
    value = request.cookies.get(cookie_name(post))
    if not value:
        return False
    max_age = int(float(current_app.config["POST_UNLOCK_HOURS"]) * 3600)
    try:
        payload = _serializer(_COOKIE_SALT).loads(value, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return False
    return (
        isinstance(payload, dict)
        and payload.get("p") == post.id
        and hmac.compare_digest(str(payload.get("h", "")), _hash_tag(post))
    )


def form_token(post: Post) -> str:
    """The token the locked page's form carries: signed, naming ``post``, time-limited."""
    return str(_serializer(_FORM_SALT).dumps({"p": post.id}))


def _token_is_valid(token: str, post: Post) -> bool:
    try:
        payload = _serializer(_FORM_SALT).loads(token, max_age=FORM_TOKEN_HOURS * 3600)
    except (BadSignature, SignatureExpired):
        return False
    return isinstance(payload, dict) and payload.get("p") == post.id


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def _same_origin() -> bool:
    """Origin (or, without one, Referer) must be this site; a request with neither is refused."""
    allowed = {_origin_of(request.host_url)}
    if current_app.config["SITE_URL"]:
        allowed.add(_origin_of(str(current_app.config["SITE_URL"])))
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    return origin is not None and _origin_of(origin) in allowed


def locked_page(post: Post, *, error: str | None = None, status: int = 200) -> Response:
    """The page a reader without the password gets: title, date, the form. Never the body."""
    # Cycle: blog.views imports this module (its routes answer locked posts).
    from blog.views import render_page

    endpoint = "protected.unlock_page" if post.kind == "page" else "protected.unlock_post"
    body, code = render_page(
        "post_locked.html",
        status=status,
        post=post,
        unlock_url=url_for(endpoint, slug=post.slug),
        unlock_token=form_token(post),
        unlock_error=error,
    )
    return Response(body, status=code, mimetype="text/html")


def unlocked_headers(response: Response) -> Response:
    """Mark the response carrying a protected body as for this reader only."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.vary.add("Cookie")
    return response


def _unlock(post: Post | None) -> Response:
    if post is None or post.password_hash is None:
        abort(404)
    if not _same_origin() or not _token_is_valid(request.form.get("token", ""), post):
        return locked_page(
            post,
            error=ui_text(
                "The form has expired or came from elsewhere; please enter the password again."
            ),
            status=400,
        )
    address = request.remote_addr or "unknown"
    limiters: tuple[RateLimiter, RateLimiter] = current_app.extensions["blog.unlock_limiters"]
    per_client, per_post = limiters
    wait = per_client.hit(f"{post.id}:{address}")
    if wait is None:
        wait = per_post.hit(str(post.id))
    if wait is not None:
        response = locked_page(
            post,
            error=ui_text(
                "Too many attempts; try again in %(seconds)d seconds.",
                seconds=int(wait) + 1,
            ),
            status=429,
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    password = request.form.get("password", "")
    if not password or not check_password_hash(post.password_hash, password):
        return locked_page(
            post, error=ui_text("That password is not right; please try again."), status=403
        )
    endpoint = "public.standalone_page" if post.kind == "page" else "public.post"
    response = Response(status=303, headers={"Location": url_for(endpoint, slug=post.slug)})
    hours = float(current_app.config["POST_UNLOCK_HOURS"])
    response.set_cookie(
        cookie_name(post),
        str(_serializer(_COOKIE_SALT).dumps({"p": post.id, "h": _hash_tag(post)})),
        max_age=int(hours * 3600),
        path="/",  # the post is read under every variant prefix (/zh-tw/posts/…) too
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@protected.post("/posts/<slug>/unlock")
def unlock_post(slug: str) -> Response:
    return _unlock(queries.find_public(slug))


@protected.post("/pages/<slug>/unlock")
def unlock_page(slug: str) -> Response:
    return _unlock(queries.find_public(slug, kind="page"))


def init_app(app: Flask, csrf: Any) -> None:
    """Register the unlock routes; the form is exempt from the admin's session CSRF check."""
    window = float(app.config["POST_UNLOCK_WINDOW_SECONDS"])
    app.extensions["blog.unlock_limiters"] = (
        RateLimiter(int(app.config["POST_UNLOCK_ATTEMPTS"]), window, scope="unlock-client"),
        RateLimiter(int(app.config["POST_UNLOCK_ATTEMPTS_PER_POST"]), window, scope="unlock-post"),
    )
    csrf.exempt(protected)
    app.register_blueprint(protected)
