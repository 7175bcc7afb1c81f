"""Reader comments: posting without JavaScript, the rules that keep out forgery and spam,
moderation, threads, rendering, variants, cache freshness, feeds, API and privacy."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from admin_support import create_user, find_all, login, post_form
from comment_support import QUICK, comment_list, form_token, post_comment
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, insert, select

from blog.admin.tokens import create_token
from blog.comments.models import APPROVED, DELETED, PENDING, SPAM, Comment, CommentHit
from blog.comments.service import erase_old_addresses
from blog.models import Post, User, db, utcnow
from blog.posts import trash_post

SLUG = "attention"


@pytest.fixture
def site(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """``site(**config)``: an app with one published post, ``attention``, taking comments."""

    def build(**config: Any) -> Flask:
        settings = {**QUICK, "COMMENTS_MODERATION": "none", **config}
        app = make_app(**settings)
        with app.app_context():
            from blog.posts import PostFields, save_post

            save_post(PostFields(title="注意力机制", source="正文 $x$", slug=SLUG), author="a")
        return app

    return build


@pytest.fixture
def app(site: Callable[..., Flask]) -> Flask:
    return site()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def stored(app: Flask, **where: Any) -> list[Comment]:
    with app.app_context():
        query = select(Comment).order_by(Comment.id)
        for key, value in where.items():
            query = query.where(getattr(Comment, key) == value)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


def page(client: FlaskClient, path: str = f"/posts/{SLUG}/") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# -- posting without JavaScript ---------------------------------------------------------


def test_comment_form_post_redirects_back_to_the_comment(app: Flask, client: FlaskClient) -> None:
    response = post_comment(client, SLUG, body="第一条评论")
    assert response.status_code == 303
    (comment,) = stored(app)
    assert response.headers["Location"].endswith(
        f"/posts/{SLUG}/?comment=posted#comment-{comment.id}"
    )
    html = page(client, response.headers["Location"].split("#")[0])
    assert "评论已发表" in html
    assert "第一条评论" in comment_list(html)


def test_form_works_on_a_page_served_from_the_cache(app: Flask, client: FlaskClient) -> None:
    first = client.get(f"/posts/{SLUG}/")
    second = client.get(f"/posts/{SLUG}/")
    assert first.data == second.data  # the same cached page, the same token, for everyone
    token = form_token(client, f"/posts/{SLUG}/")
    assert post_comment(client, SLUG, token=token, address="10.0.0.1").status_code == 303
    assert (
        post_comment(client, SLUG, token=token, address="10.0.0.2", body="另一位").status_code
        == 303
    )
    assert len(stored(app)) == 2


def test_json_request_gets_the_rendered_comment(app: Flask, client: FlaskClient) -> None:
    response = post_comment(client, SLUG, body="**粗体**", headers={"Accept": "application/json"})
    data = response.get_json()
    assert data["status"] == "posted"
    assert "<strong>粗体</strong>" in data["html"]


def test_json_answer_is_in_the_variant_of_the_page_that_posted(
    app: Flask, client: FlaskClient
) -> None:
    """The script inserts the answer in place: a zh-tw page gets zh-tw text, no reload."""
    json = {"Accept": "application/json"}
    body = "这个软件的鼠标支持很好"
    tw = post_comment(client, SLUG, prefix="/zh-tw", body=body, headers=json).get_json()
    assert tw["status"] == "posted"
    assert "這個軟體的滑鼠支援很好" in tw["html"] and body not in tw["html"]
    assert tw["message"] == "評論已發表。"
    assert 'id="comment-' in tw["html"] and "<script" not in tw["html"]
    plain = post_comment(client, SLUG, body=body + "。", headers=json).get_json()
    assert body in plain["html"] and plain["message"] == "评论已发表。"
    # The variant chosen by cookie on an unprefixed page is the one the answer is in.
    client.set_cookie("variant", "zh-hk")
    hk = post_comment(client, SLUG, body=body + "！", headers=json).get_json()
    assert "這個軟件的鼠標支持很好" in hk["html"]  # Hong Kong characters, its own wording
    client.delete_cookie("variant")
    # Refusals and previews read the same way.
    refused = post_comment(client, SLUG, prefix="/zh-tw", body="", headers=json).get_json()
    assert refused["error"] == "評論內容不能為空。"
    preview = client.post(
        f"/zh-tw/posts/{SLUG}/comments/preview",
        data={"body": "鼠标 $x$"},
        headers={"Origin": "http://localhost"},
    ).get_json()
    assert "滑鼠" in preview["html"] and "<math" in preview["html"]
    with app.app_context():
        # What is stored stays as the reader wrote it; only the answer is converted.
        assert db.session.scalar(select(Comment.source).order_by(Comment.id)) == body


def test_fresh_token_endpoint_is_never_cached(app: Flask, client: FlaskClient) -> None:
    first = client.get(f"/posts/{SLUG}/comments/token")
    second = client.get(f"/posts/{SLUG}/comments/token")
    assert first.headers["Cache-Control"] == "no-store"
    assert first.get_json()["token"] != second.get_json()["token"]
    assert post_comment(client, SLUG, token=first.get_json()["token"]).status_code == 303
    assert client.get("/posts/nowhere/comments/token").status_code == 404


def test_preview_renders_without_storing(app: Flask, client: FlaskClient) -> None:
    path = f"/posts/{SLUG}/comments/preview"
    headers = {"Origin": "http://localhost"}
    response = client.post(path, data={"body": "**预览** $x^2$ <b>x</b>"}, headers=headers)
    html = response.get_json()["html"]
    assert "<strong>预览</strong>" in html and "<math" in html and "&lt;b&gt;" in html
    assert response.headers["Cache-Control"] == "no-store"
    foreign = {"Origin": "https://evil.example"}
    assert client.post(path, data={"body": "x"}, headers=foreign).status_code == 403
    assert client.post(path, data={"body": "x\x00"}, headers=headers).status_code == 400
    assert stored(app) == []


def test_preview_is_rate_limited(app: Flask, client: FlaskClient) -> None:
    path = f"/posts/{SLUG}/comments/preview"
    answers = [
        client.post(path, data={"body": "x"}, headers={"Origin": "http://localhost"}).status_code
        for _ in range(31)
    ]
    assert answers[:30] == [200] * 30
    assert answers[30] == 429


# -- where comments are allowed -----------------------------------------------------------


def test_site_switch_off_removes_the_section_and_the_endpoint(site: Callable[..., Flask]) -> None:
    client = site(COMMENTS_ENABLED=False).test_client()
    assert 'id="comments"' not in page(client)
    response = client.post(f"/posts/{SLUG}/comments", data={"body": "x"})
    assert response.status_code == 404


def test_comments_false_in_front_matter_turns_them_off(app: Flask, make_post: Any) -> None:
    make_post("安静的文章", title="安静", slug="quiet", meta={"comments": False})
    client = app.test_client()
    assert 'id="comments"' not in page(client, "/posts/quiet/")
    assert client.post("/posts/quiet/comments", data={"body": "x"}).status_code == 404


def test_drafts_and_trashed_posts_take_no_comments(app: Flask, make_post: Any) -> None:
    client = app.test_client()
    token = form_token(client, f"/posts/{SLUG}/")
    make_post("草稿", title="草稿", slug="draft", status="draft")
    assert post_comment(client, "draft", token=token).status_code == 404
    with app.app_context():
        trash_post(db.session.scalars(select(Post).where(Post.slug == SLUG)).one())
    assert post_comment(client, SLUG, token=token).status_code == 404
    assert stored(app) == []


def test_password_protected_post_refuses_comments(app: Flask, make_post: Any) -> None:
    make_post("秘密", title="秘密", slug="secret", meta={"password": "x"})
    client = app.test_client()
    token = form_token(client, f"/posts/{SLUG}/")
    response = post_comment(client, "secret", token=token, body="我的长评论")
    assert response.status_code == 403
    assert "我的长评论" in response.get_data(as_text=True)  # shown for copying, not lost
    assert stored(app) == []


def test_comments_close_after_the_configured_days(
    site: Callable[..., Flask], make_post: Any
) -> None:
    app = site(COMMENTS_CLOSE_AFTER_DAYS=30)
    make_post("旧文", title="旧文", slug="old", published_at=utcnow() - timedelta(days=31))
    client = app.test_client()
    html = page(client, "/posts/old/")
    assert "评论已关闭" in html
    assert '<form class="comment-form"' not in html
    token = form_token(client, f"/posts/{SLUG}/")
    assert post_comment(client, "old", token=token).status_code == 403
    assert post_comment(client, SLUG, token=token).status_code == 303


# -- the anonymous anti-forgery scheme -------------------------------------------------------


def test_forged_token_is_refused_and_the_text_offered_again(
    app: Flask, client: FlaskClient
) -> None:
    response = post_comment(client, SLUG, token="eyJwIjoxfQ.forged.signature", body="留着我")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "令牌无效" in html
    assert "留着我" in html
    assert re.search(r'name="token" value="[^"]+"', html)  # a fresh token to confirm with
    assert stored(app) == []


def test_token_of_another_post_is_refused(app: Flask, make_post: Any) -> None:
    make_post("另一篇", title="另一篇", slug="other")
    client = app.test_client()
    token = form_token(client, "/posts/other/")
    assert post_comment(client, SLUG, token=token).status_code == 400


def test_expired_token_is_refused(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_TOKEN_HOURS=0.0003)  # about one second
    client = app.test_client()
    token = form_token(client, f"/posts/{SLUG}/")
    time.sleep(2.1)
    response = post_comment(client, SLUG, token=token)
    assert response.status_code == 400
    assert "过期" in response.get_data(as_text=True)
    assert stored(app) == []


def test_replayed_request_is_refused(app: Flask, client: FlaskClient) -> None:
    token = form_token(client, f"/posts/{SLUG}/")
    assert post_comment(client, SLUG, token=token, body="一").status_code == 303
    response = post_comment(client, SLUG, token=token, body="一")
    assert response.status_code == 400
    assert "已经提交过" in response.get_data(as_text=True)
    assert [c.source for c in stored(app)] == ["一"]


def test_same_reader_may_post_again_from_the_same_page(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MODERATION="all")  # held comments leave the cached page as it was
    client = app.test_client()
    token = form_token(client, f"/posts/{SLUG}/")
    assert post_comment(client, SLUG, token=token, body="一").status_code == 303
    assert post_comment(client, SLUG, token=token, body="二").status_code == 303
    assert [c.source for c in stored(app)] == ["一", "二"]


def test_form_filled_faster_than_the_minimum_is_refused(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MIN_FILL_SECONDS=30)
    client = app.test_client()
    response = post_comment(client, SLUG)
    assert response.status_code == 400
    assert "太快" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "", "Referer": "https://evil.example/page"},
    ],
    ids=["foreign-origin", "null-origin", "foreign-referer"],
)
def test_cross_origin_posts_are_refused(
    app: Flask, client: FlaskClient, headers: dict[str, str]
) -> None:
    if headers.get("Origin") == "":
        headers = {"Referer": headers["Referer"]}
        token = form_token(client, f"/posts/{SLUG}/")
        response = client.post(
            f"/posts/{SLUG}/comments",
            data={"name": "x", "body": "跨站", "token": token},
            headers=headers,
        )
    else:
        response = post_comment(client, SLUG, headers=headers, body="跨站")
    assert response.status_code == 403
    assert stored(app) == []


def test_post_without_origin_or_referer_relies_on_the_token(
    app: Flask, client: FlaskClient
) -> None:
    token = form_token(client, f"/posts/{SLUG}/")
    response = client.post(
        f"/posts/{SLUG}/comments", data={"name": "隐私浏览器", "body": "无来源头", "token": token}
    )
    assert response.status_code == 303


def test_honeypot_filled_stores_nothing_but_looks_accepted(app: Flask, client: FlaskClient) -> None:
    response = post_comment(client, SLUG, url="http://spam.example")
    assert response.status_code == 303
    assert "comment=held" in response.headers["Location"]
    assert stored(app) == []


# -- bad input ------------------------------------------------------------------------------


def test_oversized_body_is_refused_with_413_and_kept(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MAX_CHARS=100)
    client = app.test_client()
    response = post_comment(client, SLUG, body="长" * 101)
    assert response.status_code == 413
    assert "最多 100 个" in response.get_data(as_text=True)
    assert "长" * 101 in response.get_data(as_text=True)


def test_invalid_utf8_is_refused(app: Flask, client: FlaskClient) -> None:
    token = form_token(client, f"/posts/{SLUG}/")
    body = f"name=x&token={token}&body=%FF%FE%C3".encode()
    response = client.post(
        f"/posts/{SLUG}/comments",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"Origin": "http://localhost"},
    )
    assert response.status_code == 400
    assert "UTF-8" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value"),
    [("body", "a\x00b"), ("name", "名\x07字"), ("name", "两\n行"), ("name", ""), ("body", "   ")],
)
def test_bad_field_values_are_refused(
    app: Flask, client: FlaskClient, field: str, value: str
) -> None:
    assert post_comment(client, SLUG, **{field: value}).status_code == 400
    assert stored(app) == []


@pytest.mark.parametrize(
    "website", ["javascript:alert(1)", "data:text/html,x", "http://", 'https://a.example/"onx']
)
def test_website_must_be_an_http_url(app: Flask, client: FlaskClient, website: str) -> None:
    assert post_comment(client, SLUG, website=website).status_code == 400


def test_email_must_look_like_one(app: Flask, client: FlaskClient) -> None:
    assert post_comment(client, SLUG, email="not-an-email").status_code == 400


# -- what a comment shows -----------------------------------------------------------------


def test_website_link_is_nofollow_ugc_and_email_never_shown(
    app: Flask, client: FlaskClient
) -> None:
    post_comment(client, SLUG, name="小明", email="ming@example.com", website="ming.example")
    html = page(client)
    (link,) = [
        a
        for a in find_all(comment_list(html), "a")
        if a.attrs.get("href") == "https://ming.example"
    ]
    assert set(link.attrs["rel"].split()) >= {"nofollow", "ugc"}
    assert "ming@example.com" not in html


def test_avatar_is_an_inline_identicon_or_nothing(site: Callable[..., Flask]) -> None:
    app = site()
    client = app.test_client()
    post_comment(client, SLUG, email="a@example.com", body="甲")
    post_comment(client, SLUG, email="a@example.com", body="乙")
    post_comment(client, SLUG, email="b@example.com", body="丙")
    svgs = re.findall(r'<svg class="comment-avatar".*?</svg>', comment_list(page(client)))
    assert len(svgs) == 3
    assert svgs[0] == svgs[1] != svgs[2]  # the same person keeps the same picture
    assert "gravatar" not in page(client).lower()
    plain = site(COMMENTS_AVATARS=False).test_client()
    assert "comment-avatar" not in comment_list(page(plain))


def test_body_is_markdown_with_math_and_highlighted_code(app: Flask, client: FlaskClient) -> None:
    body = "**粗体** $e^{i\\pi}+1=0$\n\n$$\\sum_i x_i$$\n\n```python\nprint('hi')\n```"
    post_comment(client, SLUG, body=body)
    html = comment_list(page(client))
    assert "<strong>粗体</strong>" in html
    assert html.count("<math") == 2
    assert '<span class="nb">print</span>' in html


def test_body_has_no_images_headings_raw_html_or_ids(app: Flask, client: FlaskClient) -> None:
    body = "# 标题\n\n![图](https://a.example/x.png)\n\n<b>粗</b> <img src=x>\n\n段落 {: #main }"
    post_comment(client, SLUG, body=body)
    html = comment_list(page(client))
    assert not re.search(r"<(h\d|img|b)\b", html)
    assert "&lt;b&gt;" in html
    assert 'id="main"' not in html


def test_links_in_the_body_are_nofollow_ugc(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="见 [文档](https://docs.example/)")
    (link,) = [
        a
        for a in find_all(comment_list(page(client)), "a")
        if "docs.example" in a.attrs.get("href", "")
    ]
    assert set(link.attrs["rel"].split()) >= {"nofollow", "ugc"}


def test_body_is_rendered_once_at_save_time(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="*斜体*")
    (comment,) = stored(app)
    assert comment.body_html == "<p><em>斜体</em></p>"


# -- threads ----------------------------------------------------------------------------------


def test_replies_nest_under_their_parent(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="楼主")
    (top,) = stored(app)
    post_comment(client, SLUG, body="回复楼主", parent=top.id)
    html = comment_list(page(client))
    assert re.search(
        rf'id="comment-{top.id}".*<ol class="comment-replies">'
        r'<li class="comment" id="comment-\d+">.*回复楼主',
        html,
        re.DOTALL,
    )


def test_replies_beyond_the_depth_limit_join_the_deepest_level(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MAX_DEPTH=2)
    client = app.test_client()
    post_comment(client, SLUG, body="0")
    post_comment(client, SLUG, body="1", parent=stored(app)[-1].id)
    post_comment(client, SLUG, body="2", parent=stored(app)[-1].id)
    top, first, second = stored(app)
    assert (first.depth, first.parent_id) == (1, top.id)
    assert (second.depth, second.parent_id) == (1, top.id)  # a sibling of "1", not a grandchild


def test_reply_link_without_javascript_prefills_the_parent(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="楼主", name="甲")
    (top,) = stored(app)
    html = page(client, f"/posts/{SLUG}/?reply={top.id}")
    assert f'name="parent" value="{top.id}"' in html
    assert "回复 甲" in html


def test_reply_to_a_deleted_parent_is_refused(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="将被删除")
    (top,) = stored(app)
    with app.app_context():
        db.session.get_one(Comment, top.id).status = DELETED
        db.session.commit()
    response = post_comment(client, SLUG, body="回复", parent=top.id)
    assert response.status_code == 400
    assert "不存在或已被删除" in response.get_data(as_text=True)
    assert post_comment(client, SLUG, body="乱写", parent="abc").status_code == 400


def test_deleted_parent_with_replies_leaves_a_placeholder(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="父评论")
    (top,) = stored(app)
    post_comment(client, SLUG, body="子评论", parent=top.id)
    with app.app_context():
        db.session.get_one(Comment, top.id).status = DELETED
        db.session.commit()
    html = comment_list(page(client))
    assert "此评论已删除" in html
    assert "父评论" not in html
    assert "子评论" in html


def test_ten_thousand_comments_are_paginated(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_PER_PAGE=50)
    with app.app_context():
        post_id = db.session.scalar(select(Post.id).where(Post.slug == SLUG))
        now = utcnow()
        rows = [
            {
                "id": n,
                "uid": f"bulk-{n}",
                "post_id": post_id,
                "thread_id": n,
                "depth": 0,
                "name": f"读者{n}",
                "email": "",
                "website": "",
                "source": f"第 {n} 条",
                "body_html": f"<p>第 {n} 条</p>",
                "lang": "zh-Hans",
                "body_hash": str(n),
                "status": APPROVED,
                "is_author": False,
                "user_agent": "",
                "created_at": now,
            }
            for n in range(1, 10_001)
        ]
        db.session.execute(insert(Comment), rows)
        db.session.commit()
    client = app.test_client()
    first = page(client)
    assert "10000 条评论" in first
    assert comment_list(first).count('class="comment"') == 50
    last = page(client, f"/posts/{SLUG}/?comments_page=200")
    assert "<p>第 10000 条</p>" in last
    assert client.get(f"/posts/{SLUG}/?comments_page=201").status_code == 404


# -- moderation -------------------------------------------------------------------------------


def test_first_time_commenter_is_held_then_recognised(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MODERATION="first-time")
    client = app.test_client()
    response = post_comment(client, SLUG, name="新人", email="new@example.com", body="第一次")
    assert "comment=held" in response.headers["Location"]
    assert "第一次" not in comment_list(page(client))
    with app.app_context():
        db.session.scalars(select(Comment)).one().status = APPROVED
        db.session.commit()
    post_comment(client, SLUG, name="新人", email="new@example.com", body="第二次")
    assert stored(app)[-1].status == APPROVED
    post_comment(client, SLUG, name="冒名", email="new@example.com", body="第三次")
    assert stored(app)[-1].status == PENDING


def test_moderation_all_holds_everyone(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MODERATION="all")
    post_comment(app.test_client(), SLUG)
    assert [c.status for c in stored(app)] == [PENDING]


def test_unknown_moderation_mode_stops_start_up(make_app: Callable[..., Flask]) -> None:
    from blog.config import ConfigError

    with pytest.raises(ConfigError, match="COMMENTS_MODERATION"):
        make_app(COMMENTS_MODERATION="sometimes")


def test_blocklisted_words_go_to_spam(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_BLOCKLIST=["代开发票"])
    client = app.test_client()
    response = post_comment(client, SLUG, body="专业代开发票")
    assert "comment=held" in response.headers["Location"]
    assert [c.status for c in stored(app)] == [SPAM]
    assert "代开发票" not in page(client)


def test_too_many_links_are_refused(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MAX_LINKS=2)
    body = "https://a.example https://b.example https://c.example"
    response = post_comment(app.test_client(), SLUG, body=body)
    assert response.status_code == 400
    assert "最多可以包含 2 个链接" in response.get_data(as_text=True)


def test_duplicate_comment_is_refused(app: Flask, client: FlaskClient) -> None:
    assert post_comment(client, SLUG, body="同样的话").status_code == 303
    response = post_comment(client, SLUG, body="  同样的话 ")
    assert response.status_code == 409
    assert len(stored(app)) == 1


def test_rate_limit_per_client_answers_429_with_a_message(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_RATE_PER_CLIENT=3)
    client = app.test_client()
    for n in range(3):
        assert post_comment(client, SLUG, body=f"第{n}条").status_code == 303
    response = post_comment(client, SLUG, body="第四条")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "评论太频繁" in response.get_data(as_text=True)
    assert post_comment(client, SLUG, body="别人", address="10.9.9.9").status_code == 303


def test_rate_limit_per_post(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_RATE_PER_POST=2)
    client = app.test_client()
    for n in range(2):
        post_comment(client, SLUG, body=f"第{n}条", address=f"10.0.0.{n}")
    response = post_comment(client, SLUG, body="第三条", address="10.0.0.9")
    assert response.status_code == 429
    assert "这篇文章收到的评论太多" in response.get_data(as_text=True)


def test_rate_limit_is_shared_by_apps_on_one_database(
    site: Callable[..., Flask], make_app: Callable[..., Flask], database: str
) -> None:
    """Two processes (here two apps) see each other's hits: the limit lives in the database."""
    extra = {"DATABASE_URL": database} if database else {}
    first = site(COMMENTS_RATE_PER_CLIENT=2, **extra)
    second = make_app(
        **{**QUICK, "COMMENTS_RATE_PER_CLIENT": 2, "COMMENTS_MODERATION": "none", **extra}
    )
    assert post_comment(first.test_client(), SLUG, body="一").status_code == 303
    assert post_comment(second.test_client(), SLUG, body="二").status_code == 303
    assert post_comment(first.test_client(), SLUG, body="三").status_code == 429
    assert post_comment(second.test_client(), SLUG, body="四").status_code == 429


