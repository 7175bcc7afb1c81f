"""A real browser comments with JavaScript off and on, an admin approves, a reader reads zh-tw.

Screenshots of both themes go to ``BLOG_SCREENSHOTS`` (default: a temporary folder) so a
person can look at the comment section on a real post.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admin_support import PASSWORD, create_user
from browser_support import chromium, serve_in_thread
from conftest import shared_path

from blog.importer import import_paths

pytestmark = pytest.mark.browser

CORPUS_POST = "2017-12-11-evd-svd-and-pca.md"
SLUG = "evd-svd-and-pca"
SETTINGS = {
    "TESTING": False,
    "COMMENTS_MODERATION": "first-time",
    "COMMENTS_MIN_FILL_SECONDS": 1,
    "COMMENTS_RATE_PER_CLIENT": 100,
}


@pytest.fixture
def sites(make_app: Any, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The blog in the default theme and in ``paper``, over one database, served by waitress."""
    transmission = make_app(**SETTINGS)
    paper = make_app(**SETTINGS, THEME="paper")
    with transmission.app_context():
        report = import_paths([shared_path("external", "corpus", CORPUS_POST)])
        assert not report.failures, report.failures
    create_user(transmission)
    servers = [serve_in_thread(app, threads=4) for app in (transmission, paper)]
    urls = [next(server) for server in servers]
    yield {"transmission": urls[0], "paper": urls[1]}
    for server in servers:
        next(server, None)


def console_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def fill_form(page: Any, name: str, email: str, body: str) -> None:
    page.fill("#comment-name", name)
    page.fill("#comment-email", email)
    page.fill("#comment-body", body)
    page.wait_for_timeout(1200)  # COMMENTS_MIN_FILL_SECONDS


def screenshot_folder() -> Path:
    folder = Path(os.environ.get("BLOG_SCREENSHOTS", "/tmp/shots-18"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_comment_without_and_with_javascript_approved_and_read_in_zh_tw(
    sites: dict[str, str], make_app: Any
) -> None:
    site = sites["transmission"]
    shots = screenshot_folder()
    with chromium() as browser:
        # 1. A reader without JavaScript: a plain form POST and a redirect with a notice.
        plain = browser.new_context(java_script_enabled=False).new_page()
        plain.goto(f"{site}/posts/{SLUG}/")
        fill_form(
            plain, "无脚本读者", "plain@example.com", "软件里的 SVD：$A = U\\Sigma V^T$，很清楚。"
        )
        plain.click("#comment-form button[type=submit]")
        plain.wait_for_url(f"{site}/posts/{SLUG}/?comment=held*")
        assert "审核后显示" in plain.locator(".comment-notice").inner_text()
        assert plain.locator("ol.comment-list").count() == 0

        # 2. The author approves it in the admin.
        admin = browser.new_context().new_page()
        admin_errors = console_errors(admin)
        admin.goto(f"{site}/admin/comments/")
        admin.fill("input[name=username]", "editor")
        admin.fill("input[name=password]", PASSWORD)
        admin.click("button[type=submit]")
        admin.wait_for_url(f"{site}/admin/comments/")
        assert "无脚本读者" in admin.locator("table.comment-queue").inner_text()
        admin.screenshot(path=str(shots / "admin-queue-pending.png"), full_page=True)
        admin.check("input[name=ids]")
        admin.click("button[name=action][value=approve]")
        admin.wait_for_selector("p.flash-ok")
        admin.screenshot(path=str(shots / "admin-queue.png"), full_page=True)
        assert not [e for e in admin_errors if "Content Security Policy" in e], admin_errors

        # 3. The same reader, now with JavaScript, replies in place without leaving the page.
        page = browser.new_context().new_page()
        errors = console_errors(page)
        page.goto(f"{site}/posts/{SLUG}/")
        assert page.locator("ol.comment-list > li.comment").count() == 1
        page.click("a.comment-reply")
        assert page.locator("li.comment article #comment-form").count() == 1
        fill_form(page, "无脚本读者", "plain@example.com", "补充：`numpy.linalg.svd` 就能算。")
        page.click("button.comment-preview-button")
        page.wait_for_selector(".comment-preview code")
        assert "numpy.linalg.svd" in page.locator(".comment-preview").inner_text()
        page.locator("section.comments").screenshot(path=str(shots / "transmission-preview.png"))
        page.click("#comment-form button[type=submit]")
        page.wait_for_selector("ol.comment-replies li.comment")
        assert "评论已发表" in page.locator(".comment-notice").inner_text()
        assert page.url == f"{site}/posts/{SLUG}/"  # no navigation happened
        assert not [e for e in errors if "Content Security Policy" in e], errors

        # 4. A reader in Taiwan reads both, converted, with the math intact.
        tw = browser.new_context().new_page()
        tw.goto(f"{site}/zh-tw/posts/{SLUG}/")
        text = tw.locator("section.comments").inner_text()
        assert "軟體" in text and "2 條評論" in text
        assert tw.locator("section.comments math").count() == 1
        width = tw.evaluate(
            "document.querySelector('section.comments math').getBoundingClientRect().width"
        )
        assert width > 0
        tw.locator("section.comments").screenshot(path=str(shots / "transmission-zh-tw.png"))
        tw.set_viewport_size({"width": 390, "height": 844})
        tw.locator("section.comments").screenshot(path=str(shots / "transmission-mobile.png"))

        paper = browser.new_context().new_page()
        paper.goto(f"{sites['paper']}/posts/{SLUG}/")
        assert paper.locator("ol.comment-list li.comment").count() == 2
        paper.locator("section.comments").screenshot(path=str(shots / "paper-zh-hans.png"))
        dark = browser.new_context(color_scheme="dark").new_page()
        dark.goto(f"{site}/posts/{SLUG}/")
        dark.locator("section.comments").screenshot(path=str(shots / "transmission-dark.png"))

        # 5. With JavaScript on the zh-tw page, a comment written in simplified characters is
        # inserted in place already converted, like the rest of the page, without a reload.
        tw_js = browser.new_context().new_page()
        tw_errors = console_errors(tw_js)
        tw_js.goto(f"{site}/zh-tw/posts/{SLUG}/")
        fill_form(tw_js, "无脚本读者", "plain@example.com", "用鼠标在软件里点一下就行。")
        tw_js.click("#comment-form button[type=submit]")
        tw_js.wait_for_selector("ol.comment-list > li.comment:nth-child(2)")
        inserted = tw_js.locator("ol.comment-list > li.comment").last.inner_text()
        assert "滑鼠" in inserted and "軟體" in inserted and "软件" not in inserted
        assert "評論已發表" in tw_js.locator(".comment-notice").inner_text()
        assert tw_js.locator("button.comment-preview-button").inner_text() == "預覽"
        assert tw_js.locator("#comments-title").inner_text().startswith("3 條評論")
        tw_js.click("a.comment-reply >> nth=0")
        assert tw_js.locator("button.comment-cancel").inner_text() == "取消回覆"
        assert tw_js.url == f"{site}/zh-tw/posts/{SLUG}/"  # no navigation happened
        tw_js.locator("section.comments").screenshot(path=str(shots / "zh-tw-inserted.png"))
        assert not [e for e in tw_errors if "Content Security Policy" in e], tw_errors
