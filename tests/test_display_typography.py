"""Typography beyond the post body: titles, <title>, listings, TOC, meta, snippets and feeds.

Also the two body rules this issue added: no white space before closing full-width
punctuation, and inline math or code kept together with the punctuation after it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.models import Post, db
from blog.posts import PostFields, save_post
from blog_plugins.typography import typeset_html, typeset_text
from blog_plugins.typography.punctuation import remove_space_before_punctuation

TITLE = "从零推导RoPE旋转位置编码"
SPACED = "从零推导 RoPE 旋转位置编码"
SOURCE = "第一段讲RoPE的“旋转”思想。\n\n## 用PyTorch实现\n\n代码如下。\n"


class Texts(HTMLParser):
    """The text of a few elements and the content of the meta tags."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: dict[str, list[str]] = {}
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta":
            key = values.get("name") or values.get("property") or ""
            self.meta[key] = values.get("content", "")
            return
        if tag in ("title", "h1", "h2", "a", "p", "li"):
            self.stack.append(tag)
            self.text.setdefault(tag, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for tag in set(self.stack):
            self.text[tag][-1] += data


def texts(client: FlaskClient, url: str) -> Texts:
    response = client.get(url)
    assert response.status_code == 200, url
    parsed = Texts()
    parsed.feed(response.get_data(as_text=True))
    return parsed


@pytest.fixture
def post(make_post: Callable[..., Post]) -> Post:
    return make_post(SOURCE, title=TITLE, slug="rope")


def test_post_page_spaces_title_heading_title_tag_and_meta(client: FlaskClient, post: Post) -> None:
    page = texts(client, "/posts/rope/")
    assert page.text["h1"] == [SPACED]
    assert page.text["title"][0].startswith(SPACED + " - ")
    assert page.meta["og:title"] == SPACED
    assert page.meta["twitter:title"] == SPACED
    assert "讲 RoPE 的" in page.meta["description"]
    assert "用 PyTorch 实现" in page.text["a"]  # the table of contents


def test_stored_title_stays_as_written(app: Flask, post: Post) -> None:
    with app.app_context():
        assert db.session.get(Post, post.id).title == TITLE  # type: ignore[union-attr]


def test_listings_and_excerpts_are_spaced(client: FlaskClient, post: Post) -> None:
    home = texts(client, "/")
    assert SPACED in home.text["h2"]
    assert any("讲 RoPE 的" in text for text in home.text["p"])
    assert SPACED in texts(client, "/archive/").text["a"]


def test_search_results_are_spaced(client: FlaskClient, post: Post) -> None:
    results = texts(client, "/search?q=旋转")
    assert SPACED in results.text["a"]
    assert any("RoPE 的" in text for text in results.text["p"])


def test_feed_titles_and_summaries_are_spaced(client: FlaskClient, post: Post) -> None:
    feed = feedparser.parse(client.get("/feed.xml").data)
    (entry,) = feed.entries
    assert entry.title == SPACED
    assert "讲 RoPE 的" in entry.summary


@pytest.mark.parametrize("code", ["zh-tw", "zh-hk"])
def test_taiwan_and_hong_kong_feeds_get_corner_quotes(
    client: FlaskClient, post: Post, code: str
) -> None:
    feed = client.get(f"/{code}/feed.xml").get_data(as_text=True)
    assert "「旋轉」" in feed and "“" not in feed
    assert not feedparser.parse(feed).bozo


def test_simplified_feed_keeps_curly_quotes(client: FlaskClient, post: Post) -> None:
    assert "“旋转”" in client.get("/zh-hans/feed.xml").get_data(as_text=True)


# -- the body rules ---------------------------------------------------------------------------


def test_space_before_closing_full_width_punctuation_is_removed() -> None:
    assert remove_space_before_punctuation("使用 Python 。然后 ，再") == "使用 Python。然后，再"
    assert typeset_text("安装Python 。") == "安装 Python。"
    assert typeset_html("<p>见 <code>x = 1</code> 。</p>") == (
        '<p>见 <span class="nowrap"><code>x = 1</code>。</span></p>'
    )
    # Inside code the writer's spaces are kept.
    assert typeset_html("<p><code>a 。</code></p>") == "<p><code>a 。</code></p>"


def test_inline_math_and_code_keep_their_punctuation(make_post: Callable[..., Post]) -> None:
    post = make_post("能量 $E=mc^2$，其中 `c` 是光速。", slug="nowrap")
    html = post.body_html
    assert '<span class="nowrap"><span class="math math-inline"' in html
    assert "</math></span>，</span>" in html
    assert '<span class="nowrap"><code>c</code></span>' not in html  # no punctuation after it
    code = typeset_html("<p>调用 <code>f()</code>。</p>")
    assert code == '<p>调用 <span class="nowrap"><code>f()</code>。</span></p>'
    # A match never runs from a code block over the text after it to a later code span.
    block = typeset_html("<pre><code>x = 1</code></pre><p>见 <code>x</code>。</p>")
    assert block == (
        '<pre><code>x = 1</code></pre><p>见 <span class="nowrap"><code>x</code>。</span></p>'
    )


# -- every other place a title or a name reaches a reader -------------------------------------

SITE_TITLE = "我的NLP笔记"
SITE_SPACED = "我的 NLP 笔记"


@pytest.fixture
def site_client(make_app: Callable[..., Flask]) -> FlaskClient:
    """A site whose own title, description, category and tag mix Chinese and Latin."""
    app = make_app(SITE_TITLE=SITE_TITLE, SITE_DESCRIPTION="关于Transformer与RoPE的笔记")
    with app.app_context():
        fields = PostFields(
            title=TITLE,
            source=SOURCE,
            slug="rope",
            status="published",
            category="深度学习NLP",
            tags=["PyTorch实战"],
        )
        save_post(fields, author="test")
    return app.test_client()


def json_ld(client: FlaskClient, url: str) -> dict[str, object]:
    page = client.get(url).get_data(as_text=True)
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert found, url
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_site_title_and_description_are_spaced_everywhere(site_client: FlaskClient) -> None:
    home = texts(site_client, "/")
    assert home.text["title"] == [SITE_SPACED]
    assert any(SITE_SPACED in text for text in home.text["h1"])
    assert SITE_SPACED in home.text["a"]  # the site name in the header
    assert home.meta["description"] == "关于 Transformer 与 RoPE 的笔记"
    assert home.meta["og:site_name"] == SITE_SPACED
    assert home.meta["og:title"] == SITE_SPACED
    post = texts(site_client, "/posts/rope/")
    assert post.text["title"] == [f"{SPACED} - {SITE_SPACED}"]
    missing = site_client.get("/posts/none/")
    assert missing.status_code == 404
    assert f"<title>{SITE_SPACED}" in missing.get_data(as_text=True) or (
        f" - {SITE_SPACED}</title>" in missing.get_data(as_text=True)
    )
    for url in ("/archive/", "/search?q=RoPE", "/links/"):
        response = site_client.get(url)
        if response.status_code == 200:
            assert f"- {SITE_SPACED}</title>" in response.get_data(as_text=True), url


def test_structured_data_category_and_tag_names_are_spaced(site_client: FlaskClient) -> None:
    data = json_ld(site_client, "/posts/rope/")
    assert data["headline"] == SPACED
    assert "讲 RoPE 的" in str(data["description"])
    post = texts(site_client, "/posts/rope/")
    assert "深度学习 NLP" in post.text["a"]
    assert "#PyTorch 实战" in post.text["a"]
    listing = texts(site_client, "/categories/深度学习NLP/")
    assert listing.text["title"] == [f"深度学习 NLP - {SITE_SPACED}"]
    assert any("深度学习 NLP" in text for text in listing.text["h1"])
    assert "#PyTorch 实战" in texts(site_client, "/").text["a"]


def test_feed_and_comment_feed_titles_are_spaced(site_client: FlaskClient) -> None:
    feed = feedparser.parse(site_client.get("/feed.xml").data)
    assert feed.feed.title == SITE_SPACED
    assert feed.feed.subtitle == "关于 Transformer 与 RoPE 的笔记"
    comments = feedparser.parse(site_client.get("/posts/rope/comments.xml").data)
    assert SPACED in comments.feed.title
    site_comments = feedparser.parse(site_client.get("/comments.xml").data)
    assert SITE_SPACED in site_comments.feed.title
