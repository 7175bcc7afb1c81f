"""Secret preview links: created and revoked in the editor, opened without a login,
expiring, never cached and never indexed (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from admin_support import create_user, find_all, login, post_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.models import DRAFT, Post, PreviewLink, db, utcnow
from tests.test_themes import parse

DRAFT_TEXT = "审阅者才能看到的草稿正文"


def logged_in(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def create_link(client: FlaskClient, post_id: int, days: str = "7") -> str:
    response = post_form(
        client,
        f"/admin/posts/{post_id}/preview-links",
        {"days": days},
        f"/admin/posts/{post_id}/edit",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/posts/{post_id}/edit#preview-links")
    editor = client.get(f"/admin/posts/{post_id}/edit").get_data(as_text=True)
    urls = [
        e.attrs["value"]
        for e in find_all(editor, "input")
        if "preview-link-url" in e.attrs.get("class", "")
    ]
    assert urls, "the editor lists the new link"
    return urls[0].removeprefix("http://localhost")


def assert_private(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert "no-store" in headers["Cache-Control"]
    assert "noindex" in headers["X-Robots-Tag"]
    assert headers["Referrer-Policy"] == "no-referrer"


def test_a_draft_opens_through_its_link_without_login(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    draft = make_post(f"## 小节\n\n{DRAFT_TEXT}", title="未发布的草稿", status=DRAFT)
    editor = logged_in(app)
    path = create_link(editor, draft.id)
    assert path.startswith("/preview/")

    reader = app.test_client()
    assert reader.get(f"/posts/{draft.slug}/").status_code == 404
    response = reader.get(path)
    assert response.status_code == 200
    assert_private(response)
    html = response.get_data(as_text=True)
    assert DRAFT_TEXT in html and "未发布的草稿" in html
    page = parse(html)
    robots = page.find("meta", name="robots")
    assert [m.attrs["content"] for m in robots] == ["noindex, nofollow"]
    # Nothing that would publish the secret URL or invite comments on a draft.
    assert not page.find("link", rel="canonical") and not page.find("meta", property="og:url")
    assert not page.find("form")
    banner = page.with_class("preview-banner")
    assert banner and "尚未发布" in banner[0].text
    with app.app_context():
        link = db.session.scalars(select(PreviewLink)).one()
        assert link.last_used_at is not None and link.created_by == "editor"


def test_the_preview_is_never_cached(app: Flask, make_post: Callable[..., Post]) -> None:
    draft = make_post("第一版", title="会改的草稿", status=DRAFT)
    path = create_link(logged_in(app), draft.id)
    reader = app.test_client()
    assert "第一版" in reader.get(path).get_data(as_text=True)
    with app.app_context():
        post = db.session.get(Post, draft.id)
        assert post is not None
        post.body_html = "<p>第二版</p>"
        db.session.commit()
    assert "第二版" in reader.get(path).get_data(as_text=True)


def test_revoked_expired_tampered_and_trashed_links_are_refused(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    draft = make_post(DRAFT_TEXT, title="草稿", status=DRAFT)
    editor = logged_in(app)
    path = create_link(editor, draft.id)
    reader = app.test_client()
    assert reader.get(path).status_code == 200

    token = path.split("/")[2]
    link_id, secret = token.split("-")
    wrong = "0" if secret[0] != "0" else "1"
    for bad in (
        f"/preview/{link_id}-{wrong}{secret[1:]}/",
        f"/preview/{int(link_id) + 1}-{secret}/",
        f"/preview/{link_id}/",
        "/preview/abc-def/",
        f"/preview/{'9' * 40}-{secret}/",
    ):
        response = reader.get(bad)
        assert response.status_code == 404, bad
        assert_private(response)
        assert DRAFT_TEXT not in response.get_data(as_text=True)

    with app.app_context():
        link = db.session.scalars(select(PreviewLink)).one()
        link.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert reader.get(path).status_code == 404
    with app.app_context():
        link = db.session.scalars(select(PreviewLink)).one()
        link.expires_at = utcnow() + timedelta(days=1)
        db.session.commit()
    assert reader.get(path).status_code == 200

    revoke = post_form(
        editor, f"/admin/preview-links/{link_id}/revoke", {}, f"/admin/posts/{draft.id}/edit"
    )
    assert revoke.status_code == 302
    response = reader.get(path)
    assert response.status_code == 404 and DRAFT_TEXT not in response.get_data(as_text=True)
    editor_html = editor.get(f"/admin/posts/{draft.id}/edit").get_data(as_text=True)
    assert "目前没有有效的预览链接" in editor_html

    second = create_link(editor, draft.id, days="1")
    assert reader.get(second).status_code == 200
    assert post_form(editor, f"/admin/posts/{draft.id}/trash", {}).status_code == 302
    assert reader.get(second).status_code == 404


def test_links_need_a_login_csrf_and_a_known_lifetime(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    draft = make_post(DRAFT_TEXT, title="草稿", status=DRAFT)
    anonymous = app.test_client()
    refused = anonymous.post(f"/admin/posts/{draft.id}/preview-links", data={"days": "7"})
    assert refused.status_code in (302, 401, 403)
    editor = logged_in(app)
    no_csrf = editor.post(f"/admin/posts/{draft.id}/preview-links", data={"days": "7"})
    assert no_csrf.status_code == 400
    odd = post_form(editor, f"/admin/posts/{draft.id}/preview-links", {"days": "3650"})
    assert odd.status_code == 302
    assert "有效期只能选择" in editor.get(odd.headers["Location"]).get_data(as_text=True)
    assert post_form(editor, "/admin/posts/999/preview-links", {"days": "7"}).status_code == 404
    with app.app_context():
        assert db.session.scalars(select(PreviewLink)).all() == []


def test_link_works_in_every_variant(make_app: Callable[..., Flask]) -> None:
    from blog.posts import PostFields, save_post

    app = make_app()
    with app.app_context():
        draft = save_post(
            PostFields(title="简体草稿", source="这是软件的信息。", status=DRAFT), author="t"
        )
        draft_id = draft.id
    path = create_link(logged_in(app), draft_id)
    reader = app.test_client()
    for prefix in ("/zh-hant", "/zh-tw", "/zh-hk"):
        response = reader.get(prefix + path)
        assert response.status_code == 200, prefix
        assert_private(response)
        assert "軟體" in response.get_data(as_text=True) or "軟件" in response.get_data(
            as_text=True
        )


def test_a_drafts_meta_line_does_not_start_with_a_separator(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    draft = make_post("草稿正文。" * 400, title="无日期草稿", status=DRAFT, category="笔记")
    path = create_link(logged_in(app), draft.id)
    page = parse(app.test_client().get(path).get_data(as_text=True))
    meta = page.with_class("post-meta")[0]
    assert not meta.text.strip().startswith("·"), meta.text
    # Separators sit between items only: category · reading time.
    assert meta.text.count("·") == 1 and "分钟" in meta.text