@pytest.mark.slow
def test_a_thousand_posts_from_one_client_are_limited_without_errors(
    site: Callable[..., Flask],
) -> None:
    # An hour's window: the flood must fall inside one window however slow the machine is
    # (with the default minute, a run longer than 60 s rightly lets the flooder in again).
    app = site(
        COMMENTS_RATE_PER_CLIENT=5, COMMENTS_RATE_PER_POST=30, COMMENTS_RATE_WINDOW_SECONDS=3600
    )
    client = app.test_client()
    token = form_token(client, f"/posts/{SLUG}/")
    statuses: dict[int, int] = {}
    for n in range(1000):
        response = post_comment(client, SLUG, token=token, body=f"洪水 {n}", address="10.6.6.6")
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if n % 100 == 50:
            reader = post_comment(
                client, SLUG, token=token, body=f"正常读者 {n}", address=f"10.1.1.{n // 100}"
            )
            assert reader.status_code == 303
    assert set(statuses) <= {303, 400, 429}
    assert statuses[429] >= 990
    kept = [c.source for c in stored(app)]
    assert len([s for s in kept if s.startswith("正常读者")]) == 10
    assert len([s for s in kept if s.startswith("洪水")]) == 5
    with app.app_context():
        assert (db.session.scalar(select(func.count()).select_from(CommentHit)) or 0) <= 1000


