"""The comment UI speaks the site's ``UI_LANGUAGE``: the section, the form's errors, the
notices and the JSON answers of an English site are English; a Chinese site's are Chinese,
and its zh-tw pages are converted like the rest of the page. So do the messages of the
search page and of a password-protected post, which are made in code too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from comment_support import QUICK, post_comment
from flask import Flask

from blog.i18n import ui_plural, ui_text
from blog.models import utcnow

SLUG = "attention"
JSON = {"Accept": "application/json"}


@pytest.fixture
def site(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """``site(language)``: an app in that UI language with one post taking comments."""

    def build(language: str, **config: Any) -> Flask:
        settings = {**QUICK, "COMMENTS_MODERATION": "none", "UI_LANGUAGE": language, **config}
        app = make_app(**settings)
        with app.app_context():
            from blog.posts import PostFields, save_post

            save_post(PostFields(title="注意力机制", source="正文 $x$", slug=SLUG), author="a")
        return app

    return build


def section(html: str) -> str:
    start = html.find('<section class="comments"')
    assert start >= 0, "no comment section"
    return html[start : html.index("</section>", start)]


def test_english_site_shows_the_comment_ui_in_english(site: Callable[..., Flask]) -> None:
    app = site("en")
    client = app.test_client()
    empty = section(client.get(f"/posts/{SLUG}/").get_data(as_text=True))
    assert '<h2 id="comments-title">0 comments <a' in empty
    assert 'title="Atom feed of the comments">Subscribe</a>' in empty
    assert '<h3 class="comment-form-title">Leave a comment</h3>' in empty
    for label in ("Name", "Email (optional, never shown)", "Website (optional)", "Comment"):
        assert f">{label}</label>" in empty
    assert "<code>$…$</code> math are supported" in empty
    assert ">Post comment</button>" in empty
    assert '<span data-label="reply">Reply to</span>' in empty
    assert '<span data-label="preview">Preview</span>' in empty
    # Nothing of the comment UI is left in Chinese (the post's own title is).
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in empty)

    posted = post_comment(client, SLUG, body="Nice write-up")
    assert posted.status_code == 303
    html = client.get(posted.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert '<p class="comment-notice" role="status">Your comment is posted.</p>' in html
    assert '<h2 id="comments-title">1 comment <a' in html  # singular
    assert '<a class="comment-reply"' in html and ">Reply</a>" in html
    listing = client.get("/").get_data(as_text=True)
    assert '#comments">1 comment</a>' in listing

    reply = client.get(f"/posts/{SLUG}/?reply=1").get_data(as_text=True)
    assert "Reply to 读者" in reply and ">Cancel reply</a>" in reply

    feed = client.get(f"/posts/{SLUG}/comments.xml").get_data(as_text=True)
    assert "<title>Comments on “注意力机制”</title>" in feed
    assert "读者 on “注意力机制”" in feed


def test_english_site_refuses_in_english_as_html_and_json(site: Callable[..., Flask]) -> None:
    app = site("en", COMMENTS_MAX_LINKS=1)
    client = app.test_client()
    refused = post_comment(client, SLUG, body="", name="Reader")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "<title>Your comment was not posted - " in html
    assert '<p class="comment-notice comment-error" role="alert">The comment is empty.</p>' in html
    assert "Your comment is still here; check it and post it again:" in html
    assert ">Post again</button>" in html and "Back to “注意力机制”" in html

    error = post_comment(client, SLUG, website="ftp://x.org", headers=JSON).get_json()
    assert error["error"] == "The website must start with http:// or https://."
    assert error["key"] == "website" and error["token"]
    too_long = post_comment(client, SLUG, name="x" * 51, headers=JSON).get_json()
    assert too_long["error"] == "Name is too long: 51 characters, at most 50."
    links = post_comment(client, SLUG, body="<https://a.org> <https://b.org>", headers=JSON)
    assert links.get_json()["error"] == ("A comment may contain at most 1 links (this one has 2).")
    forged = post_comment(client, SLUG, token="forged", headers=JSON).get_json()
    assert forged["error"] == ("The form token is not valid; check your comment and post it again.")
    answer = post_comment(client, SLUG, body="Thanks", headers=JSON).get_json()
    assert answer["status"] == "posted" and answer["message"] == "Your comment is posted."
    again = post_comment(client, SLUG, body="Thanks", headers=JSON)
    assert again.status_code == 409
    assert again.get_json()["error"] == "You have already posted this comment."
    preview = client.post(
        f"/posts/{SLUG}/comments/preview",
        data={"body": "\x07"},
        headers={"Origin": "http://localhost"},
    )
    assert preview.get_json()["error"] == "Comment contains control characters."


def test_english_site_says_why_comments_are_closed(site: Callable[..., Flask]) -> None:
    from datetime import timedelta

    from blog.posts import PostFields, save_post

    app = site("en", COMMENTS_CLOSE_AFTER_DAYS=30)
    with app.app_context():
        old = utcnow() - timedelta(days=31)
        save_post(PostFields(title="Old", source="Old", slug="old", published_at=old), author="a")
    html = app.test_client().get("/posts/old/").get_data(as_text=True)
    assert "Comments are closed: the post is more than 30 days old." in html
    with app.app_context():
        assert ui_plural("%(num)d comment", "%(num)d comments", 1) == "1 comment"


def test_chinese_site_keeps_its_chinese_comment_ui(site: Callable[..., Flask]) -> None:
    app = site("zh_Hans")
    client = app.test_client()
    empty = section(client.get(f"/posts/{SLUG}/").get_data(as_text=True))
    assert '<h2 id="comments-title">0 条评论 <a' in empty
    assert 'title="评论的 Atom 订阅">订阅</a>' in empty
    assert '<h3 class="comment-form-title">发表评论</h3>' in empty
    assert "支持 Markdown、代码块和 <code>$…$</code> 数学公式；不支持图片和 HTML。" in empty
    assert '<span data-label="reply">回复</span>' in empty
    refused = post_comment(client, SLUG, body="")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "<h1>评论未能发表</h1>" in html and "评论内容不能为空。" in html
    assert "返回《注意力机制》" in html
    error = post_comment(client, SLUG, name="名" * 51, headers=JSON).get_json()
    assert error["error"] == "名字太长：51 个字符，最多 50 个。"
    answer = post_comment(client, SLUG, body="好文", headers=JSON).get_json()
    assert answer["message"] == "评论已发表。"
    posted = client.get(answer["url"].split("#")[0]).get_data(as_text=True)
    assert '<h2 id="comments-title">1 条评论 <a' in posted
    assert "评论已发表。" in posted
    # The zh-tw page is converted, its words from the catalog included.
    tw = section(client.get(f"/zh-tw/posts/{SLUG}/").get_data(as_text=True))
    assert "1 條評論" in tw and "發表評論" in tw and "發表评论" not in tw
    tw_error = post_comment(client, SLUG, prefix="/zh-tw", body="", headers=JSON).get_json()
    assert tw_error["error"] == "評論內容不能為空。"
    feed = client.get(f"/posts/{SLUG}/comments.xml").get_data(as_text=True)
    assert "<title>《注意力机制》的评论</title>" in feed


def test_ui_text_outside_an_app_is_the_english_message() -> None:
    assert ui_text("Comments on %(site)s", site="Blog") == "Comments on Blog"
    assert ui_text("") == ""


def test_english_site_search_and_password_messages(site: Callable[..., Flask]) -> None:
    import re

    from blog.posts import PostFields, save_post

    app = site("en")
    with app.app_context():
        save_post(
            PostFields(title="Locked", source="secret", slug="locked", password="sesame-1"),
            author="a",
        )
    client = app.test_client()
    assert "Please enter something to search for." in client.get("/search?q=").text
    missing = client.get("/search", query_string={"q": "zzzqqq"}).text
    assert "No posts found for “zzzqqq”." in missing
    assert "The search has no words to look for" in client.get("/search?q=%E3%80%82").text
    locked = client.get("/posts/locked/").text
    token = re.search(r'name="token" value="([^"]+)"', locked)
    action = re.search(r'class="unlock-form" method="post" action="([^"]+)"', locked)
    assert token and action
    wrong = client.post(
        action[1],
        data={"token": token[1], "password": "nope"},
        headers={"Origin": "http://localhost"},
    )
    assert wrong.status_code == 403
    assert "That password is not right; please try again." in wrong.text
    stale = client.post(
        action[1], data={"token": "x", "password": "nope"}, headers={"Origin": "http://localhost"}
    )
    assert "The form has expired or came from elsewhere" in stale.text
