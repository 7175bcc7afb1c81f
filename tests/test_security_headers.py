"""Security headers on every response: pages, variants, feeds, errors, static files, admin, API.

The routes come from the app's own URL map, so a route added later is checked too.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from admin_support import create_user, login
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from blog.admin.tokens import create_token
from blog.admin.uploads import store_upload
from blog.models import Post, User, db

VARIANTS = ("", "/zh-hans", "/zh-hant", "/zh-tw", "/zh-hk")
#: A 1×1 PNG for the uploads route.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = [w.lower() for w in words[1:]]
    return parsed


def header_problems(response: TestResponse) -> list[str]:
    """What is missing or weak in one response's security headers."""
    problems = []
    policy = response.headers.get("Content-Security-Policy")
    if policy is None:
        return ["no Content-Security-Policy"]
    parsed = directives(policy)
    scripts = parsed.get("script-src", parsed.get("default-src"))
    if scripts is None:
        problems.append("CSP restricts no scripts")
    elif {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(scripts):
        problems.append(f"CSP allows unsafe scripts: {scripts}")
    if parsed.get("frame-ancestors") not in (["'none'"], ["'self'"]):
        problems.append(f"frame-ancestors is {parsed.get('frame-ancestors')}")
    if parsed.get("object-src") != ["'none'"]:
        problems.append("object-src is not 'none'")
    if response.headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.headers.get("Referrer-Policy") not in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ):
        problems.append(f"Referrer-Policy is {response.headers.get('Referrer-Policy')}")
    return problems


@pytest.fixture
def site(make_app: Callable[..., Flask]) -> Flask:
    app = make_app(POSTS_PER_PAGE=1)
    create_user(app)
    with app.app_context():
        from blog.posts import PostFields, save_post

        for number in range(2):
            save_post(
                PostFields(
                    title=f"注意力机制 {number}",
                    source="正文 $x^2$\n\n```python\nprint(1)\n```\n",
                    slug=f"post-{number}",
                    category="机器学习",
                    tags=["NLP"],
                    # /series/<name>/ is then a page too (named like the category).
                    meta={"series": "机器学习"},
                ),
                author="editor",
            )
        from blog.models import Link

        db.session.add(Link(name="友站", url="https://friend.example/", description="友站"))
        db.session.commit()
        save_post(
            PostFields(title="关于", source="关于本站", slug="about", kind="page"), author="editor"
        )
        store_upload(PNG, "pixel.png", "editor")
        from blog.comments.fields import CommentFields
        from blog.comments.service import create_comment

        post = db.session.scalars(db.select(Post).where(Post.slug == "post-0")).one()
        fields = CommentFields(name="读者", email="", website="", body="评论 $x$")
        create_comment(post, fields, status="approved")
    return app


def route_values(app: Flask) -> dict[str, str]:
    with app.app_context():
        from blog.admin.models import Upload
        from blog.comments.models import Comment

        upload = db.session.scalars(db.select(Upload)).first()
        post = db.session.scalars(db.select(Post).where(Post.kind == "post")).first()
        comment = db.session.scalars(db.select(Comment)).first()
        assert upload is not None and post is not None and comment is not None
        from blog.preview_links import create_link, token_of

        link = create_link(post, 7, "test")
        db.session.commit()
        token = token_of(link)
        return {
            "token": token,
            "comment_id": str(comment.id),
            "slug": post.slug,
            "name": quote("机器学习"),
            "number": "1",
            "post_id": str(post.id),
            "upload": upload.name,
        }


def get_paths(app: Flask, prefix: str) -> Iterator[str]:
    """A concrete URL for every GET rule under ``prefix``, with real values filled in."""
    values = route_values(app)
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or not rule.rule.startswith(prefix):
            continue
        path = rule.rule
        for name in rule.arguments:
            value = values["upload"] if rule.endpoint == "uploads.serve" else values[name]
            if rule.endpoint == "public.tag" or rule.endpoint == "feeds.tag_feed":
                value = "NLP" if name == "name" else value
            if rule.endpoint == "public.standalone_page":
                value = "about"
            path = path.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
        yield path


def test_every_public_route_in_every_variant_carries_the_headers(site: Flask) -> None:
    client = site.test_client()
    checked = {}
    for path in get_paths(site, "/"):
        if path.startswith(("/admin", "/api")):
            continue
        for prefix in VARIANTS if not path.startswith("/uploads") else ("",):
            response = client.get(prefix + path)
            assert response.status_code == 200, (prefix + path, response.status_code)
            checked[prefix + path] = header_problems(response)
    assert len(checked) >= 60
    assert {path: problems for path, problems in checked.items() if problems} == {}


def test_cached_second_response_keeps_the_headers(site: Flask) -> None:
    client = site.test_client()
    client.get("/posts/post-0/")
    assert header_problems(client.get("/posts/post-0/")) == []


def test_every_static_file_carries_the_headers(site: Flask) -> None:
    client = site.test_client()
    urls = list(site.extensions["blog.assets"].files)
    assert urls
    problems = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        problems[url] = header_problems(response)
    assert {url: found for url, found in problems.items() if found} == {}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/page", 404),
        ("GET", "/posts/no-such-post/", 404),
        ("GET", "/zh-tw/posts/no-such-post/", 404),
        ("GET", "/static/theme/missing.css", 404),
        ("GET", "/uploads/../config.toml", 404),
        ("POST", "/", 405),
        ("GET", "/api/posts", 401),
        ("GET", "/admin/", 302),
    ],
)
def test_error_and_redirect_responses_carry_the_headers(
    site: Flask, method: str, path: str, status: int
) -> None:
    response = site.test_client().open(path, method=method)
    assert response.status_code == status
    assert header_problems(response) == []


def test_server_error_page_carries_the_headers(make_app: Callable[..., Flask]) -> None:
    app = make_app(TESTING=False)

    def broken() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/broken-for-test", view_func=broken)
    response = app.test_client().get("/broken-for-test")
    assert response.status_code == 500
    assert header_problems(response) == []


def test_every_admin_page_carries_the_headers(site: Flask) -> None:
    client: FlaskClient = site.test_client()
    assert header_problems(client.get("/admin/login")) == []
    login(client)
    problems = {}
    for path in get_paths(site, "/admin"):
        response = client.get(path)
        # The login page sends a logged-in user on to the admin home.
        assert response.status_code == (302 if path == "/admin/login" else 200), path
        problems[path] = header_problems(response)
    assert len(problems) >= 7
    assert {path: found for path, found in problems.items() if found} == {}


def test_every_api_answer_carries_the_headers(site: Flask) -> None:
    with site.app_context():
        user = db.session.scalars(db.select(User)).one()
        token = create_token(user, "headers")
    client = site.test_client()
    problems = {}
    for path in get_paths(site, "/api"):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (path, response.status_code)
        problems[path] = header_problems(response)
    assert {path: found for path, found in problems.items() if found} == {}
