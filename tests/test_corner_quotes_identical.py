"""Corner quotes take a short path (only the marks and paragraph breaks are collected): its
output must be the full prose scan's, byte for byte, on real pages, XSS payloads and
generated fragments that mix every kind of markup the scan treats specially."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from bench.site import demo_folder
from blog.app import close_app, create_app
from blog.db import upgrade
from blog.importer import import_paths
from blog.models import Post, db
from blog.render_budget import worker_pool
from blog_plugins.typography import to_corner_quotes
from blog_plugins.typography.htmltext import transform_html
from blog_plugins.typography.punctuation import corner_quote_edits
from tests.conftest import shared_path, write_config

#: Corpus posts with formulas, code and many quote marks (prose and code alike).
CORPUS_POSTS = (
    "2017-12-11-evd-svd-and-pca.md",
    "2020-08-01-nearest-neighbor-search.md",
    "2023-05-03-css-display-and-position.md",
)
VARIANTS = ("zh-hans", "zh-hant", "zh-tw", "zh-hk")

#: Pieces that reach each branch of the scan: quote marks, paragraph breaks written as a
#: character, as a reference and as a block tag (also inside protected content), code,
#: formulas, ``translate="no"``, the ``noconvert`` class, ruby readings, comments, raw
#: text, attribute values holding markup, stray ``<`` and ``&``.
FRAGMENT_PIECES = (
    "“", "”", "‘", "’", "“", "”", "中文", "他说", "x", " ", "\n",
    "<p>", "</p>", "<P>", "<b>", "</b>", "<br>", "<br/>", "<li>", "</li>", "<td>",
    "<code>", "</code>", "<pre><code>“a<p>b”</code></pre>", "<code><div>“x”</div></code>",
    "<code>&#8233;</code>", "<code>“a&#x2029;b”</code>", "<math><mi>x</mi><mo>“</mo></math>",
    '<span translate="no">', "</span>", '<div class="noconvert">', "</div>",
    "<ruby>字<rt>“zì”</rt></ruby>", "<!-- “ -->", "<script>“x”</script>", "<style>p{}</style>",
    "\u2029", "&#8233;", "&amp;", "&", "&ldquo;", "&#8220;", "<", "<a title='“<p>'>", "</a>",
    '<span title="</code>">', "<template>“t”</template>", "<kbd>“k”</kbd>",
)  # fmt: skip


def full_scan(html: str) -> str:
    """The reference: the general prose scan every other typography rule goes through."""
    return transform_html(html, [corner_quote_edits])


def assert_identical(sources: list[str]) -> int:
    """Assert the short path matches the reference on every source; count changed ones."""
    changed = 0
    for source in sources:
        expected = full_scan(source)
        assert to_corner_quotes(source) == expected, source
        changed += expected != source
    return changed


def test_generated_fragments_are_converted_byte_for_byte_as_the_full_scan() -> None:
    rng = random.Random(20261202)
    fragments = [
        "".join(rng.choice(FRAGMENT_PIECES) for _ in range(rng.randint(1, 40))) for _ in range(4000)
    ]
    changed = assert_identical(fragments)
    # Not vacuous: many fragments hold a convertible pair, most do not.
    assert 200 < changed < len(fragments) - 200


def test_quotes_around_protected_block_content_keep_their_pairing() -> None:
    # A block tag inside code breaks the paragraph: the marks around it stay unpaired.
    source = "<p>“甲<code>x<div>y</div></code>乙”</p><p>“丙<code>&#8233;</code>丁”</p>"
    assert to_corner_quotes(source) == source == full_scan(source)
    joined = "<p>“甲<code>x<span>y</span></code>乙”</p>"
    assert to_corner_quotes(joined) == "<p>「甲<code>x<span>y</span></code>乙」</p>"


def test_xss_payloads_are_converted_byte_for_byte_as_the_full_scan() -> None:
    data = json.loads(shared_path("external", "xss", "xss_payloads.json").read_text("utf-8"))

    def strings(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)

    payloads = list(strings(data))
    assert payloads
    quoted = [f"<p>“{payload}”中文‘{payload}’</p>" for payload in payloads]
    changed = assert_identical(payloads + quoted)
    assert changed >= len(payloads) // 2


@pytest.fixture(scope="module")
def unfiltered_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Every page of the demo site plus corpus posts, in each variant, before corner quotes.

    Typography is told to put corner quotes in no variant, so each page is exactly what the
    response filter is handed in Taiwan and Hong Kong pages.
    """
    instance = tmp_path_factory.mktemp("corner") / "instance"
    write_config(instance, plugins={"typography": {"corner_quote_variants": []}})
    app = create_app(config={"TESTING": True}, instance_path=instance)
    upgrade(app)
    corpus = [shared_path("external", "corpus", name) for name in CORPUS_POSTS]
    try:
        with app.app_context():
            import_paths([demo_folder(), *corpus], author="test")
            slugs = list(db.session.scalars(db.select(Post.slug)))
            db.session.remove()
        client = app.test_client()
        paths = ["/", "/archive/", "/tags/", "/categories/", "/feed.xml"]
        paths += [f"/posts/{slug}/" for slug in slugs]
        pages = []
        for variant in VARIANTS:
            for path in paths:
                response = client.get(f"/{variant}{path}")
                if response.status_code == 200:
                    pages.append(response.get_data(as_text=True))
        yield pages
    finally:
        worker_pool().close()
        close_app(app)


def test_every_page_in_every_variant_is_converted_byte_for_byte_as_the_full_scan(
    unfiltered_pages: list[str],
) -> None:
    assert len(unfiltered_pages) >= 4 * 10
    changed = assert_identical(unfiltered_pages)
    assert changed >= 4 * len(CORPUS_POSTS)


def test_corner_quotes_reach_the_zh_tw_page(make_app: Callable[..., Flask], instance: Path) -> None:
    """The response filter still serves corner quotes through the short path."""
    write_config(instance)
    app = make_app()
    with app.app_context():
        import_paths([shared_path("external", "corpus", CORPUS_POSTS[1])], author="test")
        slug = db.session.scalars(db.select(Post.slug)).one()
        db.session.remove()
    client = app.test_client()
    page = client.get(f"/zh-tw/posts/{slug}/").get_data(as_text=True)
    plain = client.get(f"/posts/{slug}/").get_data(as_text=True)
    assert "「" in page
    assert page.count("「") == page.count("」")
    assert "「" not in plain
