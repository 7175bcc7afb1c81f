"""Atom feeds (read with feedparser as a real client), the sitemap and robots.txt."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from flask import Flask

from blog.config import BUILTIN_PLUGINS
from blog.feeds import hreflang
from blog.importer import import_paths
from blog.models import Post, db
from blog.posts import PostFields, save_post
from blog_plugins.typography import typeset_text
from tests.test_search import DEMO, install_normalizer

ATOM = "{http://www.w3.org/2005/Atom}"
XHTML = "{http://www.w3.org/1999/xhtml}"
MATHML = "{http://www.w3.org/1998/Math/MathML}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ENTRY_ID = re.compile(r"^tag:[a-z0-9.-]+,\d{4}-\d{2}-\d{2}:post-\d+$")


@pytest.fixture
def site(instance: Path, make_app: Callable[..., Flask], database: str) -> Flask:
    """The demo posts on a site with two URL variants (zh-hans, zh-tw)."""
    install_normalizer(instance)
    app = make_app(DATABASE_URL=database) if database else make_app()
    with app.app_context():
        assert not import_paths([DEMO]).failures
    return app


def public_posts(app: Flask) -> list[Post]:
    with app.app_context():
        posts = [p for p in db.session.scalars(db.select(Post)).all() if p.is_public]
        for post in posts:
            db.session.expunge(post)
        return [p for p in posts if p.kind == "post"]


def is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_feed(app: Flask, path: str) -> feedparser.FeedParserDict:
    response = app.test_client().get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


# --- Atom ---------------------------------------------------------------------------------


def test_feed_in_every_variant_reads_as_atom_with_full_entries(site: Flask) -> None:
    unprefixed = parse_feed(site, "/feed.xml")
    # Feeds show titles as pages do: spaced by the typography plugin, stored as written.
    assert {e.title for e in unprefixed.entries} == {
        typeset_text(p.title) for p in public_posts(site)
    }
    for prefix in ["", *(f"/{v}" for v in site.extensions["blog.variants"])]:
        feed = parse_feed(site, f"{prefix}/feed.xml")
        assert feed.version == "atom10"
        assert [e.id for e in feed.entries] == [e.id for e in unprefixed.entries]
        for entry in feed.entries:
            assert entry.title
            assert is_absolute(entry.link)
            assert urlsplit(entry.link).path.startswith(f"{prefix}/posts/")
            assert ENTRY_ID.match(entry.id)
            assert entry.published_parsed and entry.updated_parsed
            assert entry.content[0].type == "application/xhtml+xml"
            assert entry.content[0].value.strip()
            assert entry.summary


def test_variant_feed_converts_text_but_not_code_or_markup(app: Flask) -> None:
    # Every built-in plugin is enabled (conftest), opencc among them: a skip here would hide
    # a variant feed that stopped being served.
    assert "zh-tw" in app.extensions["blog.variants"]
    with app.app_context():
        save_post(
            PostFields(title="软件笔记", source="这个软件很好。\n\n```\n软件 = 1\n```\n"),
            author="t",
        )
    root = ET.fromstring(app.test_client().get("/zh-tw/feed.xml").data)
    entry = root.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") != "软件笔记"
    div = entry.find(f"{ATOM}content/{XHTML}div")
    assert div is not None
    paragraph = "".join(div.find(f"{XHTML}p").itertext())  # type: ignore[union-attr]
    assert "软件" not in paragraph and "很好" in paragraph
    code = "".join(div.find(f".//{XHTML}code").itertext())  # type: ignore[union-attr]
    assert "软件" in code


def test_entry_id_survives_an_edit_while_updated_moves(site: Flask) -> None:
    before = {e.link: e for e in parse_feed(site, "/feed.xml").entries}
    with site.app_context():
        post = db.session.scalar(db.select(Post).where(Post.status == "published"))
        assert post is not None
        fields = PostFields(title=post.title + "（修订）", source=post.source + "\n\n补充。")
        fields.published_at, fields.slug = post.published_at, post.slug
        fields.updated_at = datetime(2030, 1, 1)
        save_post(fields, author="t", post=post)
        slug = post.slug
    after = {e.link: e for e in parse_feed(site, "/feed.xml").entries}
    (link,) = [link for link in after if f"/posts/{slug}/" in link]
    assert after[link].id == before[link].id
    assert after[link].updated.startswith("2030-01-01")


def test_entries_keep_math_as_mathml_with_the_tex_annotation(app: Flask) -> None:
    with app.app_context():
        save_post(PostFields(title="公式", source="能量 $E=mc^2$。"), author="t")
    root = ET.fromstring(app.test_client().get("/feed.xml").data)
    content = root.find(f"{ATOM}entry/{ATOM}content")
    assert content is not None and content.get("type") == "xhtml"
    math = content.find(f".//{MATHML}math")
    assert math is not None
    annotation = math.find(f".//{MATHML}annotation")
    assert annotation is not None and annotation.text == "E=mc^2"


def test_feed_without_full_content_carries_summaries_only(make_app: Callable[..., Flask]) -> None:
    app = make_app(FEED_FULL_CONTENT=False)
    with app.app_context():
        save_post(PostFields(title="摘要", source="第一段。\n\n第二段。"), author="t")
    (entry,) = parse_feed(app, "/feed.xml").entries
    assert "content" not in entry
    assert entry.summary


def test_feed_links_use_the_configured_site_url(make_app: Callable[..., Flask]) -> None:
    app = make_app(SITE_URL="https://blog.example.org")
    with app.app_context():
        save_post(PostFields(title="甲", source="正文![图](/uploads/a.png)"), author="t")
    feed = parse_feed(app, "/feed.xml")
    assert feed.feed.link == "https://blog.example.org/"
    (entry,) = feed.entries
    assert entry.link.startswith("https://blog.example.org/posts/")
    assert entry.id.startswith("tag:blog.example.org,")
    assert 'src="https://blog.example.org/uploads/a.png"' in entry.content[0].value


def test_category_and_tag_feeds_hold_only_their_posts(site: Flask) -> None:
    client = site.test_client()
    with site.app_context():
        posts = public_posts(site)
        in_category = {
            typeset_text(p.title) for p in posts if p.category and p.category.name == "深度学习"
        }
        tagged = {typeset_text(p.title) for p in posts if "GPU" in {t.name for t in p.tags}}
    category = feedparser.parse(client.get("/categories/深度学习/feed.xml").data)
    assert {e.title for e in category.entries} == in_category
    tag = feedparser.parse(client.get("/tags/GPU/feed.xml").data)
    assert {e.title for e in tag.entries} == tagged


def test_feed_of_an_unknown_category_is_not_found(app: Flask) -> None:
    assert app.test_client().get("/categories/不存在/feed.xml").status_code == 404


def test_empty_site_still_has_a_valid_feed(app: Flask) -> None:
    feed = parse_feed(app, "/feed.xml")
    assert feed.entries == [] and feed.feed.updated_parsed


def test_control_characters_in_a_title_do_not_break_the_feed(app: Flask) -> None:
    with app.app_context():
        save_post(PostFields(title="坏\x08标题 <&>", source="正文 \x0b 内容"), author="t")
    (entry,) = parse_feed(app, "/feed.xml").entries
    assert entry.title == "坏标题 <&>"


# --- Sitemap and robots.txt ---------------------------------------------------------------


def sitemap_urls(app: Flask) -> list[ET.Element]:
    response = app.test_client().get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.data)
    assert root.tag == f"{SITEMAP}urlset"
    return root.findall(f"{SITEMAP}url")


def test_sitemap_lists_every_public_post_with_absolute_urls_and_lastmod(site: Flask) -> None:
    urls = sitemap_urls(site)
    locations = []
    for url in urls:
        loc = url.findtext(f"{SITEMAP}loc") or ""
        assert is_absolute(loc)
        lastmod = url.findtext(f"{SITEMAP}lastmod")
        assert lastmod and W3C_DATETIME.match(lastmod)
        locations.append(urlsplit(loc).path)
    assert len(locations) == len(set(locations))
    with site.test_request_context():
        from flask import url_for

        for post in public_posts(site):
            assert url_for("public.post", slug=post.slug) in locations
        assert url_for("public.archive") in locations
        assert url_for("public.category", name="深度学习") in locations
        assert url_for("public.tag", name="GPU") in locations


def test_sitemap_leaves_out_drafts(site: Flask) -> None:
    with site.app_context():
        draft = db.session.scalar(db.select(Post).where(Post.status == "draft"))
        assert draft is not None
        slug = draft.slug
    locations = [u.findtext(f"{SITEMAP}loc") or "" for u in sitemap_urls(site)]
    assert not any(slug in urlsplit(loc).path for loc in locations)


def test_every_sitemap_url_has_an_alternate_for_each_variant(site: Flask) -> None:
    with site.app_context():
        expected = {"x-default", *(hreflang(v) for v in site.extensions["blog.variants"])}
    urls = sitemap_urls(site)
    assert urls
    for url in urls:
        loc = url.findtext(f"{SITEMAP}loc") or ""
        links = url.findall("{http://www.w3.org/1999/xhtml}link")
        alternates = {link.get("hreflang"): link.get("href") or "" for link in links}
        assert set(alternates) == expected
        assert "zh-Hant-TW" in expected
        path = urlsplit(loc).path
        assert alternates["x-default"] == loc
        assert urlsplit(alternates["zh-Hant-TW"]).path == "/zh-tw" + path
        assert all(link.get("rel") == "alternate" for link in links)


def test_sitemap_without_variants_has_no_alternates(make_app: Callable[..., Flask]) -> None:
    app = make_app(PLUGINS=[name for name in BUILTIN_PLUGINS if name != "opencc"])
    with app.app_context():
        save_post(PostFields(title="甲", source="正文"), author="t")
    assert app.extensions["blog.variants"] == []
    urls = sitemap_urls(app)
    assert urls
    for url in urls:
        assert url.findall("{http://www.w3.org/1999/xhtml}link") == []


def test_robots_txt_points_to_the_sitemap(make_app: Callable[..., Flask]) -> None:
    app = make_app(SITE_URL="https://blog.example.org/")
    body = app.test_client().get("/robots.txt").get_data(as_text=True)
    assert "Sitemap: https://blog.example.org/sitemap.xml" in body.splitlines()
    assert "Disallow: /admin/" in body.splitlines()
