"""Admin authoring through the HTTP client: editor, preview, statuses, slugs, pages, filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from admin_support import create_user, csrf_token, editor_form, find, find_all, login, post_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.dates import to_local
from blog.models import Post, db, utcnow

MATH_AND_CODE = "能量 $E = mc^2$ 守恒。\n\n```python\nprint('你好')\n```\n"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def stored(app: Flask, **where: Any) -> Post:
    with app.app_context():
        post = db.session.scalars(select(Post).filter_by(**where)).one()
        db.session.expunge(post)
        return post


def save_new(client: FlaskClient, **fields: str) -> int:
    response = post_form(client, "/admin/posts/new", editor_form(**fields))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].split("/")[-2])


def edit(client: FlaskClient, post_id: int, **fields: str) -> Any:
    page = client.get(f"/admin/posts/{post_id}/edit")
    form = {
        e.attrs["name"]: e.attrs.get("value", "")
        for e in find_all(page.data, "input")
        if e.attrs.get("name") and e.attrs.get("type") != "checkbox"
    }
    form["source"] = find(page.data, "textarea", name="source").text.removeprefix("\n")
    form["lang"] = "zh-Hans"
    form["kind"] = "post"
    form.update(fields)
    return client.post(f"/admin/posts/{post_id}/edit", data=form)


def test_editor_textarea_is_marked_translate_no(client: FlaskClient) -> None:
    textarea = find(client.get("/admin/posts/new").data, "textarea", name="source")
    assert textarea.attrs["translate"] == "no"


def test_save_as_draft_keeps_the_post_off_the_site(app: Flask, client: FlaskClient) -> None:
    save_new(client, title="草稿一篇", slug="draft-one", action="draft")
    assert stored(app, slug="draft-one").status == "draft"
    assert client.get("/posts/draft-one/").status_code == 404
    assert "草稿一篇" not in client.get("/").get_data(as_text=True)


def test_publish_now_puts_the_post_on_the_home_page(app: Flask, client: FlaskClient) -> None:
    save_new(client, title="发布一篇", slug="published-one", source=MATH_AND_CODE, action="publish")
    post = stored(app, slug="published-one")
    assert post.status == "published"
    assert "发布一篇" in client.get("/").get_data(as_text=True)
    assert client.get("/posts/published-one/").status_code == 200


def test_schedule_for_later_waits_for_its_time(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        later = to_local(utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    save_new(client, title="定时一篇", slug="later", published_at=later, action="schedule")
    assert stored(app, slug="later").status == "scheduled"
    assert client.get("/posts/later/").status_code == 404


def test_schedule_without_a_future_date_is_refused_naming_the_field(
    app: Flask, client: FlaskClient
) -> None:
    response = post_form(
        client, "/admin/posts/new", editor_form(title="没有时间", action="schedule")
    )
    assert response.status_code == 400
    assert find(response.data, "p", role="alert").attrs["data-field"] == "published_at"
    with app.app_context():
        assert db.session.scalar(select(Post).where(Post.title == "没有时间")) is None


def test_unpublish_takes_the_post_down(app: Flask, client: FlaskClient) -> None:
    post_id = save_new(client, slug="down", action="publish")
    assert edit(client, post_id, action="draft").status_code == 302
    assert stored(app, id=post_id).status == "draft"
    assert client.get("/posts/down/").status_code == 404


def test_invalid_input_is_refused_and_the_text_is_kept(client: FlaskClient) -> None:
    response = post_form(
        client, "/admin/posts/new", editor_form(title="  ", source="我写了很久的正文")
    )
    assert response.status_code == 400
    assert find(response.data, "p", role="alert").attrs["data-field"] == "title"
    assert "我写了很久的正文" in find(response.data, "textarea", name="source").text


def test_editing_a_published_post_keeps_its_slug_unless_asked(
    app: Flask, client: FlaskClient
) -> None:
    post_id = save_new(client, slug="stable", action="publish")
    assert edit(client, post_id, slug="renamed", action="publish").status_code == 302
    assert stored(app, id=post_id).slug == "stable"


def test_changing_a_published_slug_redirects_the_old_url(app: Flask, client: FlaskClient) -> None:
    post_id = save_new(client, slug="old-name", action="publish")
    assert (
        edit(client, post_id, slug="new-name", change_slug="1", action="publish").status_code == 302
    )
    assert stored(app, id=post_id).slug == "new-name"
    response = client.get("/posts/old-name/")
    assert response.status_code == 301
    assert response.headers["Location"] == "/posts/new-name/"
    assert client.get("/posts/new-name/").status_code == 200


def test_old_slug_of_an_unpublished_post_is_not_found(client: FlaskClient) -> None:
    post_id = save_new(client, slug="first", action="publish")
    edit(client, post_id, slug="second", change_slug="1", action="publish")
    edit(client, post_id, action="draft")
    assert client.get("/posts/first/").status_code == 404


def test_preview_renders_exactly_what_the_public_page_shows(
    app: Flask, client: FlaskClient
) -> None:
    token = csrf_token(client, "/admin/posts/new")
    preview = client.post(
        "/admin/preview",
        data={"source": MATH_AND_CODE, "title": "预览", "lang": "zh-Hans", "kind": "post"},
        headers={"X-CSRFToken": token},
    )
    assert preview.status_code == 200
    html = preview.get_json()["html"]
    assert "<math" in html
    assert 'translate="no"' in html
    save_new(client, slug="same", title="预览", source=MATH_AND_CODE, action="publish")
    assert stored(app, slug="same").body_html == html
    assert html in client.get("/posts/same/").get_data(as_text=True)


def test_preview_saves_nothing(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client, "/admin/posts/new")
    client.post(
        "/admin/preview", data={"source": "正文", "title": "不保存"}, headers={"X-CSRFToken": token}
    )
    with app.app_context():
        assert db.session.scalar(select(Post).where(Post.title == "不保存")) is None


def test_preview_without_csrf_token_is_refused(client: FlaskClient) -> None:
    assert client.post("/admin/preview", data={"source": "x"}).status_code == 400


def test_preview_button_works_without_javascript(app: Flask, client: FlaskClient) -> None:
    response = post_form(client, "/admin/posts/new", editor_form(source="$x^2$", action="preview"))
    assert response.status_code == 200
    preview = response.get_data(as_text=True).split('id="preview"', 1)[1]
    assert "<math" in preview
    with app.app_context():
        assert db.session.query(Post).count() == 0


def test_saving_without_csrf_token_is_refused_and_saves_nothing(
    app: Flask, client: FlaskClient
) -> None:
    response = client.post("/admin/posts/new", data=editor_form(title="伪造"))
    assert response.status_code == 400
    with app.app_context():
        assert db.session.query(Post).count() == 0


def test_standalone_page_is_served_under_pages_and_not_listed(
    app: Flask, client: FlaskClient
) -> None:
    save_new(client, title="关于本站", slug="about", kind="page", action="publish")
    assert stored(app, slug="about").kind == "page"
    assert client.get("/pages/about/").status_code == 200
    assert client.get("/posts/about/").status_code == 404
    assert "关于本站" not in client.get("/").get_data(as_text=True)


def _listed_titles(client: FlaskClient, query: str) -> set[str]:
    page = client.get(f"/admin/?{query}")
    assert page.status_code == 200
    rows = page.get_data(as_text=True).split("<tbody>", 1)
    return {title for title in ("甲文", "乙文", "丙页") if len(rows) > 1 and title in rows[1]}


def test_post_list_filters_by_status_category_tag_search_and_kind(client: FlaskClient) -> None:
    save_new(
        client,
        title="甲文",
        source="Transformer 笔记",
        category="机器学习",
        tags="注意力, NLP",
        action="publish",
    )
    save_new(client, title="乙文", source="草稿正文", category="随笔", action="draft")
    save_new(client, title="丙页", source="关于", kind="page", action="publish")
    assert _listed_titles(client, "") == {"甲文", "乙文", "丙页"}
    assert _listed_titles(client, "status=draft") == {"乙文"}
    assert _listed_titles(client, "category=机器学习") == {"甲文"}
    assert _listed_titles(client, "tag=NLP") == {"甲文"}
    assert _listed_titles(client, "q=transformer") == {"甲文"}
    assert _listed_titles(client, "kind=page") == {"丙页"}
    assert _listed_titles(client, "kind=post&q=100%25") == set()


def test_tags_accept_chinese_commas(app: Flask, client: FlaskClient) -> None:
    save_new(client, slug="tagged", tags="深度学习，NLP、 优化 ", action="draft")
    assert sorted(t.name for t in stored(app, slug="tagged").tags) == ["NLP", "优化", "深度学习"]


def test_admin_ui_follows_the_readers_script_variant(
    app: Flask, client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    if "zh-tw" not in app.extensions["blog.variants"]:
        pytest.skip("the opencc plugin provides no zh-tw variant in this build")
    post = make_post("简体源文", title="简体标题", status="draft")
    page = client.get(f"/zh-tw/admin/posts/{post.id}/edit")
    assert page.status_code == 200
    assert "寫文章" in page.get_data(as_text=True)
    assert find(page.data, "textarea", name="source").text.strip() == "简体源文"


def test_editor_shows_a_banner_listing_broken_formulas_with_their_lines(
    client: FlaskClient,
) -> None:
    post_id = save_new(client, title="公式", source="第一行 $x$\n\n第三行 $\\foo{y}$ 坏了\n")
    page = client.get(f"/admin/posts/{post_id}/edit")
    assert (
        len(find_all(page.data, "section", **{"class": "flash flash-error render-warnings"})) == 1
    )
    assert "1 处无法渲染" in page.get_data(as_text=True)
    items = [li.text for li in find_all(page.data, "li")]
    assert any(text.startswith("第 3 行") for text in items), items
    # The formula's message is in the UI language too, naming the command.
    assert "未知命令 \\foo" in page.get_data(as_text=True)
    clean = save_new(client, title="无误", source="只有 $x$")
    clean_page = client.get(f"/admin/posts/{clean}/edit").get_data(as_text=True)
    assert "render-warnings" not in clean_page