# -- cache, variants, listings, feeds -----------------------------------------------------------


def test_approving_a_comment_refreshes_the_cached_page(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MODERATION="all")
    reader = app.test_client()
    for prefix in ("", "/zh-tw"):
        page(reader, f"{prefix}/posts/{SLUG}/")  # cached in two variants
    post_comment(reader, SLUG, body="等待审核的评论")
    assert "等待审核的评论" not in page(reader)
    create_user(app)
    admin = app.test_client()
    login(admin)
    (comment,) = stored(app)
    response = post_form(
        admin,
        "/admin/comments/moderate",
        {"ids": comment.id, "action": "approve"},
        "/admin/comments/",
    )
    assert response.status_code == 302
    assert "等待审核的评论" in comment_list(page(reader))
    assert "等待稽核的評論" in comment_list(page(reader, f"/zh-tw/posts/{SLUG}/"))
    assert "1 条评论" in page(reader, "/")


class Renders:
    """Counts the requests the page cache passes on to Flask (its misses)."""

    def __init__(self, app: Flask) -> None:
        self.count = 0
        cache = app.extensions["blog.page_cache"]
        downstream = cache.downstream

        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            self.count += 1
            return downstream(environ, start_response)

        cache.downstream = counted

    def of(self, client: FlaskClient, path: str) -> int:
        before = self.count
        assert client.get(path).status_code == 200
        return self.count - before


