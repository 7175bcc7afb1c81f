"""Themes: lookup and overrides, start-up errors, and every page type of both shipped themes.

The page tests run over the demo posts (``blog/demo``), so math, code, tables, a
Traditional Chinese post and an English-titled one are all on the pages they parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import tomli_w
from click.testing import Result
from flask import Flask
from sqlalchemy import select

from blog.app import create_app
from blog.config import BUILTIN_PLUGINS, ConfigError
from blog.db import upgrade
from blog.importer import import_paths
from blog.models import Post, db

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "blog" / "demo"
THEMES = ["transmission", "paper"]
VOID = {"meta", "link", "br", "img", "input", "hr", "source", "wbr", "col", "area", "embed"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)


class PageParser(HTMLParser):
    """A small DOM: every element with its attributes and text, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype = ""
        self.elements: list[Element] = []
        self.open: list[Element] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        if self.open:
            self.open[-1].children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index].tag == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def with_class(self, name: str) -> list[Element]:
        return [e for e in self.elements if name in e.attrs.get("class", "").split()]


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def build_site(root: Path, theme: str, **settings: object) -> Flask:
    """An instance over ``root`` with the demo posts imported, using ``theme``."""
    config: dict[str, object] = {
        "SECRET_KEY": "test-secret",
        "PLUGINS": [p for p in BUILTIN_PLUGINS if p != "opencc"],
        "STRICT_PLUGINS": True,
        "THEME": theme,
        "POSTS_PER_PAGE": 5,
        "TESTING": True,
    }
    config.update(settings)
    root.mkdir(parents=True, exist_ok=True)
    app = create_app(config=config, instance_path=root)
    upgrade(app)
    with app.app_context():
        report = import_paths([DEMO])
        assert not report.failures, report.failures
    return app


@pytest.fixture(scope="module", params=THEMES)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    app = build_site(tmp_path_factory.mktemp(request.param), request.param)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def slug_where(app: Flask, **conditions: str) -> str:
    with app.app_context():
        query = select(Post.slug).where(
            *(getattr(Post, k) == v for k, v in conditions.items()), Post.status == "published"
        )
        slug = db.session.scalars(query.order_by(Post.published_at)).first()
    assert slug is not None
    return slug


def with_body(app: Flask, needle: str) -> str:
    with app.app_context():
        slug = db.session.scalar(
            select(Post.slug).where(Post.source.contains(needle), Post.status == "published")
        )
    assert slug is not None
    return slug


def middle_post_url(app: Flask) -> str:
    """A post with both an older and a newer neighbour."""
    with app.app_context():
        slugs = db.session.scalars(
            select(Post.slug).where(Post.status == "published").order_by(Post.published_at)
        ).all()
    return f"/posts/{quote(slugs[len(slugs) // 2])}/"


def page_urls(app: Flask) -> dict[str, str]:
    """One URL of every page type the themes draw."""
    with app.app_context():
        post = db.session.scalars(
            select(Post).where(Post.status == "published", Post.category_id.is_not(None))
        ).first()
        assert post is not None and post.category is not None and post.tags
        category, tag = post.category.name, post.tags[0].name
    return {
        "home": "/",
        "page 2": "/page/2/",
        "post": f"/posts/{quote(with_body(app, '$$'))}/",
        "category": f"/categories/{quote(category)}/",
        "tag": f"/tags/{quote(tag)}/",
        "archive": "/archive/",
        "search": "/search?q=" + quote("注意力"),
        "404": "/no-such-page/",
    }


PAGE_TYPES = ["home", "page 2", "post", "category", "tag", "archive", "search", "404"]


# --- Every page type, both themes ---------------------------------------------------------


@pytest.mark.parametrize("kind", PAGE_TYPES)
def test_page_renders_with_landmarks_and_skip_link(site: Flask, kind: str) -> None:
    response = site.test_client().get(page_urls(site)[kind])
    assert response.status_code == (404 if kind == "404" else 200)
    page = parse(response.get_data(as_text=True))
    assert page.doctype.lower() == "doctype html"
    assert page.find("html")[0].attrs["lang"] == "zh-Hans"
    assert len(page.find("main")) == 1 and page.find("main")[0].attrs["id"] == "main"
    assert page.find("a", class_="skip-link")[0].attrs["href"] == "#main"
    assert page.find("header", class_="site-header") and page.find("footer", class_="site-footer")
    assert len(page.find("h1")) == 1
    assert all(
        nav.attrs.get("aria-label") or nav.attrs.get("aria-labelledby") for nav in page.find("nav")
    )


