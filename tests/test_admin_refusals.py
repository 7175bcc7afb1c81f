"""A refused save in the admin, on SQLite and PostgreSQL: the author keeps the input and is
told why; nothing half-written is stored; the session is usable for the next save."""

from __future__ import annotations

import pytest
from admin_support import (
    create_user,
    editor_form,
    editor_inputs,
    find,
    find_all,
    login,
    new_post,
    post_form,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from werkzeug.test import TestResponse

from blog.admin.refusals import ANSWER_ATTRIBUTE
from blog.comments.models import PENDING, Comment
from blog.models import Link, Post, Revision, db

REFUSAL = "数据库没有接受这次保存"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def refuse_inserts(app: Flask, table: str) -> None:
    """Make the database refuse every new row of ``table``, as a full disk would."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.session.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} refused'); END"
                )
            )
        else:
            db.session.execute(
                text(
                    f"CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS "
                    f"$$ BEGIN RAISE EXCEPTION '{table} refused'; END $$"
                )
            )
            db.session.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
                )
            )
        db.session.commit()


def accept_inserts(app: Flask, table: str) -> None:
    with app.app_context():
        db.session.execute(
            text(f"DROP TRIGGER refuse_{table}" + ("" if _sqlite(app) else f" ON {table}"))
        )
        db.session.commit()


def _sqlite(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


def stored_state(app: Flask, post_id: int) -> tuple[str, str, int, list[int]]:
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None
        numbers = db.session.scalars(
            select(Revision.number).where(Revision.post_id == post_id).order_by(Revision.number)
        ).all()
        return post.title, post.source, post.version, list(numbers)


def test_an_edit_the_database_refuses_keeps_the_input_and_stores_nothing(
    app: Flask, client: FlaskClient
) -> None:
    post_id = new_post(client, "第一版")
    before = stored_state(app, post_id)
    refuse_inserts(app, "revisions")
    form = {**editor_inputs(client, post_id), "title": "新标题", "source": "写了很久的第二版"}
    response = client.post(f"/admin/posts/{post_id}/edit", data=form)
    assert response.status_code == 500
    alerts = [p.text for p in find_all(response.data, "p", role="alert")]
    assert any(REFUSAL in alert for alert in alerts), alerts
    assert find(response.data, "textarea", name="source").text.strip() == "写了很久的第二版"
    assert find(response.data, "input", name="title").attrs["value"] == "新标题"
    assert find(response.data, "input", name="version").attrs["value"] == form["version"]
    # Neither the post's new text nor its revision: the body and the revision are one write.
    assert stored_state(app, post_id) == before
    assert client.get("/posts/note/").get_data(as_text=True).count("写了很久的第二版") == 0
    # The same form, sent again once the database accepts writes, is saved.
    accept_inserts(app, "revisions")
    again = client.post(f"/admin/posts/{post_id}/edit", data=form)
    assert again.status_code == 302
    assert stored_state(app, post_id) == ("新标题", "写了很久的第二版", 2, [1, 2])


def test_a_new_post_the_database_refuses_is_not_stored_and_the_text_is_kept(
    app: Flask, client: FlaskClient
) -> None:
    refuse_inserts(app, "posts")
    response = post_form(
        client, "/admin/posts/new", editor_form(title="新文章", source="草稿的全文", tags="甲, 乙")
    )
    assert response.status_code == 500
    assert find(response.data, "textarea", name="source").text.strip() == "草稿的全文"
    assert find(response.data, "input", name="tags").attrs["value"] == "甲, 乙"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 0
        assert db.session.scalar(select(func.count()).select_from(Revision)) == 0


def test_a_restore_the_database_refuses_goes_back_to_the_revision_saying_so(
    app: Flask, client: FlaskClient
) -> None:
    post_id = new_post(client, "原文")
    client.post(
        f"/admin/posts/{post_id}/edit", data={**editor_inputs(client, post_id), "source": "改坏了"}
    )
    before = stored_state(app, post_id)
    refuse_inserts(app, "revisions")
    response = post_form(
        client,
        f"/admin/posts/{post_id}/revisions/1/restore",
        {"version": "2"},
        token_from=f"/admin/posts/{post_id}/revisions/",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/posts/{post_id}/revisions/1/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "数据库没有接受这次恢复" in page
    assert stored_state(app, post_id) == before


def test_a_render_refusal_names_the_source_field_and_keeps_the_text(
    app: Flask, client: FlaskClient
) -> None:
    post_id = new_post(client, "原文")
    nested = "> " * 200 + "太深了"
    response = client.post(
        f"/admin/posts/{post_id}/edit", data={**editor_inputs(client, post_id), "source": nested}
    )
    assert response.status_code == 400
    assert find(response.data, "p", role="alert").attrs["data-field"] == "source"
    assert find(response.data, "textarea", name="source").text.strip() == nested
    assert stored_state(app, post_id)[1:3] == ("原文", 1)


def test_a_restore_of_a_revision_too_costly_to_render_is_refused_with_the_reason(
    app: Flask, client: FlaskClient
) -> None:
    post_id = new_post(client, "原文")
    with app.app_context():
        # A revision stored before the nesting limit existed.
        db.session.execute(
            text("UPDATE revisions SET source = :s WHERE post_id = :p AND number = 1"),
            {"s": "> " * 200 + "旧文", "p": post_id},
        )
        db.session.commit()
    response = post_form(
        client,
        f"/admin/posts/{post_id}/revisions/1/restore",
        {"version": "1"},
        token_from=f"/admin/posts/{post_id}/revisions/",
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "无法恢复这一版" in page and "nested" in page
    assert stored_state(app, post_id)[1:] == ("原文", 1, [1])


def test_only_saving_views_answer_refusals_themselves(app: Flask) -> None:
    answering = sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, ANSWER_ATTRIBUTE, None) is not None
    )
    assert answering == [
        "admin.link_save",
        "admin.restore_revision",
        "admin.save",
        "comments_admin.reply",
    ]


# --- the links page and the comment queue answer through the same handlers ---------------

LINK_FORM = {"name": "科学空间", "url": "https://kexue.fm/", "description": "苏剑林的博客"}


def save_link(client: FlaskClient, **form: str) -> TestResponse:
    data = {"name": "", "url": "", "description": "", "position": "0", **form}
    return post_form(client, "/admin/links/", data)


def stored_links(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Link.name).order_by(Link.id)))


def test_a_link_the_database_refuses_keeps_the_form_and_stores_nothing(
    app: Flask, client: FlaskClient
) -> None:
    refuse_inserts(app, "links")
    response = save_link(client, **LINK_FORM, position="10")
    assert response.status_code == 500
    alerts = [p.text for p in find_all(response.data, "p", role="alert")]
    assert any(REFUSAL in alert for alert in alerts), alerts
    assert find(response.data, "input", name="name").attrs["value"] == "科学空间"
    assert find(response.data, "input", name="url").attrs["value"] == "https://kexue.fm/"
    assert find(response.data, "input", name="position").attrs["value"] == "10"
    assert stored_links(app) == []
    accept_inserts(app, "links")
    assert save_link(client, **LINK_FORM).status_code == 302
    assert stored_links(app) == ["科学空间"]


def test_a_wrong_link_field_is_named_and_the_session_stays_usable(
    app: Flask, client: FlaskClient
) -> None:
    response = save_link(client, **{**LINK_FORM, "position": "十"})
    assert response.status_code == 400
    alerts = [p.text for p in find_all(response.data, "p", role="alert")]
    assert alerts == ["排序必须是整数，例如 0、10、20（小的在前）。"]
    assert find(response.data, "input", name="name").attrs["value"] == "科学空间"
    response = save_link(client, **{**LINK_FORM, "name": ""})
    assert [p.text for p in find_all(response.data, "p", role="alert")] == ["名称不能为空。"]
    assert save_link(client, **LINK_FORM).status_code == 302
    assert stored_links(app) == ["科学空间"]


def a_comment(app: Flask, client: FlaskClient) -> int:
    post_id = new_post(client, "正文")
    with app.app_context():
        comment = Comment(
            uid="c1", post_id=post_id, name="读者", source="请问作者", body_hash="h", status=PENDING
        )
        db.session.add(comment)
        db.session.commit()
        return comment.id


def replies(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Comment.source).where(Comment.is_author)))


def reply(client: FlaskClient, comment_id: int, body: str) -> str:
    response = post_form(client, f"/admin/comments/{comment_id}/reply", {"body": body})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/comments/?status=pending")
    return client.get("/admin/comments/").get_data(as_text=True)


def test_a_reply_the_database_refuses_is_not_stored_and_the_queue_says_so(
    app: Flask, client: FlaskClient
) -> None:
    comment_id = a_comment(app, client)
    refuse_inserts(app, "comments")
    assert "数据库没有接受这条回复" in reply(client, comment_id, "谢谢提问")
    assert replies(app) == []
    accept_inserts(app, "comments")
    assert "已回复。" in reply(client, comment_id, "谢谢提问")
    assert replies(app) == ["谢谢提问"]


def test_an_empty_reply_is_refused_with_the_reason(app: Flask, client: FlaskClient) -> None:
    comment_id = a_comment(app, client)
    assert "回复内容不能为空。" in reply(client, comment_id, "  ")
    assert replies(app) == []
    assert "已回复。" in reply(client, comment_id, "好")
    assert replies(app) == ["好"]
