"""Templates' ``url_for`` keeps its answers, and each answer stays the one Flask gives."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask import url_for as flask_url_for

from blog.posts import PostFields, save_post


def test_kept_urls_follow_the_variant_prefix_and_the_sub_path(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(PAGE_CACHE_BYTES=0)
    with app.app_context():
        save_post(PostFields(title="标签", source="正文", slug="tagged", tags=["内存"]), author="t")
    client = app.test_client()
    tag_link = 'href="{}/tags/%E5%86%85%E5%AD%98/"'
    for _warm in range(2):  # the second pass answers from the kept table
        for prefix in ("", "/zh-tw", "/zh-hk"):
            page = client.get(f"{prefix}/posts/tagged/").get_data(as_text=True)
            assert tag_link.format(prefix) in page, prefix
        mounted = client.get("/posts/tagged/", base_url="http://localhost/blog")
        assert tag_link.format("/blog") in mounted.get_data(as_text=True)


def test_every_call_form_gives_what_flask_gives(make_app: Callable[..., Flask]) -> None:
    app = make_app(PAGE_CACHE_BYTES=0)
    url_for = app.jinja_env.globals["url_for"]
    calls: list[tuple[str, dict[str, object]]] = [
        ("public.post", {"slug": "a b"}),
        ("public.index", {"number": 2}),
        ("public.index", {"number": 2, "_external": True}),
        ("public.post", {"slug": "x", "_anchor": "第一节"}),
        ("public.tag", {"name": "内存", "extra": "查询"}),
        ("public.index", {"number": True}),  # not an int to the memo: passed through
    ]
    for base in ("", "/zh-tw", "/sub/zh-hk"):
        with app.test_request_context("/", base_url=f"http://example.org{base}"):
            for _warm in range(2):
                for endpoint, values in calls:
                    assert url_for(endpoint, **values) == flask_url_for(endpoint, **values)
