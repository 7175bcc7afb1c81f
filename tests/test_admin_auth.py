"""Admin authentication: the login wall, lock-out, sessions, cookies, CSRF, safe redirects."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from admin_support import PASSWORD, create_user, csrf_token, find, login
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.routing import Rule

from blog.admin.models import AdminSession
from blog.models import db, utcnow


@pytest.fixture
def user_app(app: Flask) -> Flask:
    create_user(app)
    return app


@pytest.fixture
def admin_client(user_app: Flask) -> FlaskClient:
    client = user_app.test_client()
    assert login(client).status_code == 302
    return client


def _sample_url(rule: Rule) -> str:
    # Every variable part filled, so the URL reaches the rule (and its blueprint).
    return re.sub(r"<[^>]+>", "x", re.sub(r"<int:[^>]+>", "1", rule.rule))


def test_every_admin_route_sends_anonymous_visitors_to_login(
    user_app: Flask, make_post: Callable[..., object]
) -> None:
    make_post("秘密草稿正文", title="秘密草稿", status="draft")
    client = user_app.test_client()
    rules = [
        r
        for r in user_app.url_map.iter_rules()
        if r.rule.startswith("/admin") and r.endpoint != "admin.login"
    ]
    assert len(rules) >= 15
    for rule in rules:
        url = _sample_url(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.headers["Location"].startswith("/admin/login?next="), (method, url)
            assert "秘密草稿" not in response.get_data(as_text=True)


def test_login_with_the_right_password_opens_the_admin(admin_client: FlaskClient) -> None:
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert find(response.data, "form", action="/admin/logout")


def test_wrong_password_is_refused_with_a_message(user_app: Flask) -> None:
    client = user_app.test_client()
    response = login(client, password="wrong password")
    assert response.status_code == 401
    assert "用户名或密码错误" in find(response.data, "p", role="alert").text
    assert client.get("/admin/").status_code == 302


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(user_app: Flask) -> None:
    response = login(user_app.test_client(), name="nobody")
    assert response.status_code == 401
    assert "用户名或密码错误" in find(response.data, "p", role="alert").text


def test_user_is_locked_out_after_login_attempts_failures(make_app: Callable[..., Flask]) -> None:
    app = make_app(LOGIN_ATTEMPTS=3)
    create_user(app)
    client = app.test_client()
    for _ in range(3):
        assert login(client, password="nope").status_code == 401
    response = login(client)
    assert response.status_code == 429
    assert "锁定" in find(response.data, "p", role="alert").text
    assert client.get("/admin/").status_code == 302


def test_lockout_counts_per_address_across_user_names(make_app: Callable[..., Flask]) -> None:
    app = make_app(LOGIN_ATTEMPTS=3)
    create_user(app)
    client = app.test_client()
    for name in ("a", "b", "c"):
        assert login(client, name=name, password="nope").status_code == 401
    assert login(client).status_code == 429


def test_lockout_of_one_address_leaves_other_addresses_free(make_app: Callable[..., Flask]) -> None:
    app = make_app(LOGIN_ATTEMPTS=2)
    create_user(app)
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for name in ("x", "y"):
        login(attacker, name=name, password="nope")
    assert login(attacker).status_code == 429
    assert login(app.test_client()).status_code == 302


def test_login_without_csrf_token_is_refused(user_app: Flask) -> None:
    client = user_app.test_client()
    client.get("/admin/login")
    response = client.post("/admin/login", data={"username": "editor", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax(user_app: Flask) -> None:
    response = login(user_app.test_client())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_served_over_https(user_app: Flask) -> None:
    client = user_app.test_client()
    token = find(
        client.get("/admin/login", base_url="https://blog.example").data, "meta", name="csrf-token"
    )
    response = client.post(
        "/admin/login",
        base_url="https://blog.example",
        headers={"Referer": "https://blog.example/admin/login"},
        data={"csrf_token": token.attrs["content"], "username": "editor", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_session_cookie_is_secure_when_site_url_is_https(make_app: Callable[..., Flask]) -> None:
    app = make_app(SITE_URL="https://blog.example")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_login_replaces_the_pre_login_session(user_app: Flask) -> None:
    client = user_app.test_client()
    before_token = csrf_token(client)
    before_cookie = client.get_cookie("session")
    assert before_cookie is not None
    assert login(client).status_code == 302
    after_token = csrf_token(client, "/admin/")
    assert after_token != before_token
    client.set_cookie("session", before_cookie.value)
    assert client.get("/admin/").status_code == 302


def test_logout_ends_the_session_even_for_a_copied_cookie(admin_client: FlaskClient) -> None:
    copied = admin_client.get_cookie("session")
    assert copied is not None
    token = csrf_token(admin_client, "/admin/")
    assert admin_client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert admin_client.get("/admin/").status_code == 302
    admin_client.set_cookie("session", copied.value)
    assert admin_client.get("/admin/").status_code == 302


def test_logout_requires_csrf_token(admin_client: FlaskClient) -> None:
    assert admin_client.post("/admin/logout").status_code == 400
    assert admin_client.get("/admin/").status_code == 200


def test_session_expires_after_session_hours(user_app: Flask, admin_client: FlaskClient) -> None:
    with user_app.app_context():
        row = db.session.scalars(db.select(AdminSession)).one()
        hours = (row.expires_at - row.created_at).total_seconds() / 3600
        db.session.execute(update(AdminSession).values(expires_at=utcnow()))
        db.session.commit()
    assert hours == user_app.config["SESSION_HOURS"]
    assert admin_client.get("/admin/").status_code == 302


def test_login_follows_next_to_a_same_site_path(user_app: Flask) -> None:
    response = login(user_app.test_client(), next_url="/admin/trash/?x=1")
    assert response.headers["Location"] == "/admin/trash/?x=1"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/admin/",
        "/\\evil.example",
        "javascript:alert(1)",
        "admin/",
    ],
)
def test_login_never_redirects_off_site(user_app: Flask, target: str) -> None:
    response = login(user_app.test_client(), next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_anonymous_visit_remembers_the_page_for_after_login(user_app: Flask) -> None:
    client = user_app.test_client()
    location = client.get("/admin/trash/").headers["Location"]
    assert location == "/admin/login?next=/admin/trash/"
    response = login(client, next_url="/admin/trash/")
    assert response.headers["Location"] == "/admin/trash/"


def test_admin_pages_are_never_cached(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/").headers["Cache-Control"] == "no-store"


def attacker_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failures_on_the_owners_name_from_many_addresses_never_lock_the_owner_out(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(LOGIN_ATTEMPTS=3)
    create_user(app)
    for n in range(8):  # 16 failures on "editor", none locking any single address
        attacker = attacker_at(app, f"198.51.100.{n}")
        for _ in range(2):
            assert login(attacker, password="guess").status_code in (401, 429)
    assert login(app.test_client()).status_code == 302  # the owner, from a clean address


def test_a_name_under_attack_slows_down_the_addresses_that_guessed_it(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(LOGIN_ATTEMPTS=3)
    create_user(app)
    attackers = [attacker_at(app, f"198.51.100.{n}") for n in range(8)]
    statuses = [login(a, password="guess").status_code for a in attackers for _ in range(2)]
    # The name's third failure starts the delay (1 s), which then doubles on each failure.
    assert statuses[:3] == [401, 401, 401]
    assert set(statuses) <= {401, 429}
    second = attackers[1]
    # Even the right password waits now, from an address that guessed before.
    delayed = login(second)
    assert delayed.status_code == 429
    assert int(delayed.headers["Retry-After"]) >= 1
    assert "秒后再试" in find(delayed.data, "p", role="alert").text
    # The owner's clean address is not held back, and logging in resets nobody else.
    assert login(app.test_client()).status_code == 302
    assert login(second).status_code == 429
