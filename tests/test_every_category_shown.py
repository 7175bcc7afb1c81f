"""Search results and the password-locked page name every category of a post, not only the first."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from flask import Flask

from blog.models import Post
from blog.search import rebuild_index

CATEGORIES = ["机器学习", "深度学习", "自然语言处理"]


def category_links(html: bytes, start: str, end: str) -> list[str]:
    """The categories linked (``class="category…"``) between ``start`` and the next ``end``."""
    region = html.decode().split(start, 1)[1].split(end, 1)[0]
    links = re.findall(r'<a class="category[^"]*" href="/categories/([^"]+)/"', region)
    return [unquote(link) for link in links]


def test_search_result_links_every_category_primary_first(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    make_post("卷积网络的注意力机制。", title="注意力", slug="attention", categories=CATEGORIES)
    response = app.test_client().get("/search?q=注意力机制")
    assert response.status_code == 200
    assert (
        category_links(response.data, '<article class="search-result">', "</article>") == CATEGORIES
    )


def test_search_finds_a_post_by_its_second_category(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    make_post("正文没有那个词。", title="词向量", slug="vectors", categories=["杂谈", "表示学习"])
    make_post("另一篇。", title="别的", slug="other", categories=["杂谈"])
    with app.app_context():
        rebuild_index()  # the bulk path must index every category as the save path does
    body = app.test_client().get("/search?q=表示学习").get_data(as_text=True)
    assert "/posts/vectors/" in body and "/posts/other/" not in body


def test_locked_page_links_every_category(app: Flask, make_post: Callable[..., Post]) -> None:
    make_post("秘密正文", title="受保护", slug="locked", categories=CATEGORIES, password="开门-1")
    response = app.test_client().get("/posts/locked/")
    assert response.status_code == 200
    assert "秘密正文" not in response.get_data(as_text=True)
    assert category_links(response.data, '<header class="post-header">', "</header>") == CATEGORIES
