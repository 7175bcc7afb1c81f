"""The page cache stores text compressed (brotli, gzip) and answers by Accept-Encoding."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.cache import accepted_codings, make_page
from blog.models import Post


@pytest.fixture
def cached(
    make_app: Callable[..., Flask], make_post: Callable[..., Post], database: str
) -> FlaskClient:
    app = make_app(DATABASE_URL=database) if database else make_app()
    for number in range(3):
        make_post("很长的正文。" * 200, title=f"文章 {number}")
    return app.test_client()


def test_brotli_is_preferred_and_decodes_to_the_same_page(cached: FlaskClient) -> None:
    plain = cached.get("/zh-tw/")
    assert plain.headers.get("Content-Encoding") is None
    coded = cached.get("/zh-tw/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert coded.headers["Content-Encoding"] == "br"
    assert brotli.decompress(coded.data) == plain.data
    assert int(coded.headers["Content-Length"]) == len(coded.data) < len(plain.data) / 3


def test_gzip_when_brotli_is_not_accepted(cached: FlaskClient) -> None:
    plain = cached.get("/").data
    coded = cached.get("/", headers={"Accept-Encoding": "gzip"})
    assert coded.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(coded.data) == plain


def test_every_representation_varies_on_accept_encoding(cached: FlaskClient) -> None:
    for encoding in ("", "gzip", "br"):
        response = cached.get("/", headers={"Accept-Encoding": encoding} if encoding else {})
        vary = {v.strip() for v in response.headers["Vary"].split(",")}
        assert "Accept-Encoding" in vary
        assert "Cookie" in vary  # the unprefixed page still varies on the reader's choice


def test_each_coding_has_its_own_etag_and_304(cached: FlaskClient) -> None:
    plain = cached.get("/feed.xml")
    coded = cached.get("/feed.xml", headers={"Accept-Encoding": "br"})
    assert coded.headers["ETag"] != plain.headers["ETag"]
    again = cached.get(
        "/feed.xml", headers={"Accept-Encoding": "br", "If-None-Match": coded.headers["ETag"]}
    )
    assert again.status_code == 304
    # The identity validator does not revalidate the brotli body, and the other way round.
    other = cached.get(
        "/feed.xml", headers={"Accept-Encoding": "br", "If-None-Match": plain.headers["ETag"]}
    )
    assert other.status_code == 200 and other.headers["Content-Encoding"] == "br"


def test_refused_codings_and_wildcards() -> None:
    assert accepted_codings("gzip, deflate, br") == ["br", "gzip"]
    assert accepted_codings("br;q=0, gzip") == ["gzip"]
    assert accepted_codings("gzip;q=0.5, br;q=0.8") == ["br", "gzip"]
    assert accepted_codings("*") == ["br", "gzip"]
    assert accepted_codings("identity") == []
    assert accepted_codings("gzip;q=zero") == []


def test_small_or_binary_bodies_are_stored_once() -> None:
    tiny = make_page("200 OK", [("Content-Type", "text/html")], b"<p>hi</p>")
    assert tiny.encoded == {}
    image = make_page("200 OK", [("Content-Type", "image/png")], b"\0" * 5000)
    assert image.encoded == {}
    text = make_page("200 OK", [("Content-Type", "text/html; charset=utf-8")], b"a" * 5000)
    assert set(text.encoded) == {"br", "gzip"} and text.size > 5000
