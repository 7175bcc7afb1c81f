"""Property tests with hypothesis over the render pipeline and the request surface.

``BLOG_TEST_FUZZ_EXAMPLES`` sets the examples per property (default 150); run with
``--hypothesis-show-statistics`` to see the counts.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
import regex
from conftest import write_config
from flask import Flask
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from blog.app import create_app
from blog.db import upgrade
from blog.models import Post, db
from blog.posts import PostFields, save_post
from blog.render import RenderError, build_allowlist, render_post
from blog.sanitize import sanitize_html

EXAMPLES = int(os.environ.get("BLOG_TEST_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MARKDOWN_PIECES = [
    "# ", "## ", "- ", "1. ", "> ", "    ", "\n", "\n\n", "*", "**", "_", "`", "```\n", "~~~",
    "[", "]", "(", ")", "![", "<", ">", "&", "&amp;", "&#x3c;", "|", "---", "$", "$$", "\\",
    "{", "}", "^", "\\frac{a}{b}", "\\text{", "<script>", "</math>", "<a href=", "javascript:",
    "<!--", "-->", "[^1]", "*[HTML]:", "!!! note", ":   ", "{#id}", "<div markdown=1>",
    "注意力", "機器學習", "English term", "e\u0301", "👨‍👩‍👧", "🇨🇳", "\u200d", "\x00",
]  # fmt: skip
markdownish = st.lists(
    st.one_of(st.sampled_from(MARKDOWN_PIECES), st.text(max_size=8)), max_size=60
).map("".join)
sources = st.one_of(st.text(max_size=400), markdownish)

#: Multi-code-point clusters: a cut inside one leaves a fragment that is not in this list.
CLUSTERS = [
    "e\u0301", "👨‍👩‍👧", "🇨🇳", "\u0915\u094d\u0937", "👍🏽", "a\u0308\u0323", "\u1100\u1161\u11a8",
]  # fmt: skip
GRAPHEME = regex.compile(r"\X")
PLACEHOLDER = re.compile(r"\[(?:代码|代碼|公式|图片|圖片|表格)\]")

#: Simplified text whose characters all change in Traditional (Taiwan) script.
CONVERTIBLE = "这个软件里发现头发后面干净系统设计网络数据库简体汉语说话开关门书画马鸟鱼龙"


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("fuzz") / "instance"
    write_config(instance)
    app = create_app(config={"TESTING": True}, instance_path=instance)
    upgrade(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def render(app: Flask, source: str, lang: str = "zh-Hans") -> tuple[str, str] | None:
    """``(body_html, excerpt)``, or ``None`` when a limit refused the post with a message."""
    with app.test_request_context():
        try:
            rendered = render_post(Post(title="模糊", source=source, lang=lang, meta={}))
        except RenderError as error:
            assert str(error)
            return None
    return rendered.body_html, rendered.excerpt


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, [name for name, _value in attrs]))


@given(source=sources)
@FUZZ
def test_any_text_renders_or_is_refused_with_a_message(fuzz_app: Flask, source: str) -> None:
    render(fuzz_app, source)


@given(source=sources)
@FUZZ
def test_rendered_html_is_a_fixed_point_of_the_sanitizer(fuzz_app: Flask, source: str) -> None:
    result = render(fuzz_app, source)
    # A refused input says nothing about the output; assume() makes hypothesis draw
    # another, and fail the test as unsatisfiable rather than pass when all are refused.
    assume(result is not None)
    assert result is not None
    with fuzz_app.app_context():
        allowlist = build_allowlist()
    assert sanitize_html(result[0], allowlist) == result[0]


@given(source=sources)
@FUZZ
def test_rendered_html_uses_only_allowlisted_tags_and_attributes(
    fuzz_app: Flask, source: str
) -> None:
    result = render(fuzz_app, source)
    # A refused input says nothing about the output; assume() makes hypothesis draw
    # another, and fail the test as unsatisfiable rather than pass when all are refused.
    assume(result is not None)
    assert result is not None
    with fuzz_app.app_context():
        allowlist = build_allowlist()
    parser = _Tags()
    parser.feed(result[0])
    for tag, names in parser.found:
        assert tag in allowlist.tags, tag
        allowed = allowlist.attributes.get(tag, set()) | allowlist.attributes.get("*", set())
        assert set(names) <= allowed | {"rel"}, (tag, names)


@given(
    clusters=st.lists(st.sampled_from([*CLUSTERS, " ", "字"]), min_size=1, max_size=700),
    lang=st.sampled_from(["zh-Hans", "zh-Hant", "en"]),
)
@FUZZ
def test_excerpt_stays_in_bounds_and_never_splits_a_grapheme(
    fuzz_app: Flask, clusters: list[str], lang: str
) -> None:
    result = render(fuzz_app, "".join(clusters), lang)
    assert result is not None
    excerpt = result[1]
    suffix = "..."
    # Indented lines become code blocks, shown as a placeholder: not the author's text.
    stem = PLACEHOLDER.sub("", excerpt.removesuffix(suffix))
    pieces = GRAPHEME.findall(stem)
    assert len(pieces) <= 300
    # Compared in NFD: a renderer may reorder combining marks, but a cut inside a cluster
    # leaves a fragment that no whole cluster of the input normalizes to.
    allowed = {unicodedata.normalize("NFD", c) for c in [*CLUSTERS, "字"]}
    assert {unicodedata.normalize("NFD", p) for p in pieces if not p.isspace()} <= allowed


def texts_of(html: str, tags: tuple[str, ...]) -> list[str]:
    """Text inside every element named in ``tags`` (outermost ones), in document order."""

    class Collector(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.depth = 0
            self.texts: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in tags:
                if self.depth == 0:
                    self.texts.append("")
                self.depth += 1

        def handle_endtag(self, tag: str) -> None:
            if tag in tags and self.depth:
                self.depth -= 1

        def handle_data(self, data: str) -> None:
            if self.depth:
                self.texts[-1] += data

    collector = Collector()
    collector.feed(html)
    return collector.texts


@given(
    inline=st.text(alphabet=CONVERTIBLE + "ab1 ", min_size=1, max_size=30),
    block=st.text(alphabet=CONVERTIBLE + "xy=\n ", min_size=1, max_size=80),
    formula=st.text(alphabet=CONVERTIBLE, min_size=1, max_size=10),
)
@FUZZ
def test_variant_conversion_never_changes_code_or_math(
    fuzz_app: Flask, inline: str, block: str, formula: str
) -> None:
    inline = inline.strip().replace("`", "") or "这"
    source = (
        f"这个软件的说明：`{inline}` 以及公式 $\\text{{{formula}}}$。\n\n"
        f"```text\n{block}\n```\n\n$$\\text{{{formula}}} = 1$$\n"
    )
    with fuzz_app.app_context():
        existing = db.session.scalar(db.select(Post).where(Post.slug == "fuzz-variant"))
        fields = PostFields(title="变体", source=source, slug="fuzz-variant")
        save_post(fields, author="fuzz", post=existing)
    client = fuzz_app.test_client()
    pages = {
        variant: client.get(f"/{variant}/posts/fuzz-variant/").get_data(as_text=True)
        for variant in ("zh-hans", "zh-tw", "zh-hk", "zh-hant")
    }
    protected = {v: texts_of(html, ("code", "pre", "math")) for v, html in pages.items()}
    assert protected["zh-hans"]
    assert all(texts == protected["zh-hans"] for texts in protected.values())
    assert "這個軟體" in pages["zh-tw"]


HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=200,
)


@given(
    path=st.text(max_size=60),
    query=st.text(max_size=60),
    prefix=st.sampled_from(["", "/zh-tw", "/zh-hans", "/posts", "/tags", "/search", "/admin"]),
    accept_language=HEADER_TEXT,
    cookie_name=st.sampled_from(["variant", "session", "x"]),
    cookie_value=HEADER_TEXT,
    extra=st.dictionaries(
        st.sampled_from(["If-None-Match", "If-Modified-Since", "Range", "Referer", "Host"]),
        HEADER_TEXT,
    ),
)
@FUZZ
def test_random_requests_never_get_a_server_error(
    fuzz_app: Flask,
    path: str,
    query: str,
    prefix: str,
    accept_language: str,
    cookie_name: str,
    cookie_value: str,
    extra: dict[str, str],
) -> None:
    client = fuzz_app.test_client()
    client.set_cookie(cookie_name, re.sub(r"[;,\s\"\\]", "", cookie_value))
    url = f"{prefix}/{quote(path)}?{quote(query, safe='=&')}"
    headers = {"Accept-Language": accept_language, **extra}
    if "Host" in headers:
        headers["Host"] = re.sub(r"[^a-zA-Z0-9.:-]", "", headers["Host"]) or "localhost"
    response = client.get(url, headers=headers)
    assert response.status_code < 500, (url, headers, response.status_code)
