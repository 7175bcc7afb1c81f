"""The links page (友链, issue 19 item 4): admin CRUD with avatar uploads, shown at /links/."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from blog.models import Link, db
from tests.admin_support import create_user, csrf_token, login
from tests.test_admin_uploads import png_bytes, png_with_header


def admin_client(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    login(client)
    return client


def save_link(
    client: FlaskClient, path: str = "/admin/links/", avatar: bytes | None = None, **form: str
) -> TestResponse:
    data: dict[str, object] = {
        "csrf_token": csrf_token(client, "/admin/links/"),
        "name": "",
        "url": "",
        "description": "",
        "position": "0",
        **form,
    }
    if avatar is not None:
        data["avatar"] = (io.BytesIO(avatar), "avatar.png")
    return client.post(path, data=data, content_type="multipart/form-data")


def card_names(html: str) -> list[str]:
    return re.findall(r'<span class="link-name">([^<]*)</span>', html)


def test_admin_adds_edits_orders_and_deletes_links(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    client = admin_client(app)
    reader = app.test_client()
    assert reader.get("/links/").status_code == 404  # nothing to show yet
    assert "/links/" not in reader.get("/").get_data(as_text=True)

    response = save_link(
        client,
        name="科学空间",
        url="https://kexue.fm/",
        description="苏剑林的博客",
        position="10",
        avatar=png_bytes(8, 8),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert (
        save_link(client, name="阮一峰", url="https://www.ruanyifeng.com/blog/").status_code == 302
    )

    page = reader.get("/links/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert card_names(html) == ["阮一峰", "科学空间"]  # position 0 before 10
    assert 'href="https://kexue.fm/"' in html and "苏剑林的博客" in html
    avatar = re.search(r'class="link-avatar" src="(/uploads/[^"]+)"', html)
    assert avatar is not None
    assert reader.get(avatar.group(1)).status_code == 200
    assert 'href="/links/"' in reader.get("/").get_data(as_text=True)  # in the site menu
    assert "友鏈" in reader.get("/zh-tw/links/").get_data(as_text=True)
    assert "/links/" in reader.get("/sitemap.xml").get_data(as_text=True)

    with app.app_context():
        first = db.session.scalars(select(Link).where(Link.name == "科学空间")).one().id
    response = save_link(
        client,
        f"/admin/links/{first}",
        name="科学空间",
        url="https://kexue.fm/",
        description="新的简介",
        position="-1",
        remove_avatar="1",
    )
    assert response.status_code == 302
    html = reader.get("/links/").get_data(as_text=True)
    assert card_names(html) == ["科学空间", "阮一峰"] and "新的简介" in html
    assert 'class="link-avatar"' not in html.split("阮一峰")[0].replace("link-avatar-empty", "")

    delete = client.post(
        f"/admin/links/{first}/delete", data={"csrf_token": csrf_token(client, "/admin/links/")}
    )
    assert delete.status_code == 302
    assert card_names(reader.get("/links/").get_data(as_text=True)) == ["阮一峰"]


def test_bad_link_input_is_refused_by_field_and_nothing_is_saved(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(UPLOAD_MAX_PIXELS=1_000_000)
    client = admin_client(app)
    for form, avatar, message in (
        ({"name": "", "url": "https://a.example/"}, None, "名称不能为空"),
        ({"name": "坏", "url": "javascript:alert(1)"}, None, "网址必须是完整的"),
        ({"name": "坏", "url": "https://a.example/", "position": "第一"}, None, "排序必须是整数"),
        ({"name": "坏", "url": "https://a.example/"}, b"not an image", "头像"),
        ({"name": "坏", "url": "https://a.example/"}, png_with_header(50_000, 50_000), "头像"),
        ({"name": "x" * 101, "url": "https://a.example/"}, None, "名称不能超过"),
    ):
        response = save_link(client, avatar=avatar, **form)
        assert response.status_code == 400, form
        text = response.get_data(as_text=True)
        assert message in text, (form, text[-800:])
    with app.app_context():
        assert db.session.scalar(select(Link.id)) is None


def test_link_changes_need_login_and_csrf(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    client = admin_client(app)
    anonymous = app.test_client()
    refused = anonymous.post("/admin/links/", data={"name": "x", "url": "https://a.example/"})
    assert refused.status_code in (302, 400, 403)
    no_token = client.post("/admin/links/", data={"name": "x", "url": "https://a.example/"})
    assert no_token.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Link.id)) is None


def test_static_build_writes_the_links_page(
    tmp_path: Path, make_app: Callable[..., Flask], instance: Path
) -> None:
    from tests.test_build import run_build

    app = make_app()
    client = admin_client(app)
    assert save_link(client, name="友站", url="https://friend.example/").status_code == 302
    out = tmp_path / "out"
    result = run_build(instance, out)
    assert result.exit_code == 0, result.output
    for prefix in ("", "zh-tw/"):
        page = out / f"{prefix}links/index.html"
        assert page.is_file()
        assert "https://friend.example/" in page.read_text("utf-8")
