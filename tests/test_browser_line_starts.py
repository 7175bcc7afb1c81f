"""No line starts with the punctuation that follows inline math, in Debian's Chromium.

A paragraph dense with inline formulas, each followed by "，" or "。", is laid out at three
widths; for every formula the punctuation right after it must sit on the formula's line.
The same check with the wrapper's ``white-space: nowrap`` switched off shows the check can
fail. Screenshots go to ``/tmp/shots-21/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import chromium, serve_in_thread
from flask import Flask

from blog.models import Post

pytestmark = pytest.mark.browser

WIDTHS = (320, 375, 768)
SHOTS = Path("/tmp/shots-21")
FORMULAS = [
    r"\alpha_i",
    r"x^2+y^2",
    r"\theta",
    r"\nabla L",
    r"e^{i\pi}",
    r"\sum_k w_k",
    r"W_q",
    r"d_k",
    r"\sqrt{d}",
    r"p(x)",
    r"\lambda",
    r"O(n^2)",
]
PARAGRAPH = "".join(
    f"第{n}步更新参数 ${tex}${'，' if n % 2 else '。'}" for n, tex in enumerate(FORMULAS * 3)
)

#: For each inline formula followed by punctuation: is that punctuation the first thing
#: on its line? (It is when it sits left of the formula or below the formula's line.)
LINE_STARTS = """
() => {
  const found = [];
  for (const math of document.querySelectorAll('.post-body math[display="inline"]')) {
    const holder = math.closest('.math') || math;
    let node = holder.nextSibling;
    while (node && node.nodeType !== Node.TEXT_NODE) node = node.firstChild || node.nextSibling;
    if (!node || !/^[，。]/.test(node.textContent)) continue;
    const range = document.createRange();
    range.setStart(node, 0);
    range.setEnd(node, 1);
    const mark = range.getBoundingClientRect();
    const rects = holder.getClientRects();
    const last = rects[rects.length - 1];
    found.push(mark.left < last.left || mark.top >= last.bottom - 1);
  }
  return found;
}
"""


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    yield from serve_in_thread(app)


def line_starts(page: Any) -> list[bool]:
    return list(page.evaluate(LINE_STARTS))


def test_no_line_starts_with_punctuation_after_inline_math(
    served: str, make_post: Callable[..., Post]
) -> None:
    make_post(PARAGRAPH, title="公式后的标点", slug="line-starts")
    SHOTS.mkdir(parents=True, exist_ok=True)
    unprotected = 0
    with chromium() as browser:
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            response = page.goto(f"{served}/posts/line-starts/")
            assert response is not None and response.status == 200
            page.wait_for_load_state("load")
            starts = line_starts(page)
            assert len(starts) == len(FORMULAS) * 3
            page.screenshot(path=str(SHOTS / f"line-starts-{width}.png"), full_page=True)
            assert not any(starts), f"{sum(starts)} lines start with punctuation at {width}px"
            # Without the wrapper's nowrap the same layout does break there.
            page.evaluate(
                "() => document.querySelectorAll('.nowrap')"
                ".forEach(e => { e.style.whiteSpace = 'normal'; })"
            )
            unprotected += sum(line_starts(page))
            page.screenshot(path=str(SHOTS / f"line-starts-{width}-unwrapped.png"), full_page=True)
            page.close()
    assert unprotected > 0
