"""Malformed input through every door (API, editor, login, import) is a 400 naming the field.

NUL and lone surrogates are refused, not stripped, on SQLite and PostgreSQL alike; JSON
nesting is checked before parsing; dates must lie in 1900-9999 in UTC and in the site's
time zone; numbers must fit the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from admin_support import create_user, csrf_token, login
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog.admin.tokens import create_token
from blog.models import Post, User, db
from blog.validation import MAX_JSON_DEPTH, json_depth


@pytest.fixture
def api(app: Flask) -> Callable[..., Any]:
    create_user(app)
    with app.app_context():
        token = create_token(db.session.scalars(select(User)).one(), "probe")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(method: str, path: str, raw: str | bytes) -> Any:
        return client.open(f"/api{path}", method=method, data=raw, headers=headers)

    return call


def post_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Post)) or 0)


def body(**fields: Any) -> str:
    return json.dumps({"title": "标题", "source": "正文", "status": "draft", **fields})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("title", "a\ud800b"),
        ("source", "正文\udfff"),
        ("category", "分\ud83d类"),
        ("title", "a\x00b"),
        ("source", "x\x00y"),
        ("category", "\x00"),
    ],
)
def test_unstorable_text_is_refused_naming_the_field(
    app: Flask, api: Callable[..., Any], key: str, value: str
) -> None:
    response = api("POST", "/posts", body(**{key: value}))
    assert response.status_code == 400, response.data
    assert response.get_json()["key"] == key
    assert "NUL" in response.get_json()["error"] or "surrogate" in response.get_json()["error"]
    assert post_count(app) == 0


def test_unstorable_tag_is_refused_naming_tags(app: Flask, api: Callable[..., Any]) -> None:
    response = api("POST", "/posts", body(tags=["好", "坏\ud800"]))
    assert response.status_code == 400
    assert response.get_json()["key"] == "tags"
    assert "tags[1]" in response.get_json()["error"]


def test_unstorable_text_in_an_update_is_refused(app: Flask, api: Callable[..., Any]) -> None:
    created = api("POST", "/posts", body()).get_json()
    for value in ("a\ud800", "a\x00"):
        raw = json.dumps({"version": created["version"], "title": value})
        response = api("PATCH", f"/posts/{created['id']}", raw)
        assert response.status_code == 400
        assert response.get_json()["key"] == "title"
    stored = api("GET", f"/posts/{created['id']}", b"").get_json()
    assert (stored["title"], stored["version"]) == ("标题", 1)


def test_json_nested_a_hundred_thousand_deep_is_refused(
    app: Flask, api: Callable[..., Any]
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for raw in (deep, '{"title": ' + deep + "}"):
        response = api("POST", "/posts", raw)
        assert response.status_code == 400
        assert f"nested more than {MAX_JSON_DEPTH} levels" in response.get_json()["error"]
    created = api("POST", "/posts", body()).get_json()
    response = api("POST", f"/posts/{created['id']}/publish", deep)
    assert response.status_code == 400


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth('{"a": "[[[[[[[[[[", "b": [["\\"]]"]]}', 100) == 3


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+14:00",  # the probe's: overflows while converting to UTC
        "9999-12-31T23:59:00+00:00",  # overflows in the site's time zone (UTC+8)
        "1899-12-31T12:00:00",
        "0001-01-01",
    ],
)
def test_dates_outside_the_usable_years_are_refused(
    app: Flask, api: Callable[..., Any], moment: str
) -> None:
    response = api("POST", "/posts", body(published_at=moment))
    assert response.status_code == 400, response.data
    assert response.get_json()["key"] == "published_at"
    assert "1900-9999" in response.get_json()["error"]
    created = api("POST", "/posts", body()).get_json()
    response = api("POST", f"/posts/{created['id']}/publish", json.dumps({"at": moment}))
    assert response.status_code == 400
    assert response.get_json()["key"] == "published_at"


def test_dates_at_the_edges_of_the_range_are_stored(app: Flask, api: Callable[..., Any]) -> None:
    for moment in ("1900-01-02T00:00:00", "9999-12-30T00:00:00"):
        response = api("POST", "/posts", body(published_at=moment, status="published"))
        assert response.status_code == 201, response.data


@pytest.mark.parametrize("version", [0, -1, 2**31, 2**63, 10**30, True, "1", 1.5])
def test_versions_out_of_range_are_refused(
    app: Flask, api: Callable[..., Any], version: Any
) -> None:
    created = api("POST", "/posts", body()).get_json()
    raw = json.dumps({"version": version, "title": "新"})
    response = api("PATCH", f"/posts/{created['id']}", raw)
    assert response.status_code == 400
    assert response.get_json()["key"] == "version"
    response = api("POST", f"/posts/{created['id']}/publish", json.dumps({"version": version}))
    assert response.status_code == 400
    assert response.get_json()["key"] == "version"


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_ids_and_pages_beyond_database_integers_are_not_errors(
    app: Flask, api: Callable[..., Any], number: int
) -> None:
    assert api("GET", f"/posts/{number}", b"").status_code == 404
    assert api("GET", f"/posts/{number}/revisions/{number}", b"").status_code == 404
    assert api("GET", f"/posts?page={number}", b"").status_code == 200
    client = app.test_client()
    login(client)
    assert client.get(f"/admin/posts/{number}/edit").status_code == 404


def logged_in(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def test_editor_refuses_nul_naming_the_field(app: Flask) -> None:
    client = logged_in(app)
    token = csrf_token(client, "/admin/posts/new")
    form = {"csrf_token": token, "title": "标\x00题", "source": "正文", "action": "draft"}
    response = client.post("/admin/posts/new", data=form)
    assert response.status_code == 400
    assert b"title" in response.data
    assert post_count(app) == 0


def test_editor_refuses_an_overflowing_date(app: Flask) -> None:
    client = logged_in(app)
    token = csrf_token(client, "/admin/posts/new")
    form = {
        "csrf_token": token,
        "title": "标题",
        "source": "正文",
        "published_at": "0001-01-01T00:00",
        "action": "draft",
    }
    response = client.post("/admin/posts/new", data=form)
    assert response.status_code == 400
    assert b"1900-9999" in response.data
    assert post_count(app) == 0


def test_login_with_nul_in_the_name_is_a_400_not_a_500(app: Flask) -> None:
    create_user(app)
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/admin/login", data={"csrf_token": token, "username": "a\x00b", "password": "x"}
    )
    assert response.status_code == 400


def test_search_query_with_nul_is_answered_not_a_500(app: Flask) -> None:
    # The search page reads its query as free text (test_search: any query gets a page
    # with results or a message); NUL never reaches the database.
    assert app.test_client().get("/search?q=a%00b").status_code == 200


def test_import_refuses_a_date_of_year_one_naming_the_file(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    run_cli("upgrade")
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "old.md").write_text("---\ntitle: 旧\ndate: 0001-01-01\n---\n正文\n", "utf-8")
    (folder / "good.md").write_text("---\ntitle: 好\ndate: 2020-01-01\n---\n正文\n", "utf-8")
    result = run_cli("import", str(folder))
    assert result.exit_code == 1
    assert "old.md" in result.output
    assert "1900-9999" in result.output
    assert "imported 1" in result.output


# -- every door, every malformed value: never a 5xx ------------------------------------------

#: Raw form values as a client can send them (percent-encoded bytes): a lone surrogate
#: (as CESU-8 bytes), NUL, invalid UTF-8, an overflowing date and an oversized integer.
RAW_VALUES = {
    "lone surrogate": "a%ED%A0%80b",
    "NUL": "a%00b",
    "invalid UTF-8": "a%FF%FEb",
    "year 1 +14:00": "0001-01-01T00%3A00%2B14%3A00",
    "integer beyond 64 bits": "99999999999999999999999",
}


def raw_form(**fields: str) -> bytes:
    """A form body that keeps the values' percent-encoded bytes as they are."""
    return "&".join(f"{key}={quote(value, safe='%')}" for key, value in fields.items()).encode()


