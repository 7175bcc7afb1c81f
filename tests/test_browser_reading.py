"""The table of contents in Chromium, both themes: beside the text and sticky on a wide
screen with the section being read marked, folded on a phone. Real content: the longest
post of ../shared/external/corpus. Screenshots go to the test's tmp folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from browser_support import open_page, serve_app
from conftest import shared_path
from flask import Flask
from sqlalchemy import select

from blog.app import create_app
from blog.config import BUILTIN_PLUGINS
from blog.db import upgrade
from blog.importer import import_paths
from blog.models import Post, db
from tests.test_themes import THEMES

pytestmark = pytest.mark.browser

CORPUS_POST = "2020-03-28-pre-trained-model-for-nlp.md"


@pytest.fixture(scope="module", params=THEMES)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """One corpus post imported into a site in one theme: (base URL, post path)."""
    source = shared_path("external", "corpus", CORPUS_POST)
    root = tmp_path_factory.mktemp(request.param)
    app: Flask = create_app(
        config={
            "SECRET_KEY": "test-secret",
            "PLUGINS": [p for p in BUILTIN_PLUGINS if p != "opencc"],
            "THEME": request.param,
            "POST_LICENSE": "CC BY-NC-SA 4.0",
            "TESTING": True,
        },
        instance_path=root,
    )
    upgrade(app)
    with app.app_context():
        assert not import_paths([source]).failures
        slug = db.session.scalars(select(Post.slug)).one()
    for base in serve_app(app):
        yield base, f"/posts/{quote(slug)}/"


def test_wide_screen_toc_is_beside_the_text_sticky_and_follows_reading(
    browser: Any, site: tuple[str, str], tmp_path: Path
) -> None:
    base, path = site
    page = open_page(browser, base + path, 1440)
    try:
        toc = page.locator("nav.toc")
        body = page.locator(".post-body")
        assert page.locator("nav.toc details").evaluate("d => d.open")
        toc_box, body_box = toc.bounding_box(), body.bounding_box()
        assert toc_box is not None and body_box is not None
        assert toc_box["x"] >= body_box["x"] + body_box["width"], (toc_box, body_box)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(tmp_path / "toc-wide-top.png"))

        # Read down to a section a few entries in (one long enough that the next heading
        # is not also at the top): the list stays in view and marks that section.
        links = page.locator("nav.toc a")
        assert links.count() >= 10
        target = page.evaluate(
            """() => {
              const hrefs = [...document.querySelectorAll('nav.toc a')]
                .map(a => a.getAttribute('href'));
              const top = h => document.getElementById(decodeURIComponent(h.slice(1)))
                .getBoundingClientRect().top;
              for (let i = 3; i < hrefs.length - 1; i++) {
                if (top(hrefs[i + 1]) - top(hrefs[i]) > 400) return hrefs[i];
              }
              return null;
            }"""
        )
        assert target is not None
        heading_id = target[1:]
        page.evaluate(
            "id => { const h = document.getElementById(decodeURIComponent(id));"
            " window.scrollTo(0, h.getBoundingClientRect().top + window.scrollY - 20); }",
            heading_id,
        )
        page.wait_for_function(
            "id => document.querySelector('nav.toc a[aria-current]')?.getAttribute('href')"
            " === '#' + id",
            arg=heading_id,
        )
        top = toc.bounding_box()
        assert top is not None and 0 <= top["y"] <= 40, top
        assert page.locator("nav.toc a[aria-current]").count() == 1
        page.screenshot(path=str(tmp_path / "toc-wide-reading.png"))

        # Further down, the mark moves on.
        later = links.nth(links.count() - 1).get_attribute("href")
        page.evaluate(
            "id => document.getElementById(decodeURIComponent(id.slice(1))).scrollIntoView()",
            later,
        )
        page.wait_for_function(
            "href => document.querySelector('nav.toc a[aria-current]')?.getAttribute('href')"
            " === href",
            arg=later,
        )
    finally:
        page.close()


def test_phone_toc_is_folded_and_opens_on_tap(
    browser: Any, site: tuple[str, str], tmp_path: Path
) -> None:
    base, path = site
    page = open_page(browser, base + path, 390, 844)
    try:
        details = page.locator("nav.toc details")
        assert not details.evaluate("d => d.open")
        assert not page.locator("nav.toc ol a").first.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(tmp_path / "toc-phone-folded.png"))
        page.locator("nav.toc summary").click()
        assert details.evaluate("d => d.open")
        first = page.locator("nav.toc ol a").first
        assert first.is_visible()
        page.screenshot(path=str(tmp_path / "toc-phone-open.png"))
        # Following an entry folds the list again and lands on the section.
        first.click()
        page.wait_for_function("() => !document.querySelector('nav.toc details').open")
        assert page.evaluate("window.scrollY") > 0
        licence = page.locator(".licence-notice a[rel=license]")
        assert licence.get_attribute("href") == "https://creativecommons.org/licenses/by-nc-sa/4.0/"
        licence.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "toc-phone-licence.png"))
    finally:
        page.close()
