"""Admin authentication: login with lock-out, server-side sessions, logout, the login wall."""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import timedelta
from functools import cache
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from blog.admin.blueprint import admin
from blog.admin.models import AdminSession, LoginAttempt
from blog.models import User, db, utcnow
from blog.views import render_page

SESSION_KEY = "admin_session"
LOCKOUT_WINDOW = timedelta(minutes=15)
#: The longest wait :func:`user_delay` imposes between two attempts on one user name.
MAX_USER_DELAY = 300.0
#: Endpoints of the admin blueprint reachable without a session.
OPEN_ENDPOINTS = frozenset({"admin.login"})


class AdminSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@cache
def _decoy_hash() -> str:
    # Checked for unknown user names so a miss costs as much time as a wrong password.
    return generate_password_hash(secrets.token_hex(16))


def session_lifetime() -> timedelta:
    return timedelta(hours=int(current_app.config["SESSION_HOURS"]))


def current_user() -> User | None:
    """The logged-in user of this request, or ``None``."""
    if "admin_user" not in g:
        g.admin_user = None
        key = session.get(SESSION_KEY)
        if isinstance(key, str):
            row = db.session.get(AdminSession, _digest(key))
            if row is not None and row.expires_at > utcnow():
                g.admin_user = row.user
    user: User | None = g.admin_user
    return user


def require_login() -> Response | None:
    """Before every request: send anonymous visitors of admin pages to the login form."""
    # Every blueprint mounted under /admin/, not only ours: other packages (comments) add
    # their moderation pages there, and they sit behind the same wall, which runs before
    # the CSRF check so an anonymous POST is sent to the login form rather than refused.
    in_admin = request.blueprint == "admin" or (
        request.blueprint is not None and request.path.startswith("/admin/")
    )
    if not in_admin or request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user() is None:
        target = request.script_root + request.full_path.rstrip("?")
        return redirect(url_for("admin.login", next=target))
    return None


def safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the admin home (no open redirect)."""
    fallback = url_for("admin.posts")
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    if any(ord(c) < 32 or c == "\\" for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def _client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _recent_failures(column: InstrumentedAttribute[str], value: str) -> int:
    since = utcnow() - LOCKOUT_WINDOW
    count = db.session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(column == value, LoginAttempt.at > since)
    )
    return int(count or 0)


def is_locked_out(address: str, username: str) -> bool:
    """Whether ``address`` used up ``LOGIN_ATTEMPTS`` failures in the window (any user names).

    Failures are never counted against a user name alone: that would let anyone lock the
    owner out with a handful of POSTs. A user name under attack gets :func:`user_delay`.
    """
    limit = int(current_app.config["LOGIN_ATTEMPTS"])
    return _recent_failures(LoginAttempt.address, address) >= limit


def user_delay(address: str, username: str) -> float:
    """Seconds ``address`` must still wait before trying ``username`` again (0: go ahead).

    Once ``username`` has ``LOGIN_ATTEMPTS`` failures in the window from all addresses
    together, each further failure doubles the wait after the latest one (1 s, 2 s, 4 s …
    up to :data:`MAX_USER_DELAY`). Only addresses that have themselves failed for this
    user in the window wait: the owner, coming from an address without failures, is
    never held back by someone else's guessing.
    """
    limit = int(current_app.config["LOGIN_ATTEMPTS"])
    since = utcnow() - LOCKOUT_WINDOW
    failures, latest = db.session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.at > since
        )
    ).one()
    if failures < limit or latest is None:
        return 0.0
    own = db.session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.username == username,
            LoginAttempt.address == address,
            LoginAttempt.at > since,
        )
    )
    if not own:
        return 0.0
    delay = min(MAX_USER_DELAY, 2.0 ** (failures - limit))
    return max(0.0, delay - (utcnow() - latest).total_seconds())


def _start_session(user: User) -> None:
    # A fresh cookie and a fresh server-side key on every login: nothing a visitor held
    # before (session id, CSRF token) survives into the authenticated session.
    session.clear()
    key = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.execute(delete(AdminSession).where(AdminSession.expires_at <= now))
    db.session.add(
        AdminSession(
            key_hash=_digest(key),
            user_id=user.id,
            created_at=now,
            expires_at=now + session_lifetime(),
        )
    )
    db.session.commit()
    session[SESSION_KEY] = key
    session.permanent = True
    g.admin_user = user


def _login_page(error: str | None, status: int, username: str = "") -> tuple[str, int]:
    return render_page(
        "admin/login.html",
        status=status,
        error=error,
        username=username,
        next=request.values.get("next", ""),
    )


@admin.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    if request.method == "GET":
        if current_user() is not None:
            return redirect(safe_next(request.args.get("next")))
        return _login_page(None, 200)
    username = request.form.get("username", "").strip()[:200]
    password = request.form.get("password", "")
    address = _client_address()
    if is_locked_out(address, username):
        minutes = int(LOCKOUT_WINDOW.total_seconds() // 60)
        return _login_page(
            f"登录失败次数过多，已暂时锁定。请在 {minutes} 分钟后再试。", 429, username
        )
    wait = user_delay(address, username)
    if wait > 0:
        seconds = math.ceil(wait)
        page, status = _login_page(
            f"这个用户名最近多次登录失败，请在 {seconds} 秒后再试。", 429, username
        )
        return Response(page, status, {"Retry-After": str(seconds)})
    user = db.session.scalar(select(User).where(User.name == username)) if username else None
    password_ok = check_password_hash(user.password_hash if user else _decoy_hash(), password)
    if user is None or not password_ok:
        db.session.add(LoginAttempt(address=address, username=username, at=utcnow()))
        db.session.commit()
        return _login_page("用户名或密码错误。", 401, username)
    # Only this address's failures are forgiven: the owner logging in must not reset the
    # count of someone guessing the same name from elsewhere.
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.address == address))
    _start_session(user)
    return redirect(safe_next(request.form.get("next")))


@admin.route("/logout", methods=["POST"])
def logout() -> Response:
    key = session.get(SESSION_KEY)
    if isinstance(key, str):
        db.session.execute(delete(AdminSession).where(AdminSession.key_hash == _digest(key)))
        db.session.commit()
    session.clear()
    return redirect(url_for("admin.login"))