@pytest.mark.parametrize("kind", PAGE_TYPES)
def test_page_has_no_inline_script_style_or_external_request(site: Flask, kind: str) -> None:
    html = site.test_client().get(page_urls(site)[kind]).get_data(as_text=True)
    page = parse(html)
    # JSON-LD is a data block: browsers never execute it, so CSP has nothing to forbid.
    executable = [s for s in page.find("script") if s.attrs.get("type") != "application/ld+json"]
    assert all("src" in s.attrs and not s.text.strip() for s in executable)
    assert not page.find("style")
    assert not [e.tag for e in page.elements if "style" in e.attrs]
    fetched = [e.attrs.get("src", "") for e in page.elements] + [
        link.attrs["href"] for link in page.find("link") if link.attrs.get("rel") == "stylesheet"
    ]
    assert all(not urlsplit(url).netloc for url in fetched if url)


def test_stylesheets_are_hashed_served_and_cached_for_a_year(site: Flask) -> None:
    client = site.test_client()
    page = parse(client.get("/").get_data(as_text=True))
    sheets = [
        link.attrs["href"] for link in page.find("link") if link.attrs.get("rel") == "stylesheet"
    ]
    theme_sheets = [url for url in sheets if url.startswith("/static/theme/")]
    assert [re.sub(r"\.[0-9a-f]{12}\.css$", ".css", u) for u in theme_sheets] == [
        "/static/theme/base.css",
        "/static/theme/theme.css",
    ]
    for url in theme_sheets:
        response = client.get(url)
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]


def test_home_cards_show_title_category_date_reading_time_and_excerpt(site: Flask) -> None:
    page = parse(site.test_client().get("/").get_data(as_text=True))
    cards = page.find("article", class_="post-card")
    assert len(cards) == 5
    for card in cards:
        classes = [c.attrs.get("class", "") for c in _descendants(card)]
        assert "post-card-title" in classes and "excerpt" in classes and "category" in classes
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", card.text)
        assert re.search(r"阅读约 \d+ 分钟", card.text)


def _descendants(element: Element) -> Iterator[Element]:
    for child in element.children:
        yield child
        yield from _descendants(child)


def test_home_paginates_to_page_two(site: Flask) -> None:
    client = site.test_client()
    page = parse(client.get("/").get_data(as_text=True))
    following = page.find("a", rel="next")
    assert [a.attrs["href"] for a in following] == ["/page/2/"]
    second = parse(client.get("/page/2/").get_data(as_text=True))
    assert [a.attrs["href"] for a in second.find("a", rel="prev")] == ["/"]
    assert "第 2 页，共 3 页" in second.with_class("page-count")[0].text


def test_post_page_has_toc_linking_to_its_headings(site: Flask) -> None:
    url = page_urls(site)["post"]
    page = parse(site.test_client().get(url).get_data(as_text=True))
    toc = page.find("nav", class_="toc")[0]
    targets = [a.attrs["href"] for a in _descendants(toc) if a.tag == "a"]
    assert targets
    ids = {e.attrs["id"] for e in page.elements if "id" in e.attrs}
    assert all(t.startswith("#") and t[1:] in ids for t in targets)
    assert "目录" in toc.text


def test_post_page_links_previous_and_next_with_chinese_labels(site: Flask) -> None:
    page = parse(site.test_client().get(middle_post_url(site)).get_data(as_text=True))
    nav = page.find("nav", class_="post-nav")[0]
    labels = [e.text for e in page.with_class("post-nav-label")]
    assert labels == ["上一篇", "下一篇"]
    assert {a.attrs["rel"] for a in _descendants(nav) if a.tag == "a"} == {"prev", "next"}


def test_traditional_post_is_marked_with_its_language(site: Flask) -> None:
    slug = slug_where(site, lang="zh-Hant")
    page = parse(site.test_client().get(f"/posts/{quote(slug)}/").get_data(as_text=True))
    assert page.find("article", class_="post")[0].attrs.get("lang") == "zh-Hant"
    home = parse(site.test_client().get("/").get_data(as_text=True))
    assert all(card.attrs.get("lang") in (None, "zh-Hant") for card in home.find("article"))


