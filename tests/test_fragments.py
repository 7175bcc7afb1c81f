"""A post's body is converted once per variant (fragment caches), not on every cache miss.

The output must stay byte for byte what a scan of the whole page gives, and every change
must show at once: an edited body, a post's script, a renamed neighbour, a new glossary.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import nh3
import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import Markup

from blog.fragments import END, START, FragmentCache, join, mark, split, unmark
from blog.models import Post, db
from blog.posts import PostFields, save_post
from blog.textscan import TEXT_FRAGMENTS_KEY
from blog_plugins.opencc import Config
from blog_plugins.opencc.htmlconvert import Target, convert_document
from blog_plugins.opencc.rules import load_glossary
from blog_plugins.opencc.variants import HANS, HANT
from blog_plugins.typography import to_corner_quotes
from tests.conftest import write_config

# -- the marks ---------------------------------------------------------------------------


def test_split_leaves_an_empty_slot_per_fragment_and_join_puts_them_back() -> None:
    page = f"<p>a</p>{mark('<p>正文一</p>')}<p>b</p>{mark('<p>正文二</p>')}"
    rest, fragments = split(page)
    assert fragments == ["<p>正文一</p>", "<p>正文二</p>"]
    assert rest == f"<p>a</p>{START}{END}<p>b</p>{START}{END}"
    assert join(rest, fragments) == page
    assert unmark(page) == "<p>a</p><p>正文一</p><p>b</p><p>正文二</p>"
    assert mark("") == "" and mark(None) == ""


@pytest.mark.parametrize(
    "page",
    [
        f"{START}<p>x</p>",  # no end
        f"<p>x</p>{END}",  # no start
        f"{START}a{START}b{END}{END}",  # nested
        f"{START}a{END}{END}",  # an extra end
    ],
)
def test_marks_that_do_not_pair_leave_the_page_whole(page: str) -> None:
    assert split(page) == (page, [])


def test_join_refuses_a_page_that_lost_a_slot() -> None:
    rest, fragments = split(f"<p>{mark('x')}</p>")
    assert join(rest.replace(END, ""), fragments) is None
    assert join(rest + START + END, fragments) is None


def test_the_cache_is_bounded_by_the_characters_it_holds() -> None:
    cache = FragmentCache(max_chars=100)
    cache.put("a", "x" * 30, 10)
    cache.put("b", "y" * 30, 10)
    assert cache.get("a") == "x" * 30  # now the most recently used
    cache.put("c", "z" * 30, 10)  # 120 > 100: the least recently used ("b") goes
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    cache.put("huge", "w" * 200, 0)
    assert cache.get("huge") is None


# -- the filters give the whole page's bytes ---------------------------------------------

#: Body pieces as sanitized HTML reaches a page: prose with both scripts, quote marks,
#: code, formulas, ``translate="no"``, variant marks, per-post rules, block and inline tags.
BODY_PIECES = (
    "“", "”", "‘", "’", "中文", "软件", "内存", "他说", "程式", "x", " ", "\n",
    "<p>", "</p>", "<b>", "</b>", "<br>", "<li>", "</li>", "<ul>", "</ul>",
    "<code>内存</code>", "<pre><code>“软件”</code></pre>",
    "<math><mi>x</mi><mo>“</mo><mtext>内存</mtext></math>",
    '<span translate="no">软件</span>', '<span lang="zh-Hant">記憶體“內存”</span>',
    '<span data-variants="{&quot;zh-tw&quot;: &quot;台&quot;}">陆</span>',
    '<div data-variant-rules="[{&quot;from&quot;: [&quot;软件&quot;], &quot;zh-tw&quot;: '
    '&quot;軟體X&quot;}]">软件</div>',
    '<div data-variant-groups="IT">鼠标</div>', "&amp;", "&ldquo;", "<a title='“软件”'>",
    "</a>", "<ruby>字<rt>“zì”</rt></ruby>",
)  # fmt: skip
ALLOWED = {
    "tags": {"p", "b", "br", "li", "ul", "code", "pre", "math", "mi", "mo", "mtext", "span"}
    | {"div", "a", "ruby", "rt"},
    "attributes": {
        "*": {"translate", "lang", "data-variants", "data-variant-rules", "data-variant-groups"},
        "a": {"title"},
    },
}


def sanitized_bodies(count: int) -> list[str]:
    rng = random.Random(20261202)
    bodies = []
    for _ in range(count):
        raw = "".join(rng.choice(BODY_PIECES) for _ in range(rng.randint(1, 30)))
        bodies.append(nh3.clean(raw, tags=ALLOWED["tags"], attributes=ALLOWED["attributes"]))
    return bodies


def page_around(body: str, lang: str) -> str:
    """A post page as the base theme lays it out: chrome with quotes and text around the body."""
    return (
        '<!doctype html><html lang="zh-Hans"><head><title>“软件”说明</title></head><body>'
        f'<p>“页面</p><article class="post" lang="{lang}"><h1>‘标题’内存</h1>'
        f'<div class="post-body">{mark(body)}</div><p>后记”</p></article>'
        "<nav><a>上一篇：“内存”</a></nav></body></html>"
    )


def target(code: str) -> Target:
    config = Config()
    return Target(
        code=code,
        html_lang={"zh-tw": "zh-Hant-TW", "zh-hk": "zh-Hant-HK"}[code],
        configs={HANS: config.from_simplified[code], HANT: config.from_traditional[code]},
        glossary=tuple(load_glossary(Path("plugins/opencc/data/glossary.toml"))),
    )


@pytest.mark.parametrize("code", ["zh-tw", "zh-hk"])
def test_converted_bodies_are_the_whole_page_conversion_byte_for_byte(code: str) -> None:
    variant = target(code)
    opencc_cache, quotes_cache = FragmentCache(), FragmentCache()
    changed = 0
    for body in sanitized_bodies(300):
        for lang in ("zh-Hans", "zh-Hant"):
            page = page_around(body, lang)
            expected = to_corner_quotes(convert_document(unmark(page), variant))
            for _cold_then_warm in range(2):
                converted = convert_document(page, variant, cache=opencc_cache)
                assert (START in converted) == bool(body)  # the next filter finds the body
                quoted = to_corner_quotes(converted, quotes_cache)
                assert unmark(quoted) == expected, (body, lang)
            changed += body != unmark(convert_document(mark(body), variant))
    # Not vacuous: the cache was used, and most bodies changed in conversion.
    assert len(opencc_cache) > 250 and len(quotes_cache) > 150
    assert changed > 300


def test_a_body_inside_text_left_alone_is_left_alone() -> None:
    """A fragment whose place is not converted (``translate="no"``) falls back to the scan."""
    page = f'<div translate="no"><div>{mark("<p>软件“内存”</p>")}</div></div><p>软件</p>'
    cache = FragmentCache()
    converted = convert_document(page, target("zh-tw"), cache=cache)
    assert unmark(converted) == '<div translate="no"><div><p>软件“内存”</p></div></div><p>軟體</p>'
    assert len(cache) == 0
    quoted = f"<code><span>{mark('<p>“软件”</p>')}</span></code>"
    assert to_corner_quotes(quoted, cache) == quoted


def test_a_body_sharing_a_paragraph_with_the_page_pairs_quotes_across_it() -> None:
    """No paragraph break around the fragment: the page is scanned whole, as before."""
    cache = FragmentCache()
    page = f"<p>“前{mark('中”')}</p>"
    assert unmark(to_corner_quotes(page, cache)) == "<p>「前中」</p>"
    assert len(cache) == 0


#: What may stand between a fragment and the page's paragraph breaks: white space, text
#: with and without quote marks, inline and block tags, protected text.
SURROUNDING_PIECES = (
    "\n", " ", "中文", "“", "”", "‘", "<b>", "</b>", "<p>", "</p>", "<br>", "<li>",
    "<code>“</code>", '<span translate="no">”</span>', "<!-- “ -->", "&amp;",
)  # fmt: skip


def test_corner_quotes_of_a_body_anywhere_in_a_page_are_the_whole_page_scan() -> None:
    """A body is edited on its own only when no quote mark lies between it and a break."""
    rng = random.Random(20261203)
    cache = FragmentCache()
    bodies = [body for body in sanitized_bodies(400) if body]
    changed = 0
    for body in bodies:
        before = "".join(rng.choice(SURROUNDING_PIECES) for _ in range(rng.randint(0, 6)))
        after = "".join(rng.choice(SURROUNDING_PIECES) for _ in range(rng.randint(0, 6)))
        page = f"<div>{before}{mark(body)}{after}</div>"
        expected = to_corner_quotes(unmark(page))
        for _cold_then_warm in range(2):
            assert unmark(to_corner_quotes(page, cache)) == expected, (before, body, after)
        changed += expected != unmark(page)
    # Not vacuous: many bodies were edited on their own, and many pages changed.
    assert len(cache) > 100 and changed > 100


def test_a_body_apart_from_the_page_by_white_space_and_plain_text_is_edited_once() -> None:
    cache = FragmentCache()
    page = f"<p>“甲”</p>\n说明 {mark('<p>“软件”</p>')}\n<p>‘乙’</p>"
    assert (
        unmark(to_corner_quotes(page, cache))
        == "<p>「甲」</p>\n说明 <p>「软件」</p>\n<p>『乙』</p>"
    )
    assert len(cache) == 1


def test_a_quote_mark_between_a_body_and_the_paragraph_break_makes_the_page_scan_whole() -> None:
    cache = FragmentCache()
    page = f"<div>“前 {mark('<b>中”</b>')}</div>"
    assert unmark(to_corner_quotes(page, cache)) == "<div>「前 <b>中」</b></div>"
    assert len(cache) == 0


# -- through the app -----------------------------------------------------------------------


@pytest.fixture
def uncached_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(PAGE_CACHE_BYTES=0)


def save(app: Flask, **fields: object) -> Post:
    with app.app_context():
        post = save_post(PostFields(**fields), author="test")  # type: ignore[arg-type]
        db.session.refresh(post)
        db.session.expunge(post)
        return post


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    text = response.get_data(as_text=True)
    assert "blog:fragment" not in text
    return text


def body_of(page: str) -> str:
    return page.split('<div class="post-body">', 1)[1].split("</div>", 1)[0]


def test_an_edited_body_shows_in_every_variant_at_once(uncached_app: Flask) -> None:
    post = save(uncached_app, title="缓存", source="这个软件的“内存”很大。", slug="cache")
    client = uncached_app.test_client()
    for _warm in range(2):
        assert "這個軟體的「記憶體」很大" in page(client, "/zh-tw/posts/cache/")
        assert "这个软件的“内存”很大" in page(client, "/posts/cache/")
    save_fields = PostFields(title="缓存", source="那个鼠标的‘内存’很小。", slug="cache")
    with uncached_app.app_context():
        save_post(save_fields, author="test", post=db.session.get(Post, post.id))
    shown = page(client, "/zh-tw/posts/cache/")
    assert "那個滑鼠的『記憶體』很小" in shown and "軟體" not in shown
    assert "那个鼠标的‘内存’很小" in page(client, "/posts/cache/")


def test_the_same_body_in_each_script_is_converted_from_its_own_script(
    uncached_app: Flask,
) -> None:
    save(uncached_app, title="简", source="内存", slug="hans", lang="zh-Hans")
    save(uncached_app, title="繁", source="内存", slug="hant", lang="zh-Hant")
    client = uncached_app.test_client()
    for _warm in range(2):
        hans = body_of(page(client, "/zh-tw/posts/hans/"))
        hant = body_of(page(client, "/zh-tw/posts/hant/"))
        assert hans == "<p>記憶體</p>"  # s2twp: a Simplified word, Taiwan's term
        assert "<p>内存</p>" in hant and "記憶體" not in hant  # t2tw: characters only


def test_a_renamed_neighbour_shows_on_the_next_miss(uncached_app: Flask) -> None:
    save(uncached_app, title="第一篇软件", source="正文一", slug="one")
    second = save(uncached_app, title="第二篇", source="正文二", slug="two")
    client = uncached_app.test_client()
    assert "第一篇軟體" in page(client, "/zh-tw/posts/two/")
    with uncached_app.app_context():
        first = db.session.scalar(db.select(Post).where(Post.slug == "one"))
        fields = PostFields(title="首篇鼠标", source="正文一", slug="one")
        save_post(fields, author="test", post=first)
    shown = page(client, "/zh-tw/posts/two/")
    assert "首篇滑鼠" in shown and "第一篇" not in shown
    assert second.slug == "two"


def test_a_changed_site_glossary_shows_after_restart(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app(PAGE_CACHE_BYTES=0)
    save(app, title="术语", source="我们的内存很大。", slug="term")
    assert "<p>我們的記憶體很大。</p>" in page(app.test_client(), "/zh-tw/posts/term/")
    (instance / "glossary.toml").write_text(
        '[[rule]]\nfrom = "内存"\nzh-tw = "主記憶體"\n', encoding="utf-8"
    )
    restarted = make_app(PAGE_CACHE_BYTES=0)
    assert "<p>我們的主記憶體很大。</p>" in page(restarted.test_client(), "/zh-tw/posts/term/")


def test_corner_quote_variants_follow_the_configuration(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    write_config(instance, plugins={"typography": {"corner_quote_variants": []}})
    app = make_app(PAGE_CACHE_BYTES=0)
    save(app, title="引号", source="他说“你好”。", slug="quote")
    assert "他說“你好”" in page(app.test_client(), "/zh-tw/posts/quote/")


def test_display_answers_are_kept_per_text_and_role_and_bounded(
    uncached_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blog import display

    monkeypatch.setattr(display, "MEMO_ENTRIES", 3)
    with uncached_app.test_request_context("/"):
        assert display.display_text("用PyTorch实现") == "用 PyTorch 实现"
        assert display.display_text("用PyTorch实现", "heading") == "用 PyTorch 实现"
        memo = uncached_app.extensions[display._MEMO_KEY]
        assert memo == {
            ("用PyTorch实现", "title"): "用 PyTorch 实现",
            ("用PyTorch实现", "heading"): "用 PyTorch 实现",
        }
        assert display.display_text("改成Rust了") == "改成 Rust 了"  # a new text: asked anew
        display.display_text("第四个Go")
        assert len(memo) <= 3  # full: emptied, then the new answer kept
        long_text = "长" * (display.MEMO_MAX_CHARS + 1)
        assert display.display_text(long_text) == long_text
        assert (long_text, "title") not in memo


# -- listings: each post card is a fragment ------------------------------------------------

LISTINGS = ("/", "/categories/软件/", "/tags/内存/")


def _listing_posts(app: Flask) -> None:
    save(app, title="软件“内存”", source="他说“内存”不够。", slug="a", category="软件")
    save(app, title="繁體記憶體", source="這個“程式”", slug="b", lang="zh-Hant", tags=["内存"])
    save(app, title="English ‘quotes’", source="Some “text”.", slug="c", lang="en")
    save(app, title="公式", source="$x$ 与“鼠标”", slug="d", category="软件", tags=["内存"])


@pytest.mark.parametrize("code", ["zh-tw", "zh-hk"])
def test_listings_with_card_fragments_are_the_whole_page_conversion(
    make_app: Callable[..., Flask], code: str
) -> None:
    marked = make_app(PAGE_CACHE_BYTES=0)
    _listing_posts(marked)
    whole = make_app(PAGE_CACHE_BYTES=0)
    # The same site with the marks left out: the filters scan every page whole.
    whole.jinja_env.filters["fragment"] = lambda html: Markup(str(html))
    marked_client, whole_client = marked.test_client(), whole.test_client()
    for _warm in range(2):
        for path in LISTINGS:
            expected = whole_client.get(f"/{code}{path}").get_data(as_text=True)
            assert "blog:fragment" not in expected
            assert page(marked_client, f"/{code}{path}") == expected, path
    shown = page(marked_client, f"/{code}/")
    assert "不夠" in shown and "不够" not in shown  # converted


def test_a_card_is_converted_once_for_every_listing_it_shows_on(uncached_app: Flask) -> None:
    _listing_posts(uncached_app)
    client = uncached_app.test_client()
    page(client, "/zh-tw/")
    with uncached_app.app_context():
        cards = uncached_app.extensions[TEXT_FRAGMENTS_KEY]
    held = len(cards)
    assert held >= 4  # one per card on the home page
    for path in LISTINGS:
        page(client, f"/zh-tw{path}")
    assert len(cards) == held  # the category and tag pages show the same cards


def test_an_edited_post_shows_on_the_next_listing_miss(uncached_app: Flask) -> None:
    _listing_posts(uncached_app)
    client = uncached_app.test_client()
    for _warm in range(2):
        assert "他說「記憶體」不夠" in page(client, "/zh-tw/categories/软件/")
    with uncached_app.app_context():
        first = db.session.scalar(db.select(Post).where(Post.slug == "a"))
        fields = PostFields(title="鼠标", source="他说“光标”。", slug="a", category="软件")
        save_post(fields, author="test", post=first)
    for path in ("/zh-tw/", "/zh-tw/categories/软件/"):
        shown = page(client, path)
        assert "滑鼠" in shown and "他說「游標」" in shown and "不夠" not in shown, path


def test_an_english_card_keeps_its_quotes_on_a_chinese_listing(uncached_app: Flask) -> None:
    _listing_posts(uncached_app)
    client = uncached_app.test_client()
    for code in ("zh-tw", "zh-hk"):
        for _warm in range(2):
            shown = page(client, f"/{code}/")
            # As on the English post's own page; the Chinese cards beside it still turn.
            assert "English ‘quotes’" in shown and "Some “text”." in shown
            assert "『quotes』" not in shown and "「text」" not in shown
            assert "English ‘quotes’" in page(client, f"/{code}/posts/c/")
    assert "「記憶體」" in page(client, "/zh-tw/")


# -- the chrome: head assets, header, navigation, comment form, footer ----------------------

#: Site settings whose text shows in the chrome: quote marks and words OpenCC changes.
CHROME_SETTINGS = {"SITE_TITLE": "“软件”笔记", "SITE_AUTHOR": "鼠标‘内存’"}
_COMMENT_TOKEN = re.compile(r'name="token" value="[^"]*"')


def _chrome_posts(app: Flask) -> None:
    save(app, title="软件", source="## 内存“很大”\n\n他说“内存”不够。\n\n## 鼠标", slug="a")
    save(app, title="繁體", source="這個“程式”", slug="b", lang="zh-Hant", tags=["内存"])


@pytest.mark.parametrize(
    ("code", "converted"),
    [
        ("zh-tw", ("「軟體」筆記", "滑鼠『記憶體』", "記憶體「很大」")),
        ("zh-hk", ("「軟件」筆記", "鼠標『內存』", "內存「很大」")),
    ],
)
def test_pages_with_chrome_fragments_are_the_whole_page_conversion(
    make_app: Callable[..., Flask], code: str, converted: tuple[str, ...]
) -> None:
    marked = make_app(PAGE_CACHE_BYTES=0, **CHROME_SETTINGS)
    _chrome_posts(marked)
    whole = make_app(PAGE_CACHE_BYTES=0, **CHROME_SETTINGS)
    whole.jinja_env.filters["fragment"] = lambda html: Markup(str(html))
    marked_client, whole_client = marked.test_client(), whole.test_client()
    paths = ("/posts/a/", "/posts/b/", "/", "/archive/", "/search?q=内存", "/tags/内存/")
    for _warm in range(2):
        for path in paths:
            expected = whole_client.get(f"/{code}{path}").get_data(as_text=True)
            shown = page(marked_client, f"/{code}{path}")
            assert _COMMENT_TOKEN.sub("", shown) == _COMMENT_TOKEN.sub("", expected), path
        missing = marked_client.get(f"/{code}/no-such-page/")
        assert missing.status_code == 404
        assert missing.get_data() == whole_client.get(f"/{code}/no-such-page/").get_data()
    shown = page(marked_client, f"/{code}/posts/a/")
    # Not vacuous: the chrome and the table of contents were converted.
    assert all(text in shown for text in converted), converted


def test_the_chrome_is_converted_once_for_every_page_it_shows_on(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(PAGE_CACHE_BYTES=0, **CHROME_SETTINGS)
    save(app, title="第一篇", source="正文一", slug="one")
    save(app, title="第二篇", source="正文二", slug="two")
    client = app.test_client()
    page(client, "/zh-tw/posts/one/")
    with app.app_context():
        converted = app.extensions[TEXT_FRAGMENTS_KEY]
    held = len(converted)
    assert held >= 5  # head assets, skip link, site header, body, comment form, footer...
    shown = page(client, "/zh-tw/posts/two/")
    assert "「軟體」筆記" in shown
    assert len(converted) == held + 1  # only the second post's body is new
