"""``\\left…\\right`` laid out by Debian's Chromium: tight around short content, grown
around tall content.

Chromium gives a stretchy delimiter a box as wide as the font's widest size variant (a
gap of about 0.24em each side of a parenthesis); the normal-size delimiter the math
plugin writes around short content must be exactly as wide as the glyph of a plain ``(``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from browser_support import chromium, open_page, serve_in_thread
from flask import Flask

from blog.models import Post

pytestmark = pytest.mark.browser

POST = """\
短内容 $f\\left(\\theta\\right)$，普通括号 $f(\\theta)$。

$$
g\\left(\\frac{a}{b}\\right)
$$
"""

# Per formula (in page order): the first <mo> that opens a parenthesis, its box, the box
# of what follows it, and the font size it is set at.
MEASURE = """
() => [...document.querySelectorAll(".post-body math")].map(math => {
  const paren = [...math.querySelectorAll("mo")].find(mo => mo.textContent.trim() === "(");
  const box = paren.getBoundingClientRect();
  const next = paren.nextElementSibling.getBoundingClientRect();
  return {width: box.width, height: box.height, right: box.right, next: next.left,
          size: parseFloat(getComputedStyle(paren).fontSize)};
})
"""


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """Base URL of a waitress server running ``app`` on a free loopback port."""
    yield from serve_in_thread(app)


def test_short_fence_is_as_wide_as_its_glyph_and_tall_fence_grows(
    served: str, make_post: Callable[..., Post], tmp_path: Path
) -> None:
    post = make_post(POST, title="括号", slug="fences")

    with chromium() as browser:
        page = open_page(browser, f"{served}/posts/{quote(post.slug)}/", 1000)
        page.evaluate("document.fonts.ready")
        fenced, plain, tall = page.evaluate(MEASURE)
        page.screenshot(path=str(tmp_path / "fences.png"), full_page=True)

    assert fenced["size"] == plain["size"]
    # The box is the glyph's natural advance: that of the plain parenthesis.
    assert abs(fenced["width"] - plain["width"]) < 0.02 * fenced["size"]
    # Nothing between the glyph and θ: a stretchy box would leave half its extra width.
    glyph_gap = fenced["next"] - fenced["right"] + (fenced["width"] - plain["width"]) / 2
    assert abs(glyph_gap) < 0.05 * fenced["size"]
    # Around a display fraction the parenthesis still grows to a larger size.
    assert tall["height"] > 1.5 * plain["height"]
    assert tall["size"] == plain["size"]
