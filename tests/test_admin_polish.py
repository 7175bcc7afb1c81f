"""Admin polish: Chinese messages naming the field, sizes in KB/MB, times in the site's
time zone, a notice for a taken slug, a banner for broken internal links, and the
preview in the site theme's styles."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime

import pytest
from admin_support import create_user, csrf_token, editor_form, find, find_all, login, post_form
from flask import Flask
from flask.testing import FlaskClient

from blog.admin.messages import field_message, human_size
from blog.models import Post, Revision, db
from blog.validation import FieldError
from tests.test_admin_uploads import png_bytes


@pytest.fixture
def client(make_app: Callable[..., Flask]) -> FlaskClient:
    app = make_app(TIMEZONE="Asia/Shanghai", THEME="transmission")
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def save_new(client: FlaskClient, **fields: str) -> tuple[int, str]:
    response = post_form(client, "/admin/posts/new", editor_form(**fields))
    assert response.status_code == 302, response.get_data(as_text=True)
    post_id = int(response.headers["Location"].rstrip("/").split("/")[-2])
    return post_id, client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(
    ("key", "reason", "expected"),
    [
        ("title", "must not be empty", "标题：不能为空"),
        ("title", "is longer than 500 characters", "标题：不能超过 500 个字符"),
        (
            "slug",
            "slug 'a/b' must be a single path segment without '/', '\\' or '..'",
            "网址别名（slug）：只能是一段路径",
        ),
        ("published_at", "'x' is not a date (use 2026-01-31T10:00)", "发布时间：不是有效的日期"),
        (
            "source",
            "contains a NUL character (U+0000) at position 7",
            "正文：第 7 个字符是不能保存的空字符",
        ),
        (
            "source",
            "post is 3,145,728 bytes; the limit is 2,000,000 (MAX_POST_BYTES)",
            "正文：大小为 3 MB，超过了 1.9 MB 的上限",
        ),
        (
            "tags",
            "at most 1000 tags per post, got 1200",
            "标签：每篇文章最多 1000 个标签（现有 1200 个）",
        ),
        ("source", "something new went wrong", "正文：something new went wrong"),
    ],
)
def test_field_errors_are_chinese_and_name_the_field(key: str, reason: str, expected: str) -> None:
    assert field_message(FieldError(key, reason)).startswith(expected)


def test_sizes_read_in_kb_and_mb() -> None:
    assert human_size(10 * 1024 * 1024) == "10 MB"
    assert human_size(1536) == "1.5 KB"
    assert human_size(1000) == "1,000 字节"
    assert human_size(3 * 1024**3) == "3 GB"


def test_editor_shows_the_empty_title_in_chinese(client: FlaskClient) -> None:
    response = post_form(client, "/admin/posts/new", editor_form(title="  ", source="正文"))
    assert response.status_code == 400
    alert = find(response.data, "p", role="alert")
    assert alert.attrs["data-field"] == "title"
    assert alert.text == "标题：不能为空"
    assert "must not" not in response.get_data(as_text=True)


def test_too_large_upload_names_the_limit_in_kb(make_app: Callable[..., Flask]) -> None:
    app = make_app(UPLOAD_MAX_BYTES=2048)
    create_user(app)
    client = app.test_client()
    login(client)
    token = csrf_token(client, "/admin/uploads/")
    response = client.post(
        "/admin/uploads/",
        data={"csrf_token": token, "file": (io.BytesIO(png_bytes() + b"\x00" * 4000), "a.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (400, 413)
    assert "2 KB" in find(response.data, "p", role="alert").text


def test_revision_times_are_in_the_site_time_zone(client: FlaskClient) -> None:
    post_id, _ = save_new(client, title="时区")
    app = client.application
    with app.app_context():
        revision = db.session.query(Revision).filter_by(post_id=post_id).one()
        revision.created_at = datetime(2026, 1, 10, 20, 30)  # 2026-01-11 04:30 in Shanghai
        db.session.commit()
    page = client.get(f"/admin/posts/{post_id}/revisions/").get_data(as_text=True)
    assert "2026-01-11 04:30" in page and "UTC" not in page
    times = find_all(page, "time")
    assert times and times[0].attrs["datetime"].startswith("2026-01-10T20:30")


def test_taken_slug_is_reported_not_silently_changed(client: FlaskClient) -> None:
    first_id, first_page = save_new(client, title="LoRA 笔记", slug="lora-notes")
    assert "已被另一篇文章使用" not in first_page
    second_id, page = save_new(client, title="LoRA 笔记二", slug="lora-notes")
    notices = [e.text for e in find_all(page, "p") if "flash-warning" in e.attrs.get("class", "")]
    assert any("「lora-notes」已被另一篇文章使用" in n and "「lora-notes-2」" in n for n in notices)
    # A title whose generated slug is taken is reported as well.
    _third, page = save_new(client, title="重复的标题")
    assert "已被另一篇文章使用" not in page
    _fourth, page = save_new(client, title="重复的标题")
    assert "网址别名「chong-fu-de-biao-ti」已被另一篇文章使用" in page
    assert "「chong-fu-de-biao-ti-2」" in page
    assert first_id != second_id


def test_editor_lists_internal_links_that_do_not_open(client: FlaskClient) -> None:
    save_new(client, title="存在的文章", slug="exists", action="publish")
    save_new(client, title="草稿文章", slug="still-draft")
    source = (
        "[好](/posts/exists/) [坏](/posts/no-such-post/) [草稿](/posts/still-draft/) "
        "[外站](https://example.com/posts/nothing/) [标签](/tags/x/) "
        "[繁体](/zh-tw/posts/missing-too/)"
    )
    post_id, page = save_new(client, title="有链接的文章", source=source)
    banner = [e for e in find_all(page, "section") if "broken-links" in e.attrs.get("class", "")]
    assert len(banner) == 1
    assert "3 个站内链接打不开" in page
    for href in ("/posts/no-such-post/", "/posts/still-draft/", "/zh-tw/posts/missing-too/"):
        assert f'<code translate="no">{href}</code>' in page
    assert '<code translate="no">/posts/exists/</code>' not in page
    assert "example.com" not in page.split("broken-links", 1)[1].split("</section>", 1)[0]
    with client.application.app_context():
        assert db.session.get(Post, post_id) is not None


def test_preview_uses_the_theme_styles_scoped_to_the_pane(client: FlaskClient) -> None:
    post_id, page = save_new(client, title="预览")
    links = [e.attrs["href"] for e in find_all(page, "link") if e.attrs.get("rel") == "stylesheet"]
    assert "/admin/theme-preview.css" in links
    assert find_all(page, "div", **{"class": "theme-preview"})
    css = client.get("/admin/theme-preview.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    text = css.get_data(as_text=True)
    assert text.count("@scope (.theme-preview)") == 1
    assert ":root" not in text and "\nbody {" not in text
    assert "--accent: #5ee38f" in text  # the transmission theme's own colour
    assert post_id
