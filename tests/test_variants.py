"""Script variants through the app: URLs, selection, conversion, metadata, switcher, caching."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.models import Post

ATOM = "{http://www.w3.org/2005/Atom}"
XHTML = "{http://www.w3.org/1999/xhtml}"
VARIANT_LANGS = {
    "zh-hans": "zh-Hans",
    "zh-hant": "zh-Hant",
    "zh-tw": "zh-Hant-TW",
    "zh-hk": "zh-Hant-HK",
}

POST = """\
软件与数据：改变量子比特的参数。

[链接到软件](/tags/软件/)

```python
print("软件与数据")
```

行内公式 $x_{数据}$ 之后的文字。

保留 -{软件}- 原样；按地区 -{zh-hans:程序;zh-tw:程式;zh-hk:電腦程式}- 写。
"""


class Page(HTMLParser):
    """The parts of a page these tests look at, read with the standard HTML parser."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.alternates: dict[str, str] = {}
        self.canonical: str | None = None
        self.switcher: list[dict[str, Any]] = []
        self.links: list[tuple[str, str]] = []
        self.code = ""
        self.math = ""
        self.h1 = ""
        self._stack: list[tuple[str, dict[str, str | None]]] = []
        self._link_text: list[str] | None = None
        self._link_href = ""
        self.feed(html)

    def _inside(self, tag: str, **attrs: str) -> bool:
        return any(
            t == tag
            and all(
                a.get(k) == v or (k == "class" and v in (a.get("class") or "").split())
                for k, v in attrs.items()
            )
            for t, a in self._stack
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag == "link" and values.get("rel") == "alternate" and values.get("hreflang"):
            self.alternates[str(values["hreflang"])] = str(values["href"])
        if tag == "link" and values.get("rel") == "canonical":
            self.canonical = values.get("href")
        if self._inside("nav", **{"class": "variant-switcher"}) and tag in ("a", "strong"):
            self.switcher.append({"tag": tag, "href": values.get("href"), "label": ""})
        if tag == "a" and not self._inside("nav"):
            self._link_text, self._link_href = [], str(values.get("href"))
        if tag not in {"link", "meta", "br", "img", "input", "hr", "mspace"}:
            self._stack.append((tag, values))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link_text is not None:
            self.links.append((self._link_href, "".join(self._link_text)))
            self._link_text = None
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if self.switcher and self._inside("nav", **{"class": "variant-switcher"}):
            self.switcher[-1]["label"] += data
        if self._link_text is not None:
            self._link_text.append(data)
        if self._inside("pre"):
            self.code += data
        if self._inside("math") and not self._inside("annotation"):
            self.math += data
        if self._inside("h1"):
            self.h1 += data


@pytest.fixture
def post(make_post: Callable[..., Post]) -> Post:
    return make_post(POST, title="改变量子比特的参数", slug="quantum", tags=["软件"])


def get_page(client: FlaskClient, url: str, **headers: str) -> Page:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.status_code
    return Page(response.get_data(as_text=True))


# -- conversion in every variant -------------------------------------------------------------


@pytest.mark.parametrize("code", VARIANT_LANGS)
def test_variant_page_carries_its_language_tag(client: FlaskClient, post: Post, code: str) -> None:
    assert get_page(client, f"/{code}/posts/quantum/").lang == VARIANT_LANGS[code]


def test_taiwan_page_converts_title_with_glossary(client: FlaskClient, post: Post) -> None:
    assert get_page(client, "/zh-tw/posts/quantum/").h1 == "改變量子位元的參數"


@pytest.mark.parametrize("code", VARIANT_LANGS)
def test_code_and_math_are_untouched_in_every_variant(
    client: FlaskClient, post: Post, code: str
) -> None:
    source = get_page(client, "/posts/quantum/")
    page = get_page(client, f"/{code}/posts/quantum/")
    assert 'print("软件与数据")' in page.code
    assert page.code == source.code
    assert page.math == source.math and "数据" in page.math


def test_link_text_converts_while_href_stays(client: FlaskClient, post: Post) -> None:
    page = get_page(client, "/zh-hant/posts/quantum/")
    assert ("/tags/软件/", "鏈接到軟件") in page.links
    tag_url = f"/zh-hant/tags/{quote('软件')}/"
    assert (tag_url, "#軟件") in page.links


def test_protected_text_stays_and_variant_forms_are_picked(client: FlaskClient, post: Post) -> None:
    tw = client.get("/zh-tw/posts/quantum/").get_data(as_text=True)
    hk = client.get("/zh-hk/posts/quantum/").get_data(as_text=True)
    hans = client.get("/zh-hans/posts/quantum/").get_data(as_text=True)
    assert '保留 <span data-noconvert="">软件</span> 原樣' in tw
    assert ">程式</span>" in tw and ">電腦程式</span>" in hk and ">程序</span>" in hans


def test_unconverted_page_shows_the_first_form(client: FlaskClient, post: Post) -> None:
    assert ">程序</span>" in client.get("/posts/quantum/").get_data(as_text=True)


def test_traditional_post_reads_in_simplified(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    make_post("這個軟體處理資料與網路。", title="繁體來源文章", slug="hant", lang="zh-Hant")
    response = client.get("/zh-hans/posts/hant/")
    text = response.get_data(as_text=True)
    assert "这个软体处理资料与网路。" in text
    assert Page(text).h1 == "繁体来源文章"


def test_traditional_post_body_uses_traditional_to_hong_kong_conversion(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    # s2hk would turn the 里 of a place name into 裏; t2hk knows the text is already
    # Traditional and leaves it.
    make_post("馬里蘭州的網絡", title="地名", slug="hant-hk", lang="zh-Hant")
    text = client.get("/zh-hk/posts/hant-hk/").get_data(as_text=True)
    assert '<div lang="zh-Hant-HK"><p>馬里蘭州的網絡</p></div>' in text


def test_post_rules_from_front_matter_apply(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    make_post(
        "数据与程序", slug="ruled", meta={"variants_rules": ["数据=>数据点", "程序=>zh-tw:程式碼"]}
    )
    text = client.get("/zh-tw/posts/ruled/").get_data(as_text=True)
    assert "数据点與程式碼" in text


def test_bad_post_rule_is_reported_and_good_ones_kept(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    post = make_post("数据", slug="badrule", meta={"variants_rules": ["数据=>数据点", "oops"]})
    assert post.render_meta["variant_rule_errors"] == [
        "rule 'oops': expected 'from=>to' or 'variant:text;variant:text'"
    ]
    assert "数据点" in app.test_client().get("/zh-tw/posts/badrule/").get_data(as_text=True)


def test_feed_converts_but_keeps_code(client: FlaskClient, post: Post) -> None:
    response = client.get("/zh-hant/feed.xml")
    assert response.status_code == 200
    feed = ElementTree.fromstring(response.get_data())
    entry_title = feed.find(f"{ATOM}entry/{ATOM}title")
    assert entry_title is not None and entry_title.text == "改變量子比特的參數"
    code = "".join("".join(pre.itertext()) for pre in feed.iter(f"{XHTML}pre"))
    assert 'print("软件与数据")' in code


def test_search_finds_simplified_post_with_traditional_query(
    client: FlaskClient, post: Post
) -> None:
    text = client.get(f"/search?q={quote('軟件')}").get_data(as_text=True)
    assert "/posts/quantum/" in text


def test_search_with_taiwan_wording_finds_mainland_wording(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    make_post("显存与内存的区别", title="硬件笔记", slug="memory")
    text = client.get(f"/search?q={quote('記憶體')}").get_data(as_text=True)
    assert "/posts/memory/" in text


# -- selection --------------------------------------------------------------------------------


def test_unprefixed_page_without_preference_is_not_converted(
    client: FlaskClient, post: Post
) -> None:
    page = get_page(client, "/posts/quantum/")
    assert page.h1 == "改变量子比特的参数"
    assert page.lang == "zh-Hans"


@pytest.mark.parametrize(
    ("header", "h1"),
    [
        ("zh-TW,zh;q=0.9", "改變量子位元的參數"),
        ("zh-HK", "改變量子比特的參數"),
        ("zh-CN,en;q=0.5", "改变量子比特的参数"),
    ],
)
def test_accept_language_selects_variant(
    client: FlaskClient, post: Post, header: str, h1: str
) -> None:
    assert get_page(client, "/posts/quantum/", **{"Accept-Language": header}).h1 == h1


def test_malformed_accept_language_is_ignored(client: FlaskClient, post: Post) -> None:
    page = get_page(client, "/posts/quantum/", **{"Accept-Language": "zh-TW;q=oops;;, ===="})
    assert page.h1 == "改变量子比特的参数"


def test_cookie_beats_accept_language(client: FlaskClient, post: Post) -> None:
    client.set_cookie("variant", "zh-hk")
    page = get_page(client, "/posts/quantum/", **{"Accept-Language": "zh-TW"})
    assert page.lang == "zh-Hant-HK"


def test_unknown_cookie_value_is_ignored(client: FlaskClient, post: Post) -> None:
    client.set_cookie("variant", "klingon")
    assert get_page(client, "/posts/quantum/").lang == "zh-Hans"


def test_variant_parameter_sets_cookie_and_redirects_to_prefixed_page(
    client: FlaskClient, post: Post
) -> None:
    response = client.get("/posts/quantum/?variant=zh-tw")
    assert response.status_code == 302
    assert response.headers["Location"] == "/zh-tw/posts/quantum/"
    assert "variant=zh-tw" in response.headers["Set-Cookie"]
    assert get_page(client, "/archive/").lang == "zh-Hant-TW"


def test_variant_parameter_on_prefixed_page_moves_to_the_other_variant(
    client: FlaskClient, post: Post
) -> None:
    response = client.get("/zh-hk/page/1/?variant=zh-hant&x=1")
    assert response.headers["Location"] == "/zh-hant/page/1/?x=1"


def test_variant_auto_forgets_the_choice(client: FlaskClient, post: Post) -> None:
    client.get("/?variant=zh-tw")
    response = client.get("/zh-tw/posts/quantum/?variant=auto")
    assert response.headers["Location"] == "/posts/quantum/"
    assert get_page(client, "/posts/quantum/").lang == "zh-Hans"


def test_unknown_variant_parameter_neither_redirects_nor_sets_cookie(
    client: FlaskClient, post: Post
) -> None:
    response = client.get("/posts/quantum/?variant=http://evil.example/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("path", ["//evil.example/x", "/\\evil.example/x", "///evil.example"])
def test_variant_redirect_never_leaves_the_site(client: FlaskClient, path: str) -> None:
    response = client.get(f"{path}?variant=auto")
    location = response.headers.get("Location", "/")
    assert location.startswith("/") and not location.startswith(("//", "/\\"))


# -- headers and caching ----------------------------------------------------------------------


def test_unprefixed_page_varies_on_cookie_and_language(client: FlaskClient, post: Post) -> None:
    vary = {
        v.strip().lower() for v in client.get("/posts/quantum/").headers.get("Vary", "").split(",")
    }
    assert {"cookie", "accept-language"} <= vary


def test_prefixed_page_does_not_vary(client: FlaskClient, post: Post) -> None:
    # Nothing about the reader's variant: no Cookie or Accept-Language (Accept-Encoding is
    # the page cache's compression, the same page in every coding).
    vary = client.get("/zh-tw/posts/quantum/").headers.get("Vary", "")
    assert "Cookie" not in vary and "Accept-Language" not in vary


def test_prefixed_page_revalidates_with_its_etag(client: FlaskClient, post: Post) -> None:
    first = client.get("/zh-tw/posts/quantum/")
    etag = first.headers["ETag"]
    again = client.get("/zh-tw/posts/quantum/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert client.get("/zh-hk/posts/quantum/").headers["ETag"] != etag


def test_cached_unprefixed_pages_differ_by_accept_language(client: FlaskClient, post: Post) -> None:
    tw = client.get("/posts/quantum/", headers={"Accept-Language": "zh-TW"})
    plain = client.get("/posts/quantum/")
    tw_again = client.get("/posts/quantum/", headers={"Accept-Language": "zh-TW"})
    assert Page(plain.get_data(as_text=True)).lang == "zh-Hans"
    assert tw.headers["ETag"] == tw_again.headers["ETag"] != plain.headers["ETag"]


def test_admin_ui_strings_follow_a_reader_of_a_variant(client: FlaskClient) -> None:
    plain = client.get("/admin/login").get_data(as_text=True)
    client.set_cookie("variant", "zh-tw")
    converted = client.get("/admin/login").get_data(as_text=True)
    assert "登录" in plain
    assert "登录" not in converted
    assert "登入" in converted


def test_variant_parameter_is_ignored_on_author_pages(client: FlaskClient) -> None:
    response = client.get("/admin/login?variant=zh-tw")
    assert response.status_code == 200
    assert not any(c.startswith("variant=") for c in response.headers.getlist("Set-Cookie"))


def test_content_language_header_names_the_variant(client: FlaskClient, post: Post) -> None:
    assert client.get("/zh-hk/posts/quantum/").headers["Content-Language"] == "zh-Hant-HK"


# -- metadata and switcher --------------------------------------------------------------------


def test_alternates_list_every_variant_and_x_default(client: FlaskClient, post: Post) -> None:
    page = get_page(client, "/zh-tw/posts/quantum/")
    expected = {"x-default": "http://localhost/posts/quantum/"}
    expected |= {
        lang: f"http://localhost/{code}/posts/quantum/" for code, lang in VARIANT_LANGS.items()
    }
    assert page.alternates == expected


def test_canonical_url_is_the_variants_own(client: FlaskClient, post: Post) -> None:
    assert (
        get_page(client, "/zh-hk/posts/quantum/").canonical
        == "http://localhost/zh-hk/posts/quantum/"
    )
    assert get_page(client, "/posts/quantum/").canonical == "http://localhost/posts/quantum/"


def test_canonical_url_uses_configured_site_url(
    make_app: Callable[..., Flask], make_post: Callable[..., Post]
) -> None:
    app = make_app(SITE_URL="https://blog.example.org/")
    with app.app_context():
        from blog.posts import PostFields, save_post

        save_post(PostFields(title="标题", source="正文", slug="one"), author="t")
    page = get_page(app.test_client(), "/zh-tw/posts/one/")
    assert page.canonical == "https://blog.example.org/zh-tw/posts/one/"
    assert page.alternates["x-default"] == "https://blog.example.org/posts/one/"


def test_switcher_links_every_variant_and_marks_current(client: FlaskClient, post: Post) -> None:
    page = get_page(client, "/zh-hant/posts/quantum/")
    assert [(link["tag"], link["label"]) for link in page.switcher] == [
        ("a", "简"),
        ("strong", "繁"),
        ("a", "臺"),
        ("a", "港"),
    ]
    assert page.switcher[0]["href"] == "/zh-hans/posts/quantum/?variant=zh-hans"


def test_switcher_link_leads_to_the_variant_page_and_remembers_it(
    client: FlaskClient, post: Post
) -> None:
    link = get_page(client, "/posts/quantum/").switcher[2]["href"]
    response = client.get(link, follow_redirects=True)
    assert Page(response.get_data(as_text=True)).lang == "zh-Hant-TW"
    assert get_page(client, "/").lang == "zh-Hant-TW"


# -- configuration ------------------------------------------------------------------------------


def test_offered_variants_are_configurable(make_app: Callable[..., Flask], instance: Path) -> None:
    app = make_app(plugins={"opencc": {"variants": ["zh-hans", "zh-tw"]}})
    client = app.test_client()
    assert client.get("/zh-tw/").status_code == 200
    assert client.get("/zh-hk/").status_code == 404
    assert [link["label"] for link in get_page(client, "/").switcher] == ["简", "臺"]


def test_opencc_config_per_variant_is_configurable(make_app: Callable[..., Flask]) -> None:
    app = make_app(plugins={"opencc": {"from_simplified": {"zh-tw": "s2tw"}}})
    with app.app_context():
        from blog.posts import PostFields, save_post

        save_post(PostFields(title="软件", source="正文", slug="one"), author="t")
    assert get_page(app.test_client(), "/zh-tw/posts/one/").h1 == "軟件"


def test_site_glossary_applies_to_every_page(
    make_app: Callable[..., Flask], instance: Path
) -> None:
    (instance / "glossary.toml").write_text(
        '[[rule]]\nfrom = "首页"\nzh-tw = "首頁面"\n', encoding="utf-8"
    )
    app = make_app()
    assert "首頁面" in app.test_client().get("/zh-tw/").get_data(as_text=True)


def test_broken_site_glossary_stops_start_up_naming_the_file(
    make_app: Callable[..., Flask], instance: Path
) -> None:
    (instance / "glossary.toml").write_text('[[rule]]\nfrom = ""\n', encoding="utf-8")
    with pytest.raises(Exception, match=r"glossary\.toml: rule 1"):
        make_app()