def test_a_new_comment_leaves_other_posts_cached(
    site: Callable[..., Flask], make_post: Any
) -> None:
    app = site()
    make_post("另一篇", title="另一篇", slug="other")
    renders = Renders(app)
    client = app.test_client()
    paths = [
        "/posts/other/",
        "/zh-tw/posts/other/",
        f"/posts/{SLUG}/",
        f"/zh-tw/posts/{SLUG}/",
        "/",
    ]
    for path in paths:
        renders.of(client, path)
    assert [renders.of(client, path) for path in paths] == [0, 0, 0, 0, 0]
    post_comment(client, SLUG, body="只改这一篇")
    assert renders.of(client, "/posts/other/") == 0
    assert renders.of(client, "/zh-tw/posts/other/") == 0
    assert renders.of(client, f"/zh-tw/posts/{SLUG}/") == 1
    assert renders.of(client, "/") == 1
    assert "只改這一篇" in comment_list(page(client, f"/zh-tw/posts/{SLUG}/"))
    assert "1 条评论" in page(client, "/")


def test_another_process_drops_the_commented_post_within_the_check_interval(
    site: Callable[..., Flask], make_app: Callable[..., Flask], make_post: Any
) -> None:
    writer = site(PAGE_CACHE_CHECK_MS=0)
    make_post("另一篇", title="另一篇", slug="other")
    reader_app = make_app(**QUICK, PAGE_CACHE_CHECK_MS=0)
    renders = Renders(reader_app)
    reader = reader_app.test_client()
    for path in ("/posts/other/", f"/posts/{SLUG}/"):
        renders.of(reader, path)
    post_comment(writer.test_client(), SLUG, body="别的进程写的")
    assert renders.of(reader, "/posts/other/") == 0
    assert "别的进程写的" in comment_list(page(reader, f"/posts/{SLUG}/"))


