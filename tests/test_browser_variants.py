"""The variant switcher in a real browser (Debian's Chromium through Playwright), JavaScript off.

The site is served by waitress from a thread, as ``blog serve`` does: real templates,
redirects, cookies and the page cache. JavaScript is disabled because the switcher must
work without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser_support import chromium, serve_in_thread
from flask import Flask

from blog.models import Post

pytestmark = pytest.mark.browser


FIRST = """\
这篇文章讨论软件与数据。

```python
print("软件与数据")
```
"""
SECOND = "第二篇文章的正文：网络与内存。"


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """Base URL of a waitress server running ``app`` on a free loopback port."""
    yield from serve_in_thread(app)


@pytest.fixture
def browser_page(served: str) -> Iterator[Any]:
    with chromium() as browser:
        yield browser.new_context(java_script_enabled=False).new_page()


def test_switching_to_traditional_sticks_across_pages_and_reloads(
    served: str, browser_page: Any, make_post: Callable[..., Post]
) -> None:
    make_post(SECOND, title="第二篇文章", slug="second")
    make_post(FIRST, title="软件与数据", slug="first")
    page = browser_page

    page.goto(f"{served}/posts/first/")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("h1").inner_text() == "软件与数据"

    page.get_by_role("link", name="繁", exact=True).click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "zh-Hant"
    assert page.locator("h1").inner_text() == "軟件與數據"
    assert "這篇文章討論軟件與數據。" in page.locator("main").inner_text()
    assert page.locator("pre code").inner_text().strip() == 'print("软件与数据")'
    assert page.locator("nav.variant-switcher strong").inner_text() == "繁"

    page.get_by_role("link", name="第二篇文章", exact=False).first.click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "zh-Hant"
    assert "第二篇文章的正文：網絡與內存。" in page.locator("main").inner_text()

    page.reload()
    assert page.locator("html").get_attribute("lang") == "zh-Hant"
    assert "網絡與內存" in page.locator("main").inner_text()

    page.goto(f"{served}/posts/first/")
    assert page.locator("html").get_attribute("lang") == "zh-Hant"
    assert page.locator("h1").inner_text() == "軟件與數據"