def test_listing_page_names_its_category(site: Flask) -> None:
    url = page_urls(site)["category"]
    page = parse(site.test_client().get(url).get_data(as_text=True))
    heading = page.find("h1")[0].text
    assert heading.startswith("分类：")
    assert page.find("article", class_="post-card")


def test_archive_groups_posts_under_chinese_year_and_month_headings(site: Flask) -> None:
    page = parse(site.test_client().get("/archive/").get_data(as_text=True))
    years = [h.text for h in page.find("h2")]
    months = [h.text for h in page.find("h3")]
    assert years and all(re.fullmatch(r"\d{4}年", y) for y in years)
    assert months and all(re.fullmatch(r"\d{1,2}月", m) for m in months)
    assert len(page.find("li")) >= 14


def test_not_found_page_explains_and_links_home(site: Flask) -> None:
    response = site.test_client().get("/no-such-page/")
    page = parse(response.get_data(as_text=True))
    assert response.status_code == 404
    assert "页面不存在" in page.find("h1")[0].text
    links = [a.attrs["href"] for a in _descendants(page.find("main")[0]) if a.tag == "a"]
    assert "/" in links and "/archive/" in links


def test_search_page_lists_matching_posts(site: Flask) -> None:
    response = site.test_client().get("/search?q=" + quote("注意力"))
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.find("form", role="search")
    assert page.find("input", id="q")[0].attrs["value"] == "注意力"
    assert page.find("article", class_="search-result")


# --- Theme choice, options and static overrides -------------------------------------------


def test_transmission_home_has_the_terminal_header_and_latest_updates(tmp_path: Path) -> None:
    app = build_site(tmp_path, "transmission")
    page = parse(app.test_client().get("/").get_data(as_text=True))
    assert "INCOMING TRANSMISSION" in page.find("h1")[0].text
    assert page.find("p", class_="section-label")[0].text == "LATEST UPDATES"


def test_paper_inherits_transmission_templates_with_its_own_label(tmp_path: Path) -> None:
    app = build_site(tmp_path, "paper")
    page = parse(app.test_client().get("/").get_data(as_text=True))
    assert page.find("section", class_="hero")
    assert page.find("p", class_="section-label")[0].text == "最新文章"


def test_child_theme_static_file_replaces_the_parents(tmp_path: Path) -> None:
    served: dict[str, bytes] = {}
    for theme in THEMES:
        app = build_site(tmp_path / theme, theme)
        client = app.test_client()
        page = parse(client.get("/").get_data(as_text=True))
        url = next(
            link.attrs["href"]
            for link in page.find("link")
            if "/static/theme/theme." in link.attrs["href"]
        )
        served[theme] = client.get(url).data
    assert served["transmission"] == (REPO / "themes/transmission/static/theme.css").read_bytes()
    assert served["paper"] == (REPO / "themes/paper/static/theme.css").read_bytes()


def test_english_ui_language_translates_theme_strings(tmp_path: Path) -> None:
    app = build_site(tmp_path, "transmission", UI_LANGUAGE="en")
    client = app.test_client()
    home = parse(client.get("/").get_data(as_text=True))
    assert next(a.text for a in home.find("a") if a.attrs.get("aria-current") == "page") == "Home"
    assert re.search(r"\d+ minutes? read", home.with_class("reading-time")[0].text)
    post = parse(client.get(middle_post_url(app)).get_data(as_text=True))
    assert [e.text for e in post.with_class("post-nav-label")] == ["Previous post", "Next post"]
    missing = parse(client.get("/nope/").get_data(as_text=True))
    assert missing.find("h1")[0].text == "404: page not found"


def test_iso_date_format_is_used_on_cards(tmp_path: Path) -> None:
    app = build_site(tmp_path, "paper", DATE_FORMAT="iso")
    page = parse(app.test_client().get("/").get_data(as_text=True))
    dates = [t.text for t in page.find("time")]
    assert dates and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates)


def test_blog_themes_lists_every_shipped_theme_and_marks_the_active_one(
    run_cli: Callable[..., Result],
) -> None:
    result = run_cli("themes")
    assert result.exit_code == 0
    listed = {line[2:].split()[0]: line[0] for line in result.output.splitlines()}
    assert listed["transmission"] == "*"
    assert listed["paper"] == " " and listed["base"] == " "


