"""Both themes in a real browser: Debian's Chromium driven by Playwright, served by waitress.

Screenshots of the home page and a post at desktop and phone widths are saved under
``tmp_path``; the page must never scroll sideways, and Traditional Chinese text must get
a different font stack from Simplified.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from browser_support import open_page, serve_app
from flask import Flask

from blog.config import BUILTIN_PLUGINS
from tests.test_themes import THEMES, build_site, slug_where, with_body

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1280, "phone": 390}
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module", params=THEMES)
def themed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, str]]:
    """A demo site in one theme (no variant conversion) and its served base URL."""
    app = build_site(tmp_path_factory.mktemp(request.param), request.param)
    yield from ((app, url) for url in serve_app(app))


@pytest.mark.parametrize("width_name", list(WIDTHS))
@pytest.mark.parametrize("page_kind", ["home", "post"])
def test_page_fits_the_screen_without_sideways_scrolling(
    browser: Any, themed: tuple[Flask, str], page_kind: str, width_name: str, tmp_path: Path
) -> None:
    app, base = themed
    path = "/" if page_kind == "home" else f"/posts/{quote(with_body(app, '| FP32'))}/"
    page = open_page(browser, base + path, WIDTHS[width_name])
    try:
        screenshot = tmp_path / f"{app.config['THEME']}-{page_kind}-{width_name}.png"
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.stat().st_size > 0
        assert page.evaluate(NO_OVERFLOW), page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
    finally:
        page.close()


def test_stylesheets_load_and_colour_the_page(browser: Any, themed: tuple[Flask, str]) -> None:
    _app, base = themed
    page = open_page(browser, base + "/", 1280)
    try:
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent")
        assert page.evaluate("document.styleSheets.length") >= 3
    finally:
        page.close()


def test_dark_and_light_schemes_give_different_backgrounds(
    browser: Any, themed: tuple[Flask, str]
) -> None:
    _app, base = themed
    backgrounds = set()
    for scheme in ("dark", "light"):
        context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            page.goto(base + "/")
            backgrounds.add(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        finally:
            context.close()
    assert len(backgrounds) == 2


def font_of(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.evaluate("node => getComputedStyle(node).fontFamily"))


def test_traditional_post_gets_a_different_font_stack(
    browser: Any, themed: tuple[Flask, str]
) -> None:
    app, base = themed
    hant = open_page(browser, f"{base}/posts/{quote(slug_where(app, lang='zh-Hant'))}/", 1280)
    hans = open_page(browser, f"{base}/posts/{quote(slug_where(app, lang='zh-Hans'))}/", 1280)
    try:
        assert font_of(hant, ".post-body p") != font_of(hans, ".post-body p")
        assert "TC" in font_of(hant, ".post-body p")
    finally:
        hant.close()
        hans.close()


def test_zh_hant_variant_prefix_sets_page_language_and_font(browser: Any, tmp_path: Path) -> None:
    app = build_site(tmp_path, "transmission", PLUGINS=list(BUILTIN_PLUGINS))
    if "zh-hant" not in app.extensions["blog.variants"]:
        pytest.skip("no plugin serves the zh-hant variant (the opencc plugin is not installed)")
    slug = quote(slug_where(app, lang="zh-Hans"))
    for base in serve_app(app):
        hant = open_page(browser, f"{base}/zh-hant/posts/{slug}/", 1280)
        hans = open_page(browser, f"{base}/zh-hans/posts/{slug}/", 1280)
        try:
            assert hant.evaluate("document.documentElement.lang") == "zh-Hant"
            assert font_of(hant, ".post-body p") != font_of(hans, ".post-body p")
        finally:
            hant.close()
            hans.close()
