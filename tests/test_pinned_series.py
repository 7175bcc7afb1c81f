"""Pinned posts and series (issue 19, items 1 and 2): front matter, admin, pages, feed, build."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from blog.admin.fields import merge_fields
from blog.dates import site_zone
from blog.frontmatter import split_document
from blog.models import DRAFT, Post, db
from blog.posts import (
    FieldError,
    PostFields,
    fields_from_document,
    fields_of,
    save_post,
    trash_post,
)
from tests.admin_support import create_user, editor_form, find, login, post_form

ATOM = "{http://www.w3.org/2005/Atom}"
DAY = datetime(2025, 3, 1, 8, 0)


def card_titles(html: str, section: str | None = None) -> list[str]:
    """Titles of the post cards on a page, or only those inside ``<section class=section>``."""
    if section is not None:
        match = re.search(rf'<section class="{section}".*?</section>', html, re.S)
        html = match.group(0) if match else ""
    return re.findall(
        r'class="post-card-title">(?:<span[^>]*>[^<]*</span> )?<a[^>]*>([^<]*)</a>', html
    )


def dated(make_post: Callable[..., Post], count: int, **fields: object) -> list[Post]:
    """``count`` posts one day apart, oldest first, titled 文章 1, 文章 2, ..."""
    return [
        make_post(title=f"文章 {n}", published_at=DAY + timedelta(days=n), **fields)
        for n in range(1, count + 1)
    ]


# --- pinned ------------------------------------------------------------------------------


def test_pinned_posts_head_the_home_page_once_with_a_marker_and_pages_keep_their_order(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(POSTS_PER_PAGE=3)
    client = app.test_client()
    with app.app_context():
        for n in range(1, 8):
            save_post(
                PostFields(title=f"文章 {n}", source="正文", published_at=DAY + timedelta(days=n)),
                author="t",
            )
    before = {n: client.get(f"/page/{n}/").get_data(as_text=True) for n in (2, 3)}
    with app.app_context():
        # The oldest post pinned with a rank (Hexo's sticky: 5), a newer one with `true`.
        for title, meta in (("文章 1", {"pinned": 5}), ("文章 6", {"pinned": True})):
            post = db.session.scalars(select(Post).where(Post.title == title)).one()
            fields = fields_of(post)
            fields.meta = meta
            save_post(fields, author="t", post=post)
    home = client.get("/").get_data(as_text=True)
    assert card_titles(home, "pinned-posts") == ["文章 1", "文章 6"]  # rank 5 before rank 1
    assert home.count('<span class="pinned-mark">置顶</span>') == 2
    # Each post once on the first page: the pinned ones are not repeated below.
    assert card_titles(home) == ["文章 1", "文章 6", "文章 7", "文章 5"]
    assert home.index("pinned-posts") < home.index("文章 7")
    # Later pages are the plain date order they always were: old links still point right.
    for n in (2, 3):
        assert client.get(f"/page/{n}/").get_data(as_text=True) == before[n]
    # Listings other than the home page keep plain order, no marker.
    assert "pinned-mark" not in client.get("/archive/").get_data(as_text=True)
    zh_tw = client.get("/zh-tw/").get_data(as_text=True)
    assert "置頂" in zh_tw and card_titles(zh_tw, "pinned-posts") == ["文章 1", "文章 6"]


def test_a_pinned_draft_or_trashed_post_is_not_shown(
    app: Flask, make_post: Callable[..., Post], client: FlaskClient
) -> None:
    make_post(title="公开", published_at=DAY)
    make_post(title="置顶草稿", status=DRAFT, meta={"pinned": True})
    trashed = make_post(title="置顶后删除", meta={"pinned": True})
    assert "置顶后删除" in client.get("/").get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(Post, trashed.id)
        assert stored is not None and trash_post(stored)
    home = client.get("/").get_data(as_text=True)
    assert "pinned-posts" not in home and "置顶草稿" not in home
    assert card_titles(home) == ["公开"]


@pytest.mark.parametrize("theme", ["paper", "transmission"])
def test_both_themes_show_the_pinned_section(make_app: Callable[..., Flask], theme: str) -> None:
    app = make_app(THEME=theme)
    with app.app_context():
        save_post(
            PostFields(title="旧的置顶", source="x", published_at=DAY, meta={"pinned": True}),
            author="t",
        )
        save_post(
            PostFields(title="新文章", source="x", published_at=DAY + timedelta(days=9)), author="t"
        )
    home = app.test_client().get("/").get_data(as_text=True)
    assert card_titles(home, "pinned-posts") == ["旧的置顶"]
    assert card_titles(home) == ["旧的置顶", "新文章"]


def test_front_matter_and_hexo_sticky_pin_a_post(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    posts = tmp_path / "hexo" / "source" / "_posts"
    posts.mkdir(parents=True)
    (tmp_path / "hexo" / "_config.yml").write_text("url: https://old.example.com\n", "utf-8")
    (posts / "old.md").write_text(
        "---\ntitle: 置顶的旧文\ndate: 2020-01-01 10:00:00\nsticky: 100\n---\n正文\n", "utf-8"
    )
    (posts / "top.md").write_text(
        "---\ntitle: 用 top 置顶\ndate: 2020-02-01 10:00:00\ntop: 3\n---\n正文\n", "utf-8"
    )
    (posts / "new.md").write_text("---\ntitle: 新文章\ndate: 2024-01-01\n---\n正文\n", "utf-8")
    assert run_cli("upgrade").exit_code == 0
    result = run_cli("import", str(tmp_path / "hexo"))
    assert result.exit_code == 0, result.output
    app = make_app()
    home = app.test_client().get("/").get_data(as_text=True)
    assert card_titles(home, "pinned-posts") == ["置顶的旧文", "用 top 置顶"]
    with app.app_context():
        document = split_document("---\ntitle: 标题\npinned: true\n---\n正文\n")

        fields = fields_from_document(document, site_zone())
        assert fields.meta["pinned"] is True
        post = save_post(fields, author="t")
        assert post.pinned == 1


def test_admin_checkbox_pins_and_unpins_a_post(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    create_user(app)
    client = app.test_client()
    login(client)
    response = post_form(
        client, "/admin/posts/new", editor_form(title="置顶公告", action="publish", pinned="1")
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    edit_url = response.headers["Location"]
    page = client.get(edit_url).data
    assert "checked" in find(page, "input", type="checkbox", name="pinned").attrs
    assert card_titles(client.get("/").get_data(as_text=True), "pinned-posts") == ["置顶公告"]
    # Unticked: the browser sends only the hidden "0".
    version = find(page, "input", name="version").attrs["value"]
    response = post_form(
        client,
        edit_url,
        editor_form(title="置顶公告", action="publish", pinned="0", version=version),
    )
    assert response.status_code == 302
    assert "pinned-posts" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        post = db.session.scalars(select(Post)).one()
        assert post.pinned == 0 and "pinned" not in post.meta


def test_ticking_keeps_an_imported_rank_and_the_api_takes_a_rank() -> None:
    base = PostFields(title="t", source="s", meta={"pinned": 7})
    assert merge_fields(base, {"pinned": "1"}).meta["pinned"] == 7
    assert "pinned" not in merge_fields(base, {"pinned": "0"}).meta
    assert merge_fields(base, {"pinned": 2}, strict_keys=True).meta["pinned"] == 2
    with pytest.raises(FieldError) as error:
        merge_fields(base, {"pinned": "很高"})
    assert error.value.key == "pinned"


# --- series ------------------------------------------------------------------------------


def test_series_page_lists_parts_in_order_and_each_post_shows_its_place(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    client = app.test_client()
    # Written out of order; the third part has no number and is placed after numbered ones.
    make_post(
        title="第二讲",
        published_at=DAY,
        slug="p2",
        meta={"series": "从零写编译器", "series_order": 2},
    )
    make_post(
        title="第一讲",
        published_at=DAY + timedelta(days=1),
        slug="p1",
        meta={"series": "从零写编译器", "series_order": 1},
    )
    make_post(
        title="番外",
        published_at=DAY + timedelta(days=2),
        slug="extra",
        meta={"series": "从零写编译器"},
    )
    make_post(title="无关", published_at=DAY + timedelta(days=3), slug="other")
    make_post(title="草稿部分", status=DRAFT, meta={"series": "从零写编译器", "series_order": 0})

    page = client.get("/series/从零写编译器/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "系列：从零写编译器" in html
    assert card_titles(html) == ["第一讲", "第二讲", "番外"]
    assert "草稿部分" not in html and "无关" not in html

    post = client.get("/posts/p2/").get_data(as_text=True)
    nav = re.search(r'<nav class="series-nav".*?</nav>', post, re.S)
    assert nav is not None
    assert "第 2 篇，共 3 篇" in nav.group(0)
    assert 'href="/series/%E4%BB%8E%E9%9B%B6%E5%86%99%E7%BC%96%E8%AF%91%E5%99%A8/"' in nav.group(0)
    assert 'href="/posts/p1/"' in nav.group(0) and 'href="/posts/extra/"' in nav.group(0)
    first = client.get("/posts/p1/").get_data(as_text=True)
    assert "第 1 篇，共 3 篇" in first and "本系列上一篇" not in first
    assert "series-nav" not in client.get("/posts/other/").get_data(as_text=True)

    assert client.get("/series/没有这个系列/").status_code == 404
    tw = client.get("/zh-tw/series/从零写编译器/").get_data(as_text=True)
    assert "系列：從零寫編譯器" in tw and 'href="/zh-tw/posts/p1/"' in tw
    assert "第 2 篇，共 3 篇" in client.get("/zh-hk/posts/p2/").get_data(as_text=True)


def test_feed_entry_names_its_series(make_post: Callable[..., Post], client: FlaskClient) -> None:
    make_post(title="第一讲", slug="p1", meta={"series": "编译器"})
    make_post(title="单篇", slug="single")
    feed = ElementTree.fromstring(client.get("/feed.xml").data)
    entries = {e.findtext(f"{ATOM}title"): e for e in feed.iter(f"{ATOM}entry")}
    series = [c.attrib for c in entries["第一讲"].iter(f"{ATOM}category") if c.get("scheme")]
    assert series == [
        {
            "term": "编译器",
            "scheme": "http://localhost/series/%E7%BC%96%E8%AF%91%E5%99%A8/",
            "label": "系列：编译器",
        }
    ]
    assert not [c for c in entries["单篇"].iter(f"{ATOM}category") if c.get("scheme")]


@pytest.mark.parametrize("name", ["a/b", "../etc", "..", ".", "a\\b", " .. "])
def test_series_name_that_would_be_a_path_is_refused_by_name(
    make_app: Callable[..., Flask], name: str
) -> None:
    app = make_app()
    with app.app_context(), pytest.raises(FieldError) as error:
        save_post(PostFields(title="t", source="s", meta={"series": name}), author="t")
    assert error.value.key == "series"
    with app.app_context():
        assert db.session.scalar(select(Post.id)) is None  # nothing saved


def test_series_errors_in_the_admin_name_the_field(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    create_user(app)
    client = app.test_client()
    login(client)
    for form, field in (
        ({"series": "../../etc"}, "series"),
        ({"series": "好", "series_order": "第三"}, "series_order"),
    ):
        response = post_form(client, "/admin/posts/new", editor_form(**form))
        assert response.status_code == 400
        assert field in response.get_data(as_text=True)
    response = post_form(
        client,
        "/admin/posts/new",
        editor_form(title="一", series="编译器", series_order="3", action="publish"),
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).data
    assert find(page, "input", name="series").attrs["value"] == "编译器"
    assert find(page, "input", name="series_order").attrs["value"] == "3"
    with app.app_context():
        slug = db.session.scalars(select(Post.slug)).one()
    assert "第 1 篇，共 1 篇" in client.get(f"/posts/{slug}/").get_data(as_text=True)


@pytest.mark.slow
def test_a_series_of_1000_posts(app: Flask, client: FlaskClient) -> None:
    # Inserted in bulk (the pages are what is under test, not 1,000 renders).
    rows = [
        {
            "slug": f"part-{n}",
            "title": f"第 {n} 部分",
            "source": "正文",
            "body_html": "<p>正文</p>",
            "status": "published",
            "kind": "post",
            "lang": "zh-Hans",
            "published_at": DAY + timedelta(minutes=n),
            "meta": {"series": "长系列", "series_order": 1000 - n},
            "series": "长系列",
            "series_order": 1000 - n,
            "version": 1,
        }
        for n in range(1000)
    ]
    with app.app_context():
        db.session.execute(insert(Post), rows)
        db.session.commit()
    started = time.perf_counter()
    html = client.get("/series/长系列/").get_data(as_text=True)
    series_seconds = time.perf_counter() - started
    titles = card_titles(html)
    assert len(titles) == 1000
    assert titles[0] == "第 999 部分" and titles[-1] == "第 0 部分"  # by series_order
    middle = client.get("/posts/part-500/").get_data(as_text=True)
    assert "第 500 篇，共 1000 篇" in middle
    assert 'href="/posts/part-501/"' in middle and 'href="/posts/part-499/"' in middle
    print(f"series page of 1000: {series_seconds:.3f}s")


def test_static_build_writes_series_pages(
    tmp_path: Path, make_app: Callable[..., Flask], instance: Path
) -> None:
    from tests.test_build import run_build

    app = make_app()
    with app.app_context():
        save_post(
            PostFields(
                title="一", source="x", slug="one", meta={"series": "编译器", "series_order": 1}
            ),
            author="t",
        )
        save_post(
            PostFields(
                title="二", source="x", slug="two", meta={"series": "编译器", "series_order": 2}
            ),
            author="t",
        )
        save_post(
            PostFields(
                title="置顶", source="x", slug="top", published_at=DAY, meta={"pinned": True}
            ),
            author="t",
        )
    out = tmp_path / "out"
    result = run_build(instance, out)
    assert result.exit_code == 0, result.output
    for prefix in ("", "zh-tw/"):
        page = out / f"{prefix}series/编译器/index.html"
        assert page.is_file(), sorted(str(p.relative_to(out)) for p in out.rglob("series*"))
        assert "第 1 篇" in page.read_text("utf-8")
    assert "pinned-posts" in (out / "index.html").read_text("utf-8")