def test_comment_is_converted_from_its_own_script(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="這個軟體的記憶體管理很好", name="臺灣讀者")
    post_comment(client, SLUG, body="这个软件的内存管理很好", name="大陆读者")
    traditional, simplified = stored(app)
    assert traditional.lang == "zh-Hant"
    assert simplified.lang == "zh-Hans"
    hans = comment_list(page(client, f"/zh-hans/posts/{SLUG}/"))
    assert "这个软件的内存管理很好" in hans
    assert "这个软体的记忆体管理很好" in hans
    tw = comment_list(page(client, f"/zh-tw/posts/{SLUG}/"))
    assert tw.count("這個軟體的記憶體管理很好") == 2
    assert "臺灣讀者" in tw and "大陆读者" in tw  # names are left as written


def test_hook_blog_text_lang_sets_the_comment_lang(app: Flask) -> None:
    with app.test_request_context():
        from blog.comments.content import text_lang

        assert text_lang("頭髮與發展", "zh-Hans") == "zh-Hant"
        assert text_lang("头发与发展", "zh-Hant") == "zh-Hans"
        assert text_lang("plain ASCII", "en") == "en"


def test_variant_markup_works_in_comments(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="-{zh-hans:鼠标;zh-tw:滑鼠;}- 好用")

    def text(path: str) -> str:
        return re.sub(r"<[^>]+>", "", comment_list(page(client, path)))

    assert "滑鼠 好用" in text(f"/zh-tw/posts/{SLUG}/")
    assert "鼠标 好用" in text(f"/zh-hans/posts/{SLUG}/")


