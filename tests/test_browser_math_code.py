"""Math and code in a real browser: Debian's Chromium driven by Playwright.

The post is served by waitress from a thread, exactly as ``blog serve`` does, so the page
gets the real templates, head assets, CSP and static files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from browser_support import chromium, serve_in_thread
from flask import Flask

from blog.models import Post

pytestmark = pytest.mark.browser


POST = """\
设损失函数为 $L(\\theta) = \\frac{1}{n}\\sum_{i=1}^n \\ell(x_i; \\theta)$，其梯度为：

$$
\\nabla_\\theta L = \\frac{1}{n}\\sum_{i=1}^{n} \\nabla_\\theta \\ell(x_i; \\theta) \\tag{1}
$$

训练代码如下：

```python title="train.py" linenos
def train(model, data):
    for batch in data:
        loss = model(batch)
    return loss
```
"""


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """Base URL of a waitress server running ``app`` on a free loopback port."""
    yield from serve_in_thread(app)


def test_math_is_laid_out_and_code_is_coloured(
    served: str, make_post: Callable[..., Post], tmp_path: Path
) -> None:
    post = make_post(POST, title="数学与代码", slug="math-and-code")

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        response = page.goto(f"{served}/posts/{quote(post.slug)}/")
        assert response is not None and response.status == 200
        page.wait_for_load_state("load")

        inline = page.locator('math[display="inline"]').first.bounding_box()
        display = page.locator('math[display="block"]').first.bounding_box()
        assert inline is not None and display is not None
        assert inline["width"] > 0 and inline["height"] > 0
        assert display["width"] > 0 and display["height"] > 0
        assert display["width"] > inline["width"]

        keyword_colour = page.locator(".highlight .k").first.evaluate(
            "node => getComputedStyle(node).color"
        )
        text_colour = page.locator("main p").first.evaluate("node => getComputedStyle(node).color")
        assert keyword_colour != text_colour

        assert page.locator("figure.code-block button.code-copy").count() == 1
        # Its words come from the page, in the UI language (the zh_Hans catalog here).
        assert page.locator("figure.code-block button.code-copy").text_content() == "复制"

        screenshot = tmp_path / "math-and-code.png"
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.stat().st_size > 0
