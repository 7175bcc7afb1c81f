"""The JSON API: bearer tokens, CRUD, publish, trash, revisions, validation, conflicts, limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from admin_support import create_user, login
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from blog.admin.models import ApiToken
from blog.admin.ratelimit import RateLimiter
from blog.admin.tokens import create_token
from blog.models import User, db


@pytest.fixture
def api_app(app: Flask) -> Flask:
    create_user(app)
    return app


@pytest.fixture
def token(api_app: Flask) -> str:
    with api_app.app_context():
        user = db.session.scalars(select(User)).one()
        return create_token(user, "laptop")


@pytest.fixture
def sqlite_app(make_app: Callable[..., Flask]) -> Flask:
    """An app on the instance's SQLite database, the one the CLI opens too."""
    app = make_app()
    create_user(app)
    return app


class Api:
    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        return self.client.open(f"/api{path}", method=method, json=body, headers=self.headers)


@pytest.fixture
def api(api_app: Flask, token: str) -> Api:
    return Api(api_app.test_client(), token)


def created(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"title": "接口文章", "source": "正文 $x^2$", "status": "draft", **fields}
    response = api("POST", "/posts", body)
    assert response.status_code == 201, response.get_json()
    data: dict[str, Any] = response.get_json()
    return data


def test_request_without_token_is_unauthorized(api_app: Flask) -> None:
    response = api_app.test_client().get("/api/posts")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in response.get_json()["error"]


def test_unknown_token_is_unauthorized(api_app: Flask) -> None:
    response = api_app.test_client().get(
        "/api/posts", headers={"Authorization": "Bearer blog_nope"}
    )
    assert response.status_code == 401


def test_admin_session_cookie_alone_does_not_authorize_the_api(api_app: Flask) -> None:
    client = api_app.test_client()
    assert login(client).status_code == 302
    assert client.post("/api/posts", json={"title": "跨站", "source": "x"}).status_code == 401


def test_token_is_stored_hashed(api_app: Flask, token: str) -> None:
    with api_app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        dump = " ".join(str(v) for v in db.session.execute(text("SELECT * FROM api_tokens")).one())
    assert token not in dump
    assert row.token_hash != token and len(row.token_hash) == 64


def test_cli_token_works_until_revoked(sqlite_app: Flask, run_cli: Callable[..., Result]) -> None:
    result = run_cli("token", "create", "laptop", "--user", "editor")
    assert result.exit_code == 0, result.output
    api = Api(sqlite_app.test_client(), result.stdout.strip().splitlines()[0])
    assert api("GET", "/posts").status_code == 200
    result = run_cli("token", "revoke", "laptop")
    assert result.exit_code == 0, result.output
    assert api("GET", "/posts").status_code == 401


def test_revoking_an_unknown_token_fails_clearly(
    sqlite_app: Flask, run_cli: Callable[..., Result]
) -> None:
    result = run_cli("token", "revoke", "nothing")
    assert result.exit_code != 0
    assert "no live token named 'nothing'" in result.output


def test_token_for_an_unknown_user_is_refused(
    sqlite_app: Flask, run_cli: Callable[..., Result]
) -> None:
    result = run_cli("token", "create", "x", "--user", "ghost")
    assert result.exit_code != 0
    assert "no user 'ghost'" in result.output


def test_create_returns_the_rendered_post(api: Api) -> None:
    post = created(api, tags=["NLP", "优化"], category="机器学习")
    assert post["status"] == "draft"
    assert post["version"] == 1
    assert post["tags"] == ["NLP", "优化"]
    assert "<math" in post["html"]
    assert post["url"] is None


def test_create_without_csrf_token_works_with_a_bearer_token(api: Api, api_app: Flask) -> None:
    assert api_app.config.get("WTF_CSRF_ENABLED", True) is True
    assert api("POST", "/posts", {"title": "脚本发布", "source": "x"}).status_code == 201


def test_list_and_get(api: Api) -> None:
    first = created(api, title="甲")
    created(api, title="乙", status="published")
    listing = api("GET", "/posts").get_json()
    assert listing["total"] == 2
    assert {p["title"] for p in listing["posts"]} == {"甲", "乙"}
    assert [p["title"] for p in api("GET", "/posts?status=published").get_json()["posts"]] == ["乙"]
    one = api("GET", f"/posts/{first['id']}").get_json()
    assert one["source"] == "正文 $x^2$"


def test_get_unknown_post_is_a_json_404(api: Api) -> None:
    response = api("GET", "/posts/999")
    assert response.status_code == 404
    assert "999" in response.get_json()["error"]