def test_listings_show_the_comment_count(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="一")
    post_comment(client, SLUG, body="二")
    assert "2 条评论" in page(client, "/")
    assert "2 條評論" in page(client, "/zh-tw/")


def test_each_card_of_a_listing_shows_its_own_comment_count_read_at_once(
    app: Flask, client: FlaskClient, make_post: Any
) -> None:
    make_post(slug="quiet", title="无人评论")
    make_post(slug="busy", title="热闹")
    post_comment(client, SLUG, body="一")
    for number in range(3):
        post_comment(client, "busy", body=f"第{number}条", address=f"10.0.0.{number}")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        html = page(client, "/")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    counted = [a.attrs["href"] for a in find_all(html, "a", class_="comment-count")]
    texts = [p.text for p in find_all(html, "p", class_="post-meta") if "评论" in p.text]
    assert counted == ["/posts/busy/#comments", f"/posts/{SLUG}/#comments"]
    assert len(texts) == 2, texts
    assert "3 条评论" in texts[0] and "1 条评论" in texts[1], texts
    comment_reads = [s for s in statements if s.startswith("SELECT") and " FROM comments " in s]
    assert len(comment_reads) == 1, comment_reads


def test_atom_feeds_of_comments(app: Flask, client: FlaskClient) -> None:
    feedparser = pytest.importorskip("feedparser")
    post_comment(client, SLUG, body="订阅我 $x^2$", name="订阅者")
    for path in ("/comments.xml", f"/posts/{SLUG}/comments.xml"):
        response = client.get(path)
        assert response.mimetype == "application/atom+xml"
        feed = feedparser.parse(response.data)
        assert not feed.bozo, feed.bozo_exception
        (entry,) = feed.entries
        assert entry.author == "订阅者"
        assert "订阅我" in entry.content[0].value
        assert entry.link.endswith(f"/posts/{SLUG}/#comment-{stored(app)[0].id}")


