"""Import the real blogs in ../shared/external and read every page as a visitor would.

Fails on any raw template syntax (``{{<``, ``{%``, ``{{ site.``, ``[caption``) left in the
visible text of a rendered page (code blocks excepted: they show source on purpose).
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from flask import Flask

from blog.importer import import_paths
from blog.models import Post, db
from tests.conftest import shared_path

MARKERS = ("{{<", "{{%", "{%", "{{ site.", "[caption")
BLOGS = {
    "hexo": (("migration", "hexo"), 32),
    "hugo": (("migration", "hugo"), 50),
    "jekyll": (("migration", "jekyll"), 50),
    "corpus": (("corpus",), 45),
    "wp-unit-test": (
        ("migration", "wordpress", "wordpress-importer--theme-unit-test-data.xml"),
        79,
    ),
    "wp-small": (("migration", "wordpress", "wordpress-importer--small-export.xml"), 11),
    "wp-utf8": (("migration", "wordpress", "wordpress-importer--wxr-utf-8-challenges.xml"), 1),
}


class VisibleText(HTMLParser):
    """The text a reader sees in <main>, without code, scripts and styles."""

    HIDDEN = frozenset({"pre", "code", "script", "style", "template"})

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "".join(parser.parts)


@pytest.mark.slow
@pytest.mark.parametrize("blog", list(BLOGS))
def test_real_blog_imports_and_no_raw_template_syntax_is_visible(
    blog: str, make_app: Callable[..., Flask]
) -> None:
    parts, expected = BLOGS[blog]
    source = shared_path("external", *parts)
    app = make_app()
    with app.app_context():
        report = import_paths([source])
        assert report.failures == []
        assert report.imported == expected
        posts = [
            (p.kind, p.slug) for p in db.session.query(Post).filter(Post.status == "published")
        ]
    client = app.test_client()
    leftovers = []
    pages = ["/", *[f"/{'pages' if k == 'page' else 'posts'}/{quote(s)}/" for k, s in posts]]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible(response.get_data(as_text=True))
        for marker in MARKERS:
            at = text.find(marker)
            if at != -1:
                leftovers.append(f"{url}: {text[max(0, at - 40) : at + 60]!r}")
    assert leftovers == []
    with app.app_context():
        # Every old URL printed by the import answers 301 to a page that exists.
        for old, new in list(report.redirects.items())[:40]:
            response = client.get(quote(old))
            assert response.status_code == 301, old
            assert client.get(response.headers["Location"]).status_code in (200, 301), new