def test_update_changes_fields_and_bumps_the_version(api: Api) -> None:
    post = created(api)
    response = api("PATCH", f"/posts/{post['id']}", {"version": 1, "source": "新正文"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["source"] == "新正文"
    assert response.get_json()["version"] == 2


def test_update_with_a_stale_version_is_a_conflict_with_the_current_version(api: Api) -> None:
    post = created(api)
    assert (
        api("PATCH", f"/posts/{post['id']}", {"version": 1, "source": "甲的修改"}).status_code
        == 200
    )
    response = api("PATCH", f"/posts/{post['id']}", {"version": 1, "source": "乙的修改"})
    assert response.status_code == 409
    body = response.get_json()
    assert body["current_version"] == 2
    assert body["current"]["source"] == "甲的修改"


def test_update_without_version_is_refused_naming_it(api: Api) -> None:
    post = created(api)
    response = api("PATCH", f"/posts/{post['id']}", {"source": "x"})
    assert response.status_code == 400
    assert response.get_json()["key"] == "version"


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"title": "", "source": "x"}, "title"),
        ({"title": "t", "source": "x", "lang": "klingon"}, "lang"),
        ({"title": "t", "source": "x", "status": "gone"}, "status"),
        ({"title": "t", "source": "x", "tags": "a" * 201}, "tags"),
        ({"title": "t", "source": "x", "slug": "../etc"}, "slug"),
        ({"title": "t", "source": "x", "published_at": "yesterday"}, "published_at"),
        ({"title": "t", "source": 5}, "source"),
        ({"title": "t", "source": "x", "author": "me"}, "author"),
    ],
)
def test_invalid_fields_are_a_400_naming_the_key(api: Api, body: dict[str, Any], key: str) -> None:
    response = api("POST", "/posts", body)
    assert response.status_code == 400
    assert response.get_json()["key"] == key
    assert api("GET", "/posts").get_json()["total"] == 0


def test_non_json_body_is_refused(api: Api) -> None:
    response = api.client.post("/api/posts", data="title=x", headers=api.headers)
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]


def test_publish_makes_the_post_public(api: Api) -> None:
    post = created(api, slug="from-script")
    response = api("POST", f"/posts/{post['id']}/publish")
    assert response.status_code == 200
    assert response.get_json()["status"] == "published"
    assert response.get_json()["url"].endswith("/posts/from-script/")
    assert api.client.get("/posts/from-script/").status_code == 200


def test_publish_at_a_future_time_schedules(api: Api) -> None:
    post = created(api)
    response = api("POST", f"/posts/{post['id']}/publish", {"at": "2999-01-01T08:00:00+08:00"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "scheduled"
    assert response.get_json()["published_at"] == "2999-01-01T00:00:00Z"


def test_delete_moves_the_post_to_the_trash(api: Api, api_app: Flask) -> None:
    post = created(api, status="published", slug="doomed")
    response = api("DELETE", f"/posts/{post['id']}")
    assert response.status_code == 200
    assert response.get_json()["trashed"] is True
    assert api.client.get("/posts/doomed/").status_code == 404
    assert api("GET", f"/posts/{post['id']}").get_json()["trashed"] is True


def test_revisions_are_listed_and_readable(api: Api) -> None:
    post = created(api, source="第一版")
    api("PATCH", f"/posts/{post['id']}", {"version": 1, "source": "第二版"})
    listing = api("GET", f"/posts/{post['id']}/revisions").get_json()["revisions"]
    assert [r["number"] for r in listing] == [2, 1]
    assert listing[0]["author"] == "editor"
    assert api("GET", f"/posts/{post['id']}/revisions/1").get_json()["source"] == "第一版"
    assert api("GET", f"/posts/{post['id']}/revisions/9").status_code == 404


def test_changing_the_slug_through_the_api_redirects_the_old_url(api: Api) -> None:
    post = created(api, status="published", slug="before")
    response = api(
        "PATCH", f"/posts/{post['id']}", {"version": 1, "slug": "after", "change_slug": True}
    )
    assert response.get_json()["slug"] == "after"
    moved = api.client.get("/posts/before/")
    assert moved.status_code == 301
    assert moved.headers["Location"] == "/posts/after/"


def test_requests_beyond_the_rate_limit_get_429(api: Api, api_app: Flask) -> None:
    api_app.extensions["blog.admin.api_limiter"] = RateLimiter(3, 60.0)
    statuses = [api("GET", "/posts").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert int(api("GET", "/posts").headers["Retry-After"]) >= 1


class Clock:
    """The limiter's wall clock, moved by the test: window boundaries fall where it says."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_burst_across_a_window_boundary_is_still_limited(
    api_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(6_000_000.0 - 1.0)  # one second before a 60-second boundary
    monkeypatch.setattr("blog.admin.ratelimit.time.time", clock)
    limiter = RateLimiter(3, 60.0)
    with api_app.app_context():
        answers = [limiter.hit("client") for _ in range(2)]
        clock.now += 2.0  # the next window has begun
        answers += [limiter.hit("client") for _ in range(2)]
        assert answers[:3] == [None, None, None]
        assert answers[3] is not None and 0 < answers[3] <= 60
        clock.now += 60.0  # the old window has slid almost out of view
        assert limiter.hit("client") is None


def test_repeated_bad_tokens_are_rate_limited(api_app: Flask) -> None:
    api_app.extensions["blog.admin.api_auth_limiter"] = RateLimiter(2, 60.0)
    client = api_app.test_client()
    statuses = [
        client.get("/api/posts", headers={"Authorization": "Bearer guess"}).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_api_responses_are_not_cached(api: Api) -> None:
    assert api("GET", "/posts").headers["Cache-Control"] == "no-store"