# -- admin and API ------------------------------------------------------------------------------


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    login(client)
    return client


def test_admin_queue_needs_login(app: Flask) -> None:
    response = app.test_client().get("/admin/comments/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_admin_actions_need_the_csrf_token(app: Flask, admin: FlaskClient) -> None:
    post_comment(app.test_client(), SLUG)
    (comment,) = stored(app)
    response = admin.post("/admin/comments/moderate", data={"ids": comment.id, "action": "spam"})
    assert response.status_code == 400
    assert stored(app)[0].status == APPROVED


def test_admin_bulk_actions(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MODERATION="all")
    reader = app.test_client()
    for n in range(3):
        post_comment(reader, SLUG, body=f"待审 {n}")
    create_user(app)
    admin = app.test_client()
    login(admin)
    queue = admin.get("/admin/comments/").get_data(as_text=True)
    assert queue.count('name="ids"') == 3
    ids = [c.id for c in stored(app)]
    post_form(
        admin, "/admin/comments/moderate", {"ids": ids[:2], "action": "approve"}, "/admin/comments/"
    )
    post_form(
        admin, "/admin/comments/moderate", {"ids": ids[2], "action": "spam"}, "/admin/comments/"
    )
    assert [c.status for c in stored(app)] == [APPROVED, APPROVED, SPAM]
    post_form(
        admin, "/admin/comments/moderate", {"ids": ids[0], "action": "delete"}, "/admin/comments/"
    )
    assert "待审 0" not in page(reader)


def test_author_reply_from_the_queue_is_marked(app: Flask, admin: FlaskClient) -> None:
    post_comment(app.test_client(), SLUG, body="请问作者")
    (question,) = stored(app)
    post_form(
        admin, f"/admin/comments/{question.id}/reply", {"body": "谢谢提问"}, "/admin/comments/"
    )
    reply = stored(app)[-1]
    assert (reply.is_author, reply.parent_id, reply.status) == (True, question.id, APPROVED)
    html = comment_list(page(app.test_client()))
    assert re.search(r'class="comment comment-by-author".*作者.*谢谢提问', html, re.DOTALL)


def test_api_moderates_with_a_token(site: Callable[..., Flask]) -> None:
    app = site(COMMENTS_MODERATION="all")
    post_comment(app.test_client(), SLUG, body="经由 API 审核", email="r@example.com")
    create_user(app)
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        token = create_token(user, "bot")
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/comments").status_code == 401
    listed = api.get("/api/comments?status=pending", headers=auth).get_json()
    assert listed["total"] == 1
    (item,) = listed["comments"]
    assert item["email"] == "r@example.com"
    approved = api.post(f"/api/comments/{item['id']}/approve", headers=auth).get_json()
    assert approved["status"] == APPROVED
    reply = api.post(f"/api/comments/{item['id']}/reply", json={"body": "已阅"}, headers=auth)
    assert reply.status_code == 201
    assert reply.get_json()["is_author"] is True
    bulk = api.post(
        "/api/comments/moderate", json={"ids": [item["id"]], "action": "spam"}, headers=auth
    )
    assert bulk.get_json()["changed"] == 1
    assert api.post("/api/comments/moderate", json={"ids": "x"}, headers=auth).status_code == 400
    assert api.get("/api/comments/999", headers=auth).status_code == 404


# -- privacy ----------------------------------------------------------------------------------


def test_client_addresses_are_erased_after_the_configured_days(
    app: Flask, client: FlaskClient
) -> None:
    post_comment(client, SLUG, body="旧", address="10.1.2.3")
    post_comment(client, SLUG, body="新", address="10.1.2.4")
    with app.app_context():
        old = db.session.scalars(select(Comment).where(Comment.source == "旧")).one()
        old.created_at = utcnow() - timedelta(days=31)
        db.session.commit()
        assert erase_old_addresses() == 1
    assert [c.address for c in stored(app)] == [None, "10.1.2.4"]


def test_old_addresses_are_erased_as_new_comments_arrive(app: Flask, client: FlaskClient) -> None:
    post_comment(client, SLUG, body="旧", address="10.1.2.3")
    with app.app_context():
        old = db.session.scalars(select(Comment)).one()
        old.created_at = utcnow() - timedelta(days=31)
        db.session.commit()
    app.extensions.pop("blog.comments.erased_at", None)  # as in a freshly started process
    post_comment(client, SLUG, body="新", address="10.1.2.4")
    assert [c.address for c in stored(app)] == [None, "10.1.2.4"]


def test_admin_exports_and_deletes_everything_for_one_email(app: Flask, admin: FlaskClient) -> None:
    reader = app.test_client()
    post_comment(reader, SLUG, body="我的数据", email="me@example.com", name="本人")
    post_comment(reader, SLUG, body="别人的", email="other@example.com", name="别人")
    exported = post_form(
        admin,
        "/admin/comments/privacy",
        {"email": "me@example.com", "action": "export"},
        "/admin/comments/privacy",
    )
    data = exported.get_json()
    assert [c["source"] for c in data["comments"]] == ["我的数据"]
    assert data["comments"][0]["address"] == "127.0.0.1"
    post_form(
        admin,
        "/admin/comments/privacy",
        {"email": "me@example.com", "action": "delete"},
        "/admin/comments/privacy",
    )
    mine, other = stored(app)
    assert (mine.name, mine.email, mine.source, mine.address, mine.status) == (
        "",
        "",
        "",
        None,
        DELETED,
    )
    assert other.source == "别人的"
    assert "我的数据" not in page(reader)
