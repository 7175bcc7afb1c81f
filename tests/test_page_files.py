"""Front-server mode: the page cache writes public pages as files and removes them on change."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from pathlib import Path

import brotli
import pytest
from flask import Flask
from sqlalchemy import select

from blog.models import Post, db
from blog.posts import fields_of, save_post


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def files_app(make_app: Callable[..., Flask], database: str) -> Flask:
    """The app with page files on, over the same database as ``make_post``'s app."""
    settings = {"DATABASE_URL": database} if database else {}
    return make_app(PAGE_CACHE_FILES="page-files", PAGE_CACHE_CHECK_MS=100, **settings)


def test_a_prefixed_page_is_written_with_compressed_siblings(
    files_app: Flask, make_post: Callable[..., Post], instance: Path
) -> None:
    app = files_app
    make_post("正文" * 300, title="文件", slug="file-post")
    response = app.test_client().get("/zh-tw/posts/file-post/")
    assert response.status_code == 200
    page = instance / "page-files" / "zh-tw" / "posts" / "file-post" / "index.html"
    assert page.read_bytes() == response.data
    assert gzip.decompress(page.with_name("index.html.gz").read_bytes()) == response.data
    assert brotli.decompress(page.with_name("index.html.br").read_bytes()) == response.data


def test_reader_dependent_and_missing_pages_are_not_written(
    files_app: Flask, make_post: Callable[..., Post], instance: Path
) -> None:
    app = files_app
    make_post(title="文件", slug="file-post")
    client = app.test_client()
    assert client.get("/posts/file-post/").status_code == 200  # unprefixed: varies by reader
    assert client.get("/zh-tw/?page=2").status_code in (200, 404)  # a query string
    assert client.get("/zh-tw/posts/missing/").status_code == 404
    root = instance / "page-files"
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert written == []


def test_an_edit_removes_the_files_and_the_next_request_writes_the_new_page(
    files_app: Flask, make_post: Callable[..., Post], instance: Path
) -> None:
    app = files_app
    make_post("oldbody", title="文件", slug="file-post")
    client = app.test_client()
    client.get("/zh-tw/posts/file-post/")
    page = instance / "page-files" / "zh-tw" / "posts" / "file-post" / "index.html"
    assert "oldbody" in page.read_text(encoding="utf-8")
    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == "file-post")).one()
        fields = fields_of(post)
        fields.source = "newbody"
        save_post(fields, author="test", post=post)
    # The watcher thread removes the files without any request reaching the app.
    assert wait_until(lambda: not page.exists())
    assert "newbody" in client.get("/zh-tw/posts/file-post/").get_data(as_text=True)
    assert "newbody" in page.read_text(encoding="utf-8")
