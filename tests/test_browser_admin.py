"""A real browser writes, previews and publishes a post through the admin (waitress + Chromium)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from admin_support import PASSWORD, create_user
from browser_support import chromium, serve_in_thread
from flask import Flask

from blog.posts import PostFields, save_post

pytestmark = pytest.mark.browser


@pytest.fixture
def site(make_app: Callable[..., Flask]) -> Iterator[str]:
    """The blog served by real waitress on a free loopback port."""
    app = make_app(TESTING=False)
    create_user(app)
    yield from serve_in_thread(app, threads=4)


def test_write_preview_and_publish_in_a_browser(site: str) -> None:
    with chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )

        page.goto(f"{site}/admin/posts/new")
        assert "/admin/login" in page.url
        page.fill("input[name=username]", "editor")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site}/admin/posts/new")

        page.fill("input[name=title]", "浏览器里写的文章")
        page.fill("input[name=slug]", "browser-post")
        page.fill("#source", "质能方程 $E = mc^2$。\n\n```python\nprint('你好')\n```\n")
        page.wait_for_selector("#preview math", timeout=15_000)
        assert page.locator("#preview pre").count() >= 1
        width = page.evaluate(
            "document.querySelector('#preview math').getBoundingClientRect().width"
        )
        assert width > 0

        page.fill("#source", "质能方程 $E = mc^2$，再加一个 $a^2 + b^2 = c^2$。\n")
        page.locator("#preview math").nth(1).wait_for(timeout=15_000)
        assert page.locator("#preview pre").count() == 0

        page.click("button[name=action][value=publish]")
        page.wait_for_url(f"{site}/admin/posts/*/edit")
        assert page.locator("p.flash-ok").count() == 1

        page.goto(f"{site}/")
        link = page.locator("a", has_text="浏览器里写的文章")
        assert link.count() >= 1
        link.first.click()
        page.wait_for_url(f"{site}/posts/browser-post/")
        assert page.locator("main math").count() == 2
        assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.fixture
def grouped_site(instance: Path, make_app: Callable[..., Flask]) -> Iterator[tuple[str, int]]:
    """A site with one conversion group installed and a post that names it."""
    (instance / "variant_groups").mkdir(parents=True)
    (instance / "variant_groups" / "Net.txt").write_text(
        "zh-cn:地址; zh-tw:位址; zh-hk:地址;\n", encoding="utf-8"
    )
    app = make_app(TESTING=False)
    create_user(app)
    with app.app_context():
        post = save_post(
            PostFields(
                title="地址", source="网络地址", slug="g", meta={"variants_groups": ["Net"]}
            ),
            author="t",
        )
        post_id = post.id
    for base in serve_in_thread(app, threads=4):
        yield base, post_id


def test_the_live_preview_follows_the_posts_front_matter(grouped_site: tuple[str, int]) -> None:
    site, post_id = grouped_site
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{site}/admin/login")
        page.fill("input[name=username]", "editor")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{site}/admin/posts/{post_id}/edit")
        # The stored post's groups are in the preview, as in the saved body.
        page.wait_for_selector('#preview [data-variant-groups="Net"]', timeout=15_000)
        # Unticking the group is previewed before any save, and ticking it again too.
        page.uncheck('input[name="meta:variants_groups"][value="Net"]')
        page.wait_for_selector("#preview [data-variant-groups]", state="detached", timeout=15_000)
        page.check('input[name="meta:variants_groups"][value="Net"]')
        page.wait_for_selector('#preview [data-variant-groups="Net"]', timeout=15_000)
        assert "网络地址" in (page.text_content("#preview") or "")