# --- Lookup: instance overrides and the default: prefix -----------------------------------


def test_instance_template_overrides_one_theme_template(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    (instance / "templates").mkdir()
    (instance / "templates" / "404.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>迷路了</h1>{% endblock %}',
        encoding="utf-8",
    )
    client = make_app().test_client()
    missing = parse(client.get("/nope/").get_data(as_text=True))
    assert missing.find("h1")[0].text == "迷路了"
    assert missing.find("a", class_="skip-link")
    home = parse(client.get("/").get_data(as_text=True))
    assert home.find("section", class_="hero")


def test_instance_override_can_extend_the_default_template(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    (instance / "templates").mkdir()
    (instance / "templates" / "post.html").write_text(
        '{% extends "default:post.html" %}{% block post_nav %}<p class="local-note">本站注</p>'
        "{{ super() }}{% endblock %}",
        encoding="utf-8",
    )
    app = make_app(**_plugins_only())
    with app.app_context():
        assert not import_paths([DEMO]).failures
    slug = with_body(app, "$$")
    page = parse(app.test_client().get(f"/posts/{quote(slug)}/").get_data(as_text=True))
    assert page.find("p", class_="local-note")[0].text == "本站注"
    assert page.find("nav", class_="post-nav") and page.find("nav", class_="toc")
    assert page.find("div", class_="post-body")


def _plugins_only() -> dict[str, object]:
    return {"PLUGINS": [p for p in BUILTIN_PLUGINS if p != "opencc"]}


# --- Start-up errors -----------------------------------------------------------------------


def _write_theme(instance: Path, folder: str, manifest: str, templates: dict[str, str]) -> None:
    root = instance / "themes" / folder
    (root / "templates").mkdir(parents=True)
    (root / "theme.toml").write_text(manifest, encoding="utf-8")
    for name, text in templates.items():
        (root / "templates" / name).write_text(text, encoding="utf-8")


def _start(instance: Path, **settings: object) -> None:
    config = {"SECRET_KEY": "x", "PLUGINS": [], **settings}
    (instance / "config.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    create_app(instance_path=instance)


def test_unknown_theme_fails_start_up_naming_it(instance: Path) -> None:
    with pytest.raises(ConfigError, match=r"THEME: no theme named 'nonesuch'"):
        _start(instance, THEME="nonesuch")


def test_bad_theme_toml_fails_start_up_naming_theme_and_file(instance: Path) -> None:
    _write_theme(instance, "broken", 'name = "broken"\nparent = \n', {})
    with pytest.raises(ConfigError) as raised:
        _start(instance, THEME="broken")
    assert "theme 'broken'" in str(raised.value)
    assert str(instance / "themes" / "broken" / "theme.toml") in str(raised.value)


def test_unknown_theme_toml_key_fails_start_up(instance: Path) -> None:
    _write_theme(instance, "odd", 'name = "odd"\ncolour = "red"\n', {})
    with pytest.raises(ConfigError, match=r"theme 'odd'.*unknown keys \['colour'\]"):
        _start(instance, THEME="odd")


def test_template_syntax_error_fails_start_up_naming_theme_and_file(instance: Path) -> None:
    _write_theme(instance, "typo", 'name = "typo"\n', {"post.html": "{% block content %}"})
    with pytest.raises(ConfigError) as raised:
        _start(instance, THEME="typo")
    assert "theme 'typo'" in str(raised.value)
    assert "post.html" in str(raised.value)


def test_missing_required_template_fails_start_up_naming_it(instance: Path) -> None:
    # An instance theme named "base" replaces the shipped one, so nothing supplies 404.html.
    templates = dict.fromkeys(("base.html", "index.html", "post.html", "listing.html"), "{{ 1 }}")
    templates.update({"archive.html": "", "search.html": "", "500.html": ""})
    _write_theme(instance, "base", 'name = "base"\n', templates)
    with pytest.raises(ConfigError, match=r"theme 'base': required template '404.html' not found"):
        _start(instance, THEME="base", UI_LANGUAGE="en")


def test_unknown_ui_language_fails_start_up_listing_available_ones(instance: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"UI_LANGUAGE: no theme catalog for 'fr'.*'en', 'zh_Hans'"
    ):
        _start(instance, UI_LANGUAGE="fr")
