"""Revisions, edit conflicts and the trash, through the admin's HTTP interface."""

from __future__ import annotations

import pytest
from admin_support import create_user, editor_inputs, find, find_all, login, new_post, post_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.models import Post, Revision, db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    create_user(app)
    create_user(app, "second")
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def revisions_of(app: Flask, post_id: int) -> list[Revision]:
    with app.app_context():
        rows = db.session.scalars(
            select(Revision).where(Revision.post_id == post_id).order_by(Revision.number)
        ).all()
        db.session.expunge_all()
        return list(rows)


def source_of(app: Flask, post_id: int) -> str:
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None
        return post.source


def test_every_save_appends_a_revision(app: Flask, client: FlaskClient) -> None:
    post_id = new_post(client, "第一版")
    client.post(
        f"/admin/posts/{post_id}/edit", data={**editor_inputs(client, post_id), "source": "第二版"}
    )
    assert [r.source for r in revisions_of(app, post_id)] == ["第一版", "第二版"]
    listing = client.get(f"/admin/posts/{post_id}/revisions/")
    assert listing.status_code == 200
    assert len(find_all(listing.data, "form")) >= 2


def test_revision_page_shows_a_diff_table_against_the_current_text(client: FlaskClient) -> None:
    post_id = new_post(client, "相同的行\n旧的行\n")
    client.post(
        f"/admin/posts/{post_id}/edit",
        data={**editor_inputs(client, post_id), "source": "相同的行\n新的行\n"},
    )
    page = client.get(f"/admin/posts/{post_id}/revisions/1/")
    assert page.status_code == 200
    removed = [row for row in find_all(page.data, "tr") if row.attrs.get("class") == "diff-del"]
    added = [row for row in find_all(page.data, "tr") if row.attrs.get("class") == "diff-ins"]
    assert len(removed) == 1 and len(added) == 1
    cells = [c.text for c in find_all(page.data, "td") if c.attrs.get("class") == "diff-text"]
    assert cells == ["相同的行", "旧的行", "新的行"]


def test_diff_escapes_markup_in_the_source(client: FlaskClient) -> None:
    post_id = new_post(client, "<script>alert(1)</script>")
    client.post(
        f"/admin/posts/{post_id}/edit", data={**editor_inputs(client, post_id), "source": "安全"}
    )
    page = client.get(f"/admin/posts/{post_id}/revisions/1/").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_restoring_a_revision_saves_it_as_a_new_revision(app: Flask, client: FlaskClient) -> None:
    post_id = new_post(client, "原文")
    client.post(
        f"/admin/posts/{post_id}/edit", data={**editor_inputs(client, post_id), "source": "改坏了"}
    )
    response = post_form(
        client,
        f"/admin/posts/{post_id}/revisions/1/restore",
        {"version": "2"},
        token_from=f"/admin/posts/{post_id}/revisions/",
    )
    assert response.status_code == 302
    assert source_of(app, post_id) == "原文"
    assert [r.source for r in revisions_of(app, post_id)] == ["原文", "改坏了", "原文"]
    assert client.get("/posts/note/").status_code == 200


def test_restore_without_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    post_id = new_post(client, "原文")
    client.post(
        f"/admin/posts/{post_id}/edit", data={**editor_inputs(client, post_id), "source": "新文"}
    )
    response = client.post(f"/admin/posts/{post_id}/revisions/1/restore", data={"version": "2"})
    assert response.status_code == 400
    assert source_of(app, post_id) == "新文"


def test_second_editor_gets_a_conflict_with_a_diff_instead_of_overwriting(
    app: Flask, client: FlaskClient
) -> None:
    post_id = new_post(client, "共同的开头\n")
    other = app.test_client()
    assert login(other, name="second").status_code == 302
    mine, theirs = editor_inputs(client, post_id), editor_inputs(other, post_id)
    first = other.post(
        f"/admin/posts/{post_id}/edit", data={**theirs, "source": "共同的开头\n他们的修改\n"}
    )
    assert first.status_code == 302
    second = client.post(
        f"/admin/posts/{post_id}/edit", data={**mine, "source": "共同的开头\n我的修改\n"}
    )
    assert second.status_code == 409
    assert source_of(app, post_id) == "共同的开头\n他们的修改\n"
    assert "我的修改" in find(second.data, "textarea", name="source").text
    cells = [c.text for c in find_all(second.data, "td") if c.attrs.get("class") == "diff-text"]
    assert "他们的修改" in cells and "我的修改" in cells
    assert find(second.data, "input", name="version").attrs["value"] == "2"