def test_every_door_refuses_each_malformed_value_with_a_4xx(app: Flask) -> None:
    from comment_support import ORIGIN, form_token

    from blog.comments.models import Comment
    from blog.posts import PostFields, save_post

    app.config.update(COMMENTS_MIN_FILL_SECONDS=0, COMMENTS_RATE_PER_CLIENT=1000)
    app.config.update(COMMENTS_RATE_PER_POST=1000, COMMENTS_MODERATION="none")
    with app.app_context():
        save_post(PostFields(title="文章", source="正文", slug="open"), author="a")
    client = logged_in(app)
    reader = app.test_client()
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    answers: dict[tuple[str, str, str], int] = {}
    for name, value in RAW_VALUES.items():
        for key in ("title", "source", "published_at", "series_order", "tags"):
            fields = {"title": "t", "source": "s", "action": "draft", key: value}
            token = csrf_token(client, "/admin/posts/new")
            data = raw_form(csrf_token=token, **fields)
            response = client.post("/admin/posts/new", data=data, headers=form_type)
            answers[("editor", key, name)] = response.status_code
        for key in ("name", "body", "email", "website", "parent"):
            fields = {"name": "读者", "body": "写得好", key: value}
            token = form_token(reader, "/posts/open/")
            response = reader.post(
                "/posts/open/comments",
                data=raw_form(token=token, **fields),
                headers={**form_type, "Origin": ORIGIN},
            )
            answers[("comment", key, name)] = response.status_code
        preview = reader.post(
            "/posts/open/comments/preview",
            data=raw_form(body=value),
            headers={**form_type, "Origin": ORIGIN},
        )
        answers[("comment preview", "body", name)] = preview.status_code
    server_errors = {door: status for door, status in answers.items() if status >= 500}
    assert server_errors == {}
    saved = [door for door, status in answers.items() if door[0] == "editor" and status == 302]
    with app.app_context():
        # The post made above, and the drafts whose values were fine where they were used
        # (a title that looks like a date): none of them holds a replaced or raw byte.
        assert post_count(app) == 1 + len(saved)
        texts = [t for post in db.session.scalars(select(Post)) for t in (post.title, post.source)]
        stored = [*texts, *db.session.scalars(select(Comment.body_html))]
    # A value that is not malformed where it is used (a date-like name, a big number as
    # a body) may be stored; nothing that is NUL, a surrogate or invalid UTF-8 is.
    for key, name in (("body", "NUL"), ("body", "lone surrogate"), ("body", "invalid UTF-8")):
        assert 400 <= answers[("comment", key, name)] < 500, (key, name)
    for key in ("title", "source", "tags"):
        for name in ("NUL", "lone surrogate", "invalid UTF-8"):
            assert 400 <= answers[("editor", key, name)] < 500, (key, name)
    assert answers[("editor", "published_at", "year 1 +14:00")] == 400
    assert answers[("editor", "series_order", "integer beyond 64 bits")] == 400
    assert [text for text in stored if any(c in text for c in ("\x00", "\ufffd", "%"))] == []
