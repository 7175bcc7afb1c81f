"""Every public route: listings, post pages, archive, errors, visibility rules."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.models import DRAFT, SCHEDULED, Post, db, utcnow
from blog.posts import trash_post


class PageParser(HTMLParser):
    """Collects the structure tests look at: <html lang>, titles, links, post headings."""

    def __init__(self) -> None:
        super().__init__()
        self.html_lang: str | None = None
        self.links: list[str] = []
        self.rels: dict[str, str] = {}
        self.h1: list[str] = []
        self.h2: list[str] = []
        self._in: str | None = None
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang")
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
            if values.get("rel"):
                self.rels[str(values["rel"])] = str(values["href"])
        if tag in ("h1", "h2"):
            self._in = tag
            getattr(self, tag).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            getattr(self, self._in)[-1] += data


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


@pytest.fixture
def twelve_posts(make_post: Callable[..., Post]) -> list[Post]:
    start = utcnow() - timedelta(days=30)
    return [
        make_post(
            f"第{i}篇的正文。",
            title=f"文章 {i:02d}",
            published_at=start + timedelta(days=i),
            category="机器学习" if i % 2 else "工程实践",
            tags=["LLM"] if i % 3 == 0 else [],
        )
        for i in range(12)
    ]


def test_home_lists_ten_newest_posts_with_html_lang(
    client: FlaskClient, twelve_posts: list[Post]
) -> None:
    page = parse(client.get("/").get_data(as_text=True))
    assert page.doctype
    assert page.html_lang == "zh-Hans"
    assert page.h2 == [f"文章 {i:02d}" for i in range(11, 1, -1)]


def test_second_page_has_the_rest_and_links_back(
    client: FlaskClient, twelve_posts: list[Post]
) -> None:
    response = client.get("/page/2/")
    page = parse(response.get_data(as_text=True))
    assert page.h2 == ["文章 01", "文章 00"]
    assert page.rels["prev"] == "/"


def test_posts_per_page_is_configurable(
    make_app: Callable[..., Flask], database: str, twelve_posts: list[Post]
) -> None:
    client = make_app(POSTS_PER_PAGE=5, DATABASE_URL=database).test_client()
    assert len(parse(client.get("/").get_data(as_text=True)).h2) == 5
    assert client.get("/page/3/").status_code == 200
    assert client.get("/page/4/").status_code == 404


@pytest.mark.parametrize(
    "url", ["/page/0/", "/page/-1/", "/page/99999999999999999999/", "/page/abc/", "/page/3/"]
)
def test_bad_page_numbers_are_404(client: FlaskClient, twelve_posts: list[Post], url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert "页面不存在" in parse(response.get_data(as_text=True)).h1[0]


def test_post_page_links_previous_and_next(client: FlaskClient, twelve_posts: list[Post]) -> None:
    middle = twelve_posts[5]
    page = parse(client.get(f"/posts/{middle.slug}/").get_data(as_text=True))
    assert page.h1 == ["文章 05"]
    assert page.rels["prev"] == f"/posts/{twelve_posts[4].slug}/"
    assert page.rels["next"] == f"/posts/{twelve_posts[6].slug}/"


def test_chinese_slug_is_percent_encoded_and_served(
    client: FlaskClient, make_post: Callable[..., Post], make_app: Callable[..., Flask]
) -> None:
    post = make_post("内容", title="中文标题", slug="注意力机制")
    assert post.slug == "注意力机制"
    response = client.get("/posts/%E6%B3%A8%E6%84%8F%E5%8A%9B%E6%9C%BA%E5%88%B6/")
    assert response.status_code == 200


def test_category_and_tag_listings(client: FlaskClient, twelve_posts: list[Post]) -> None:
    category = parse(client.get("/categories/机器学习/").get_data(as_text=True))
    assert category.h2 == [f"文章 {i:02d}" for i in (11, 9, 7, 5, 3, 1)]
    tag = parse(client.get("/tags/LLM/").get_data(as_text=True))
    assert tag.h2 == ["文章 09", "文章 06", "文章 03", "文章 00"]
    assert client.get("/categories/不存在/").status_code == 404
    assert client.get("/tags/LLM/page/2/").status_code == 404


def test_category_listing_paginates(
    make_app: Callable[..., Flask], database: str, twelve_posts: list[Post]
) -> None:
    client = make_app(POSTS_PER_PAGE=4, DATABASE_URL=database).test_client()
    second = parse(client.get("/categories/机器学习/page/2/").get_data(as_text=True))
    assert second.h2 == ["文章 03", "文章 01"]


def test_archive_groups_by_year_and_month(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    from datetime import datetime

    make_post("a", title="一月", published_at=datetime(2025, 1, 5, 4))
    make_post("b", title="三月", published_at=datetime(2025, 3, 5, 4))
    make_post("c", title="去年", published_at=datetime(2024, 12, 5, 4))
    page = parse(client.get("/archive/").get_data(as_text=True))
    assert page.h2 == ["2025年", "2024年"]
    html = client.get("/archive/").get_data(as_text=True)
    assert html.index("三月") < html.index("一月") < html.index("去年")


def test_drafts_are_never_public(client: FlaskClient, make_post: Callable[..., Post]) -> None:
    draft = make_post("秘密", title="草稿", status=DRAFT)
    assert client.get(f"/posts/{draft.slug}/").status_code == 404
    assert "草稿" not in client.get("/").get_data(as_text=True)
    assert "草稿" not in client.get("/archive/").get_data(as_text=True)


def test_trashed_posts_are_never_public(
    app: Flask, client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    post = make_post("内容", title="将被删除")
    assert client.get(f"/posts/{post.slug}/").status_code == 200
    with app.app_context():
        trash_post(db.session.get(Post, post.id))
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    assert "将被删除" not in client.get("/").get_data(as_text=True)


def test_scheduled_post_appears_at_its_time_without_restart(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    # Far enough ahead that saving and the first request finish before it on a loaded
    # machine (1.5 s was not always); then wait only until it has passed.
    due = utcnow() + timedelta(seconds=4)
    post = make_post("未来", title="定时发布", published_at=due)
    assert post.status == SCHEDULED
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.1)
    assert client.get(f"/posts/{post.slug}/").status_code == 200
    assert "定时发布" in client.get("/").get_data(as_text=True)


def test_standalone_page_is_served_but_not_listed(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    page = make_post("关于我", title="关于", kind="page", slug="about")
    assert client.get("/pages/about/").status_code == 200
    assert "关于" not in parse(client.get("/").get_data(as_text=True)).h2
    assert client.get(f"/posts/{page.slug}/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/posts/../../etc/passwd/",
        "/posts/..%2F..%2Fconfig.toml/",
        "/static/theme/../../config.toml",
    ],
)
def test_traversal_attempts_are_404(client: FlaskClient, url: str) -> None:
    assert client.get(url).status_code == 404


def test_server_error_page_is_themed(make_app: Callable[..., Flask]) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("deliberate")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert parse(response.get_data(as_text=True)).h1 == ["500：服务器出错了"]


def test_theme_static_files_are_hashed_and_cached_for_a_year(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    css = next(
        link
        for link in html.split('"')
        if link.startswith("/static/theme/") and link.endswith(".css")
    )
    response = client.get(css)
    assert response.status_code == 200
    assert (
        "max-age=315360000" in response.headers["Cache-Control"]
        or "immutable" in response.headers["Cache-Control"]
    )


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    headers = client.get("/").headers
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]
