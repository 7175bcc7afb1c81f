"""Page metadata from _seo.html: canonical, OpenGraph, Twitter card, JSON-LD BlogPosting."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser

from flask import Flask

from blog.models import Post


class Head(HTMLParser):
    """The <link>, <meta> and JSON-LD <script> elements of a page's head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str | None]] = []
        self.meta: dict[str, list[str]] = {}
        self.json_ld: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "link":
            self.links.append(attributes)
        elif tag == "meta":
            key = attributes.get("property") or attributes.get("name")
            if key:
                self.meta.setdefault(key, []).append(attributes.get("content") or "")
        elif tag == "script" and attributes.get("type") == "application/ld+json":
            self._in_json = True
            self.json_ld.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_json = False

    def handle_data(self, data: str) -> None:
        if self._in_json:
            self.json_ld[-1] += data

    def canonical(self) -> list[str]:
        return [str(link.get("href")) for link in self.links if link.get("rel") == "canonical"]


def head_of(app: Flask, path: str) -> Head:
    response = app.test_client().get(path)
    assert response.status_code == 200
    head = Head()
    head.feed(response.get_data(as_text=True))
    return head


def test_post_page_has_one_absolute_canonical_url(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    post = make_post("正文", title="规范链接")
    (canonical,) = head_of(app, f"/zh-hans/posts/{post.slug}/").canonical()
    assert canonical == f"http://localhost/zh-hans/posts/{post.slug}/"


def test_post_page_has_opengraph_and_twitter_tags_with_its_first_image(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    source = "第一段文字。\n\n![图一](/uploads/one.png)\n\n![图二](/uploads/two.png)"
    post = make_post(source, title="开放图谱")
    head = head_of(app, f"/posts/{post.slug}/")
    assert head.meta["og:type"] == ["article"]
    assert head.meta["og:title"] == ["开放图谱"]
    assert head.meta["og:description"][0].startswith("第一段")
    assert head.meta["og:image"] == ["http://localhost/uploads/one.png"]
    assert head.meta["twitter:card"] == ["summary_large_image"]
    assert head.meta["twitter:image"] == ["http://localhost/uploads/one.png"]


def test_post_without_image_gets_a_summary_card(app: Flask, make_post: Callable[..., Post]) -> None:
    post = make_post("没有图片。", title="无图")
    head = head_of(app, f"/posts/{post.slug}/")
    assert head.meta["twitter:card"] == ["summary"]
    assert "og:image" not in head.meta


def test_post_page_describes_itself_as_a_blog_posting(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    post = make_post("正文", title="结构化数据", tags=["甲", "乙"], category="杂谈")
    (block,) = head_of(app, f"/posts/{post.slug}/").json_ld
    data = json.loads(block)
    assert data["@type"] == "BlogPosting"
    assert data["headline"] == "结构化数据"
    assert sorted(data["keywords"]) == ["乙", "甲"]
    assert data["articleSection"] == "杂谈"
    assert data["datePublished"].endswith("Z")
    assert data["mainEntityOfPage"]["@id"].startswith("http://localhost/")


def test_json_ld_cannot_close_its_script_element(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    title = "</script><script>alert(1)</script>"
    post = make_post("正文", title=title)
    body = app.test_client().get(f"/posts/{post.slug}/").get_data(as_text=True)
    start = body.index('<script type="application/ld+json">')
    block = body[start : body.index("</script>", start)]
    assert "<script>" not in block
    (raw,) = head_of(app, f"/posts/{post.slug}/").json_ld
    assert json.loads(raw)["headline"] == title


def test_listing_pages_are_websites_without_json_ld(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    make_post("正文", title="首页文章")
    head = head_of(app, "/")
    assert head.meta["og:type"] == ["website"]
    assert head.json_ld == []
    assert len(head.canonical()) == 1


def test_every_page_links_its_atom_feed(app: Flask) -> None:
    head = head_of(app, "/")
    feeds = [link for link in head.links if link.get("type") == "application/atom+xml"]
    assert [link.get("href") for link in feeds] == ["http://localhost/feed.xml"]