def test_saving_again_after_a_conflict_keeps_the_authors_version(
    app: Flask, client: FlaskClient
) -> None:
    post_id = new_post(client, "开头")
    stale = editor_inputs(client, post_id)
    client.post(
        f"/admin/posts/{post_id}/edit",
        data={**editor_inputs(client, post_id), "source": "别处的修改"},
    )
    conflict = client.post(f"/admin/posts/{post_id}/edit", data={**stale, "source": "我的最终版"})
    assert conflict.status_code == 409
    version = find(conflict.data, "input", name="version").attrs["value"]
    again = client.post(
        f"/admin/posts/{post_id}/edit", data={**stale, "version": version, "source": "我的最终版"}
    )
    assert again.status_code == 302
    assert source_of(app, post_id) == "我的最终版"


def test_delete_moves_to_trash_and_restore_brings_it_back(app: Flask, client: FlaskClient) -> None:
    post_id = new_post(client, "正文")
    assert post_form(client, f"/admin/posts/{post_id}/trash", {}).status_code == 302
    assert client.get("/posts/note/").status_code == 404
    trash = client.get("/admin/trash/")
    assert [
        row.attrs["data-post-id"]
        for row in find_all(trash.data, "tr")
        if "data-post-id" in row.attrs
    ] == [str(post_id)]
    assert post_form(client, f"/admin/trash/{post_id}/restore", {}).status_code == 302
    assert client.get("/posts/note/").status_code == 200


def test_empty_trash_first_shows_a_confirmation_and_deletes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    post_id = new_post(client, "正文")
    post_form(client, f"/admin/posts/{post_id}/trash", {})
    page = client.get("/admin/trash/empty")
    assert page.status_code == 200
    assert find(page.data, "input", name="confirm")
    assert find(page.data, "form", action="/admin/trash/empty").attrs["method"] == "post"
    with app.app_context():
        assert db.session.get(Post, post_id) is not None


def test_empty_trash_without_confirmation_deletes_nothing(app: Flask, client: FlaskClient) -> None:
    post_id = new_post(client, "正文")
    post_form(client, f"/admin/posts/{post_id}/trash", {})
    response = post_form(client, "/admin/trash/empty", {}, token_from="/admin/trash/empty")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Post, post_id) is not None


def test_empty_trash_without_csrf_token_deletes_nothing(app: Flask, client: FlaskClient) -> None:
    post_id = new_post(client, "正文")
    post_form(client, f"/admin/posts/{post_id}/trash", {})
    assert client.post("/admin/trash/empty", data={"confirm": "empty"}).status_code == 400
    with app.app_context():
        assert db.session.get(Post, post_id) is not None


def test_confirmed_empty_trash_removes_only_trashed_posts(app: Flask, client: FlaskClient) -> None:
    trashed = new_post(client, "丢弃", slug="gone")
    kept = new_post(client, "保留", slug="kept")
    post_form(client, f"/admin/posts/{trashed}/trash", {})
    response = post_form(
        client, "/admin/trash/empty", {"confirm": "empty"}, token_from="/admin/trash/empty"
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Post, trashed) is None
        assert db.session.get(Post, kept) is not None
        assert db.session.scalar(select(Revision).where(Revision.post_id == trashed)) is None


def test_trash_requires_csrf_token(app: Flask, client: FlaskClient) -> None:
    post_id = new_post(client, "正文")
    assert client.post(f"/admin/posts/{post_id}/trash").status_code == 400
    assert client.get("/posts/note/").status_code == 200
