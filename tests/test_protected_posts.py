"""Password-protected posts (issue 19, item 3): the body never leaves the server locked."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.test import TestResponse

from blog.dates import site_zone
from blog.frontmatter import split_document
from blog.models import Post, Revision, db
from blog.posts import PostFields, fields_from_document, fields_of, save_post
from tests.admin_support import create_user, editor_form, find, login, post_form

#: ASCII, so no variant conversion can hide a leak.
SECRET = "QZX-secret-body-7731"
HEADING = "QZX-heading-4410"
PASSWORD = "芝麻开门-2026"
SOURCE = f"## {HEADING}\n\n{SECRET} 是只有知道密码的读者才能看到的正文。\n"
ORIGIN = {"Origin": "http://localhost"}


def make_protected(app: Flask, slug: str = "locked", **fields: Any) -> int:
    with app.app_context():
        post = save_post(
            PostFields(
                title="受保护的文章",
                source=SOURCE,
                slug=slug,
                category="笔记",
                tags=["秘密"],
                password=PASSWORD,
                **fields,
            ),
            author="t",
        )
        return post.id


def unlock(client: FlaskClient, path: str, password: str = PASSWORD) -> TestResponse:
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page)
    action = re.search(r'class="unlock-form" method="post" action="([^"]+)"', page)
    assert token and action, page
    return client.post(
        action.group(1), data={"token": token.group(1), "password": password}, headers=ORIGIN
    )


PUBLIC_PATHS = (
    "/",
    "/zh-tw/",
    "/archive/",
    "/categories/笔记/",
    "/tags/秘密/",
    "/feed.xml",
    "/zh-tw/feed.xml",
    "/categories/笔记/feed.xml",
    "/tags/秘密/feed.xml",
    "/sitemap.xml",
    "/search?q=知道密码的读者",
    "/search?q=受保护的文章",
    "/posts/locked/",
    "/zh-tw/posts/locked/",
    "/zh-hk/posts/locked/",
)


def test_body_is_absent_from_every_public_response_until_unlocked(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    make_post(title="公开文章", source="公开的正文", slug="open", category="笔记", tags=["秘密"])
    make_protected(app)
    client = app.test_client()
    for path in PUBLIC_PATHS:
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert SECRET not in text and HEADING not in text, path
    locked = client.get("/posts/locked/").get_data(as_text=True)
    assert "受保护的文章" in locked and 'class="unlock-form"' in locked
    assert 'name="robots" content="noindex"' in locked
    for path in ("/sitemap.xml", "/search?q=知道密码的读者", "/search?q=受保护的文章"):
        assert "/posts/locked/" not in client.get(path).get_data(as_text=True), path
    found = client.get("/search?q=公开的正文").get_data(as_text=True)
    assert "/posts/open/" in found  # search works; it only leaves the protected post out
    assert "受保护的文章" not in client.get("/feed.xml").get_data(as_text=True)
    assert "受保护" in client.get("/").get_data(as_text=True)  # listed, with a placeholder
    assert "受密码保护" in client.get("/").get_data(as_text=True)

    response = unlock(client, "/posts/locked/")
    assert response.status_code == 303 and response.headers["Location"] == "/posts/locked/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Path=/" in cookie and "SameSite=Lax" in cookie
    # The locked page was cached for everyone above; the unlocked reader gets the body anyway.
    for path in ("/posts/locked/", "/zh-tw/posts/locked/"):
        opened = client.get(path)
        assert SECRET in opened.get_data(as_text=True), path
        assert "no-store" in opened.headers["Cache-Control"]
        assert "private" in opened.headers["Cache-Control"]
    # Unlocking opens the post, nothing else: feeds, search and listings stay as they were.
    for path in ("/", "/feed.xml", "/search?q=知道密码的读者", "/sitemap.xml"):
        assert SECRET not in client.get(path).get_data(as_text=True), path
    # Another reader, without the cookie, still gets the locked page.
    assert SECRET not in app.test_client().get("/posts/locked/").get_data(as_text=True)


def test_wrong_passwords_in_a_loop_are_rate_limited(make_app: Callable[..., Flask]) -> None:
    app = make_app(POST_UNLOCK_ATTEMPTS=5)
    make_protected(app)
    client = app.test_client()
    for attempt in range(5):
        response = unlock(client, "/posts/locked/", password=f"guess-{attempt}")
        assert response.status_code == 403
        assert "密码不对" in response.get_data(as_text=True)
        assert SECRET not in response.get_data(as_text=True)
    refused = unlock(client, "/posts/locked/", password="guess-6")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    # Even the right password waits: the count is of guesses, not of wrong ones only.
    late = unlock(client, "/posts/locked/")
    assert late.status_code == 429 and "Set-Cookie" not in late.headers
    assert SECRET not in client.get("/posts/locked/").get_data(as_text=True)


def test_tampered_foreign_and_expired_cookies_do_not_unlock(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    first = make_protected(app)
    second = make_protected(app, slug="other")
    client = app.test_client()
    cookie = unlock(client, "/posts/locked/").headers["Set-Cookie"]
    value = cookie.split(";")[0].split("=", 1)[1]

    def opened(post_id: int, slug: str, cookie_value: str) -> bool:
        reader = app.test_client()
        reader.set_cookie(f"blog_unlock_{post_id}", cookie_value)
        return SECRET in reader.get(f"/posts/{slug}/").get_data(as_text=True)

    assert opened(first, "locked", value)
    assert not opened(first, "locked", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert not opened(first, "locked", "")
    assert not opened(second, "other", value)  # scoped to the post it was given for

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 25 * 3600  # past POST_UNLOCK_HOURS (24)

    from blog import protected

    with app.test_request_context():
        post = db.session.get(Post, first)
        assert post is not None
        expired = URLSafeTimedSerializer(
            "test-secret", salt=protected._COOKIE_SALT, signer=LongAgo
        ).dumps({"p": first, "h": protected._hash_tag(post)})
        fresh = URLSafeTimedSerializer("test-secret", salt=protected._COOKIE_SALT).dumps(
            {"p": first, "h": protected._hash_tag(post)}
        )
    assert not opened(first, "locked", str(expired))
    assert opened(first, "locked", str(fresh))
    # A new password closes the post to every cookie given out before.
    with app.app_context():
        post = db.session.get(Post, first)
        assert post is not None
        fields = fields_of(post)
        fields.password = "new-password"
        save_post(fields, author="t", post=post)
    assert not opened(first, "locked", value)


def test_the_form_needs_its_token_and_this_sites_origin(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    make_protected(app)
    client = app.test_client()
    page = client.get("/posts/locked/").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token is not None
    form = {"token": token.group(1), "password": PASSWORD}
    for data, headers in (
        (form, {"Origin": "https://evil.example"}),
        (form, {}),
        ({"password": PASSWORD}, ORIGIN),
        ({**form, "token": token.group(1)[:-3] + "xyz"}, ORIGIN),
    ):
        response = client.post("/posts/locked/unlock", data=data, headers=headers)
        assert response.status_code == 400 and "Set-Cookie" not in response.headers
    assert client.post("/posts/nothing/unlock", data=form, headers=ORIGIN).status_code == 404
    assert client.get("/posts/locked/unlock").status_code == 405


def test_password_is_stored_hashed_never_in_clear(
    make_app: Callable[..., Flask], instance: Path
) -> None:
    app = make_app()
    post_id = make_protected(app)
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None and post.password_hash is not None
        assert PASSWORD not in post.password_hash and "password" not in post.meta
        for revision in db.session.scalars(select(Revision)):
            assert PASSWORD not in str(revision.fields)
        assert post.excerpt == "" and post.toc == []
    assert PASSWORD.encode() not in (instance / "blog.sqlite3").read_bytes()


def test_front_matter_and_wordpress_passwords_protect_the_post(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    with app.app_context():
        document = split_document(f"---\ntitle: 带密码\npassword: {PASSWORD}\n---\n{SOURCE}")
        fields = fields_from_document(document, site_zone())
        assert fields.password == PASSWORD and "password" not in fields.meta
        post = save_post(fields, author="t")
        assert post.is_protected
        # WordPress's <wp:post_password> arrives in meta (blog/migrate/wordpress.py).
        imported = save_post(
            PostFields(title="WP", source=SOURCE, slug="wp", meta={"password": "wp-pass"}),
            author="t",
        )
        assert imported.is_protected and "password" not in imported.meta
    client = app.test_client()
    assert SECRET not in client.get("/posts/wp/").get_data(as_text=True)
    assert unlock(client, "/posts/wp/", password="wp-pass").status_code == 303
    assert SECRET in client.get("/posts/wp/").get_data(as_text=True)


def test_admin_sets_keeps_and_removes_the_password(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    create_user(app)
    client = app.test_client()
    login(client)
    response = post_form(
        client,
        "/admin/posts/new",
        editor_form(title="管理员加密", source=SOURCE, slug="admin-locked", password=PASSWORD)
        | {"action": "publish"},
    )
    assert response.status_code == 302
    edit_url = response.headers["Location"]
    page = client.get(edit_url).data
    assert find(page, "input", name="password").attrs["value"] == ""  # never sent back
    reader = app.test_client()
    assert SECRET not in reader.get("/posts/admin-locked/").get_data(as_text=True)
    # Saving with the box left empty keeps the password.
    version = find(page, "input", name="version").attrs["value"]
    post_form(client, edit_url, editor_form(title="改了标题", source=SOURCE, version=version))
    assert SECRET not in reader.get("/posts/admin-locked/").get_data(as_text=True)
    page = client.get(edit_url).data
    version = find(page, "input", name="version").attrs["value"]
    response = post_form(
        client,
        edit_url,
        editor_form(title="改了标题", source=SOURCE, version=version, unprotect="1")
        | {"action": "publish"},
    )
    assert response.status_code == 302
    assert SECRET in reader.get("/posts/admin-locked/").get_data(as_text=True)


def test_static_build_leaves_the_protected_post_out(
    tmp_path: Path, make_app: Callable[..., Flask], instance: Path
) -> None:
    from tests.test_build import run_build

    app = make_app()
    make_protected(app)
    with app.app_context():
        save_post(PostFields(title="公开", source="公开正文", slug="open"), author="t")
    out = tmp_path / "out"
    result: Result = run_build(instance, out)
    assert result.exit_code == 0, result.output
    assert (out / "posts" / "open" / "index.html").is_file()
    assert not (out / "posts" / "locked").exists()
    assert not (out / "zh-tw" / "posts" / "locked").exists()
    home = (out / "index.html").read_text("utf-8")
    assert "受保护的文章" in home and 'href="/posts/locked/"' not in home  # listed, unlinked
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".json", ".txt", ".js"):
            assert SECRET not in path.read_text("utf-8", errors="replace"), path


@pytest.mark.browser
def test_reader_unlocks_a_real_post_in_chromium(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    from blog.importer import import_paths
    from tests.browser_support import chromium, serve_in_thread
    from tests.conftest import shared_path

    app = make_app(TESTING=False)
    with app.app_context():
        report = import_paths([shared_path("external", "corpus", "2017-12-11-evd-svd-and-pca.md")])
        assert not report.failures, report.failures
        post = db.session.scalars(select(Post)).one()
        fields = fields_of(post)
        fields.password = PASSWORD
        save_post(fields, author="t", post=post)
        slug, title = post.slug, post.title
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    server = serve_in_thread(app, threads=2)
    base = next(server)
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(f"{base}/posts/{slug}/")
            assert page.locator(".post-body").count() == 0
            assert page.locator("h1").first.inner_text().strip() != ""
            page.fill("#unlock-password", "wrong")
            page.click(".unlock-form button")
            page.wait_for_selector(".unlock-error")
            page.screenshot(path=str(shots / "locked-wrong.png"), full_page=True)
            page.fill("#unlock-password", PASSWORD)
            page.click(".unlock-form button")
            page.wait_for_selector(".post-body")
            assert page.locator(".post-body math").count() > 0  # the real body, with math
            page.screenshot(path=str(shots / "unlocked.png"))
            # The cookie serves every variant of the post.
            page.goto(f"{base}/zh-tw/posts/{slug}/")
            assert page.locator(".post-body").count() == 1
            page.close()
    finally:
        next(server, None)
    assert title
    assert (shots / "locked-wrong.png").stat().st_size > 10_000


def test_static_build_links_no_protected_post_and_warns_of_none(
    tmp_path: Path, make_app: Callable[..., Flask], instance: Path
) -> None:
    """Neighbours, series parts and the archive show a protected post without a link."""
    from tests.test_build import run_build

    app = make_app()
    start = datetime(2026, 3, 1, 8, 0)
    series = {"series": "线性代数笔记"}
    with app.app_context():
        for day, slug in enumerate(("older", "locked", "newer")):
            fields = PostFields(
                title=f"第 {day + 1} 篇 {slug}",
                source=f"线性代数 特征值 分解 {slug}",
                slug=slug,
                tags=["线代"],
                published_at=start + timedelta(days=day),
                meta={**series, "series_order": day + 1},
                password=PASSWORD if slug == "locked" else None,
            )
            save_post(fields, author="t")
    out = tmp_path / "out"
    result: Result = run_build(instance, out)
    assert result.exit_code == 0, result.output
    assert "not public" not in result.output
    assert not (out / "posts" / "locked").exists()
    for path in out.rglob("*.html"):
        assert "/posts/locked/" not in path.read_text("utf-8"), path
    older = (out / "posts" / "older" / "index.html").read_text("utf-8")
    # The post navigation skips to the nearest written post; the series keeps its count.
    assert 'rel="next" href="/posts/newer/"' in older
    assert "第 2 篇 locked" in older and "2 篇" in older
    series_page = next((out / "series").rglob("index.html")).read_text("utf-8")
    assert series_page.count("第 2 篇 locked") == 1
    archive = (out / "archive" / "index.html").read_text("utf-8")
    assert "第 2 篇 locked" in archive
    # The running site still links it: a reader there can unlock it.
    client = app.test_client()
    page = client.get("/posts/older/").get_data(as_text=True)
    assert 'rel="next" href="/posts/locked/"' in page


def test_locked_page_and_listing_hide_the_reading_time(make_app: Callable[..., Flask]) -> None:
    """The reading time tells the length of a text the reader may not see yet."""
    app = make_app()
    long_source = SOURCE + "更多只有知道密码的读者才能读到的段落。\n\n" * 300
    with app.app_context():
        for slug, password in (("long", PASSWORD), ("open", None)):
            fields = PostFields(title=slug, source=long_source, slug=slug, password=password)
            save_post(fields, author="t")
    client = app.test_client()
    assert 'class="reading-time"' not in client.get("/posts/long/").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert home.count('class="reading-time"') == 1  # the open post's card only
    assert 'class="reading-time"' in client.get("/posts/open/").get_data(as_text=True)
    assert unlock(client, "/posts/long/").status_code in (302, 303)
    page = client.get("/posts/long/").get_data(as_text=True)
    assert SECRET in page and 'class="reading-time"' in page
