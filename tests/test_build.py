"""`blog build OUT`: the public site, every variant, as static files.

The demo site is built once per module through the CLI; the tests read the files, check
every link against the files on disk, compare pages with what the app serves, validate
HTML and drive Chromium over a plain file server (no app running).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

import brotli
import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select

from blog import cli as cli_module
from blog import search
from blog.app import create_app
from blog.build.output import MANIFEST
from blog.build.paths import BuildError, case_collisions, output_path
from blog.db import upgrade
from blog.i18n import ui_plural, ui_text
from blog.importer import import_paths
from blog.models import DRAFT, SCHEDULED, Post, db, utcnow
from blog.posts import PostFields, fields_of, save_post, trash_post
from tests.conftest import REPO, write_config
from tests.static_site_support import broken_links, static_server, target_file

DEMO = REPO / "blog" / "demo"
VARIANTS = ["zh-hans", "zh-hant", "zh-tw", "zh-hk"]
PREFIXES = ["", *(f"/{v}" for v in VARIANTS)]
DRAFT_TITLE = "草稿不应出现在静态站点"
SCHEDULED_TITLE = "定时文章尚未发布"


def run_build(instance: Path, out: Path, *options: str) -> Result:
    cli_module._apps.clear()
    try:
        return CliRunner().invoke(
            cli_module.cli, ["--instance", str(instance), "build", str(out), *options]
        )
    finally:
        cli_module._apps.clear()


def open_app(instance: Path) -> Flask:
    app = create_app(instance_path=instance)
    upgrade(app)
    return app


def add_post(app: Flask, title: str, source: str = "正文", **fields: object) -> None:
    with app.app_context():
        save_post(PostFields(title=title, source=source, **fields), author="test")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Flask]]:
    """The demo posts plus a draft and a scheduled post, built once into ``out``."""
    root = tmp_path_factory.mktemp("demo")
    instance = root / "instance"
    write_config(instance, POSTS_PER_PAGE=5, SITE_URL="http://example.test")
    app = open_app(instance)
    with app.app_context():
        assert not import_paths([DEMO]).failures
    add_post(app, DRAFT_TITLE, slug="draft-secret", status=DRAFT)
    add_post(
        app,
        SCHEDULED_TITLE,
        slug="scheduled-secret",
        status=SCHEDULED,
        published_at=utcnow() + timedelta(days=30),
    )
    out = root / "site"
    result = run_build(instance, out)
    assert result.exit_code == 0, result.output + result.stderr
    yield instance, out, app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def public_slugs(app: Flask) -> list[str]:
    with app.app_context():
        posts = db.session.scalars(
            select(Post).where(Post.status == "published", Post.kind == "post").order_by(Post.id)
        )
        return [post.slug for post in posts]


# --- what is written ----------------------------------------------------------------------


def test_every_variant_has_home_listings_posts_feeds_and_search_index(
    demo: tuple[Path, Path, Flask],
) -> None:
    _instance, out, app = demo
    slugs = public_slugs(app)
    assert len(slugs) >= 10
    for prefix in PREFIXES:
        root = out / prefix.lstrip("/")
        for name in [
            "index.html",
            "page/2/index.html",
            "archive/index.html",
            "search/index.html",
            "feed.xml",
            "404.html",
            "search-index.json",
        ]:
            assert (root / name).is_file(), (prefix, name)
        for slug in slugs:
            assert (root / "posts" / slug / "index.html").is_file(), (prefix, slug)
        assert list((root / "categories").glob("*/index.html"))
        assert list((root / "categories").glob("*/feed.xml"))
        assert list((root / "tags").glob("*/index.html"))
    assert (out / "robots.txt").is_file()
    assert "Sitemap:" in (out / "robots.txt").read_text(encoding="utf-8")


def test_sitemap_lists_pages_with_hreflang_alternates(demo: tuple[Path, Path, Flask]) -> None:
    sitemap = (demo[1] / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>http://example.test/</loc>" in sitemap
    assert 'hreflang="zh-Hant-TW" href="http://example.test/zh-tw/' in sitemap


def test_drafts_and_scheduled_posts_are_never_written(demo: tuple[Path, Path, Flask]) -> None:
    out = demo[1]
    assert not list(out.rglob("draft-secret")) and not list(out.rglob("scheduled-secret"))
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".json"):
            text = path.read_text(encoding="utf-8")
            assert DRAFT_TITLE not in text and SCHEDULED_TITLE not in text, path


def test_built_page_is_the_page_the_app_serves(demo: tuple[Path, Path, Flask]) -> None:
    _instance, out, _app = demo
    # As the build asks for it: comments are off on a static site.
    served = create_app(
        config={"SITE_URL": "http://example.test", "COMMENTS_ENABLED": False},
        instance_path=demo[0],
    )
    client = served.test_client()
    slug = public_slugs(demo[2])[0]
    for prefix in ("", "/zh-tw"):
        url = f"{prefix}/posts/{quote(slug)}/"
        built = (out / prefix.lstrip("/") / "posts" / slug / "index.html").read_bytes()
        # The differences: the search page is a folder on the static site, and the static
        # site's pages load the script that remembers the reader's variant (no server to).
        served_page = client.get(url).data.replace(b'/search"', b'/search/"')
        script = re.findall(
            rb'<script src="/static/theme/variant\.[0-9a-f]+\.js" defer></script>\n', built
        )
        assert len(script) == 1, url
        assert built.replace(script[0], b"", 1) == served_page, url


def test_unprefixed_pages_are_in_the_source_script_with_the_switcher(
    demo: tuple[Path, Path, Flask],
) -> None:
    out = demo[1]
    home = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in home
    assert 'class="variant-switcher"' in home and 'href="/zh-tw/' in home
    taiwan = (out / "zh-tw" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hant-TW">' in taiwan
    assert 'href="/zh-tw/posts/' in taiwan
    assert 'href="/posts/' not in taiwan


def test_static_files_have_hashed_names_and_compressed_siblings(
    demo: tuple[Path, Path, Flask],
) -> None:
    out = demo[1]
    sheets = list((out / "static" / "theme").glob("*.css"))
    assert sheets and all(re.search(r"\.[0-9a-f]{12}\.css$", s.name) for s in sheets)
    assert list((out / "static" / "theme").glob("search.*.js"))
    assert not (out / "static" / "admin").exists()
    page = out / "index.html"
    assert gzip.decompress((out / "index.html.gz").read_bytes()) == page.read_bytes()
    assert brotli.decompress((out / "index.html.br").read_bytes()) == page.read_bytes()


def test_no_broken_internal_link_or_asset_in_any_variant(demo: tuple[Path, Path, Flask]) -> None:
    assert broken_links(demo[1], site_url="http://example.test") == {}


def test_the_404_page_is_themed(demo: tuple[Path, Path, Flask]) -> None:
    page = (demo[1] / "404.html").read_text(encoding="utf-8")
    assert 'class="site-header"' in page and "404" in page


# --- static search ------------------------------------------------------------------------


def test_search_index_holds_the_servers_tokens(demo: tuple[Path, Path, Flask]) -> None:
    _instance, out, app = demo
    index = json.loads((out / "zh-tw" / "search-index.json").read_text(encoding="utf-8"))
    with app.app_context():
        post = db.session.scalars(
            select(Post).where(Post.slug == index["docs"][0]["u"].split("/")[1])
        ).first()
        assert post is not None
        fields = search.indexed_post(post).fields
        for token in search.index_tokens(fields["title"]):
            assert any(value // 16 == 0 and value % 2 for value in index["tokens"][token]), token
    # Traditional characters seen on the built pages map to the normalised form.
    assert index["map"].get("訓") == "训"
    assert all(doc["u"].startswith("posts/") for doc in index["docs"])


def test_search_index_dates_are_the_sites_as_its_pages_print_them(tmp_path: Path) -> None:
    # 20:00 UTC on 8 August is already 9 August in Asia/Shanghai, the default TIMEZONE: an
    # index holding the UTC date showed search results a day earlier than their pages.
    instance = tmp_path / "instance"
    write_config(instance, SITE_URL="http://example.test", PLUGINS=["excerpt", "opencc"])
    app = open_app(instance)
    add_post(app, "夜里发布", slug="late", published_at=datetime(2025, 8, 8, 20, 0))
    out = tmp_path / "site"
    assert run_build(instance, out).exit_code == 0
    page = (out / "posts" / "late" / "index.html").read_text(encoding="utf-8")
    shown = re.search(r"<time[^>]*>([^<]*)</time>", page)
    assert shown is not None and shown.group(1) == "2025年8月9日"
    for prefix in ("", "zh-tw/"):
        index = json.loads((out / f"{prefix}search-index.json").read_text(encoding="utf-8"))
        [doc] = index["docs"]
        assert (doc["d"], doc["f"]) == ("2025-08-09", "2025年8月9日")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_search_page_says_javascript_is_needed_without_it(demo: tuple[Path, Path, Flask]) -> None:
    page = (demo[1] / "search" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"<noscript><p[^>]*>[^<]*JavaScript", page)
    assert 'data-search-root="/"' in page
    # search.js takes its words from a hidden paragraph; outside it, the page must not show
    # the server's answer to an empty query.
    labels = re.search(r'<p class="search-labels" hidden>.*?</p>', page, re.S)
    assert labels is not None
    assert "请输入要搜索的关键词" in labels.group(0)
    assert "请输入要搜索的关键词" not in page.replace(labels.group(0), "")


# --- incremental builds, sub-paths, bad input --------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> Iterator[tuple[Path, Flask]]:
    instance = tmp_path / "instance"
    write_config(instance, SITE_URL="http://example.test", PLUGINS=["excerpt", "typography"])
    app = open_app(instance)
    add_post(app, "第一篇", "第一篇的正文。", slug="first", category="笔记", tags=["甲"])
    add_post(app, "第二篇", "第二篇的正文。", slug="second", category="笔记")
    yield instance, app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_second_build_writes_nothing_and_an_edit_rewrites_only_what_changed(
    small: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = small
    out = tmp_path / "site"
    assert run_build(instance, out).exit_code == 0
    untouched = out / "posts" / "first" / "index.html"
    inode = untouched.stat().st_ino
    again = run_build(instance, out)
    assert again.exit_code == 0
    assert "0 written" in again.output and "0 removed" in again.output
    assert untouched.stat().st_ino == inode

    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == "second")).one()
        fields = fields_of(post)
        fields.source = "改过的正文。"
        save_post(fields, author="test", post=post)
    edited = run_build(instance, out)
    assert edited.exit_code == 0
    assert "written  posts/second/index.html" in edited.output
    assert "written  posts/first/index.html" not in edited.output
    assert untouched.stat().st_ino == inode
    assert "改过的正文" in (out / "posts" / "second" / "index.html").read_text(encoding="utf-8")


def test_a_deleted_post_loses_its_files(small: tuple[Path, Flask], tmp_path: Path) -> None:
    instance, app = small
    out = tmp_path / "site"
    assert run_build(instance, out).exit_code == 0
    assert (out / "posts" / "second" / "index.html").is_file()
    with app.app_context():
        trash_post(db.session.scalars(select(Post).where(Post.slug == "second")).one())
    result = run_build(instance, out)
    assert result.exit_code == 0
    assert "removed  posts/second/index.html" in result.output
    assert not (out / "posts" / "second").exists()
    assert broken_links(out, site_url="http://example.test") == {}


def build_at_sub_path(instance: Path, out: Path) -> Path:
    """Build ``instance`` into ``out`` for https://name.github.io/blog/; return ``out``."""
    result = run_build(instance, out, "--base-url", "https://name.github.io/blog/")
    assert result.exit_code == 0, result.output + result.stderr
    return out


def test_base_url_sub_path_prefixes_every_internal_link(
    small: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, _app = small
    out = build_at_sub_path(instance, tmp_path / "site")
    home = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="/blog/posts/first/"' in home
    assert 'href="/blog/static/theme/' in home
    assert 'href="https://name.github.io/blog/"' in home  # canonical
    assert not re.search(r'(?:href|src|action)="/(?!blog/)', home)
    assert broken_links(out, "/blog", "https://name.github.io/blog") == {}
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    assert "https://name.github.io/blog/posts/first/" in feed


def test_sub_path_files_match_their_compressed_siblings_and_manifest_digests(
    small: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, _app = small
    out = build_at_sub_path(instance, tmp_path / "site")
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    with_siblings = 0
    for name, digest in manifest.items():
        data = (out / name).read_bytes()
        # Hashed and compressed where the page was rendered: after its links were rewritten.
        assert hashlib.sha256(data).hexdigest() == digest, name
        if (out / f"{name}.gz").exists():
            assert gzip.decompress((out / f"{name}.gz").read_bytes()) == data, name
            assert brotli.decompress((out / f"{name}.br").read_bytes()) == data, name
            with_siblings += 1
    assert (out / "posts" / "first" / "index.html.gz").exists()
    assert with_siblings > len(manifest) // 2


def test_text_glued_to_an_attribute_name_is_not_taken_for_a_link(
    small: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = small
    # Inline code keeps the quotes: the page's text holds xsrc="…" and href="…".
    add_post(app, "属性", '示例：`xsrc="/posts/first/" href="/posts/first/"`。', slug="glued")
    out = build_at_sub_path(instance, tmp_path / "site")
    page = (out / "posts" / "glued" / "index.html").read_text(encoding="utf-8")
    assert 'xsrc="/posts/first/"' in page
    assert 'xsrc="/blog/' not in page
    assert ' href="/blog/posts/first/"' in page


def test_a_new_post_renders_every_page_and_keeps_the_files_that_did_not_change(
    small: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = small
    out = tmp_path / "site"
    assert run_build(instance, out).exit_code == 0
    kept = [out / "404.html", out / "404.html.gz", out / "404.html.br", out / "robots.txt"]
    inodes = [path.stat().st_ino for path in kept]
    add_post(app, "第三篇", "第三篇的正文。", slug="third", category="笔记")
    result = run_build(instance, out)
    assert result.exit_code == 0, result.output + result.stderr
    assert "written  posts/third/index.html" in result.output
    assert [path.stat().st_ino for path in kept] == inodes
    assert broken_links(out, site_url="http://example.test") == {}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_out_inside_the_instance_is_refused(small: tuple[Path, Flask]) -> None:
    instance, _app = small
    result = run_build(instance, instance / "public")
    assert result.exit_code == 1
    assert "inside the instance folder" in result.stderr


def test_a_folder_not_made_by_build_is_never_replaced(
    small: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, _app = small
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.tex").write_text("precious", encoding="utf-8")
    result = run_build(instance, out)
    assert result.exit_code == 1
    assert "not written by `blog build`" in result.stderr
    assert (out / "thesis.tex").read_text(encoding="utf-8") == "precious"


def test_an_unwritable_out_is_a_clear_error(small: tuple[Path, Flask], tmp_path: Path) -> None:
    instance, _app = small
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    result = run_build(instance, blocker / "site")
    assert result.exit_code == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.output


def test_case_colliding_slugs_fail_the_build_and_keep_the_previous_site(
    small: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = small
    out = tmp_path / "site"
    assert run_build(instance, out).exit_code == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    add_post(app, "大写", slug="Foo")
    add_post(app, "小写", slug="foo")
    result = run_build(instance, out)
    assert result.exit_code == 1
    assert "/posts/Foo/" in result.stderr and "/posts/foo/" in result.stderr
    assert "case-insensitive" in result.stderr
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_a_slug_too_long_for_a_file_name_is_named_in_the_error(
    small: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = small
    long_slug = "注意力机制" * 18  # 90 characters, 270 bytes in UTF-8
    add_post(app, "很长的网址", slug=long_slug)
    result = run_build(instance, tmp_path / "site")
    assert result.exit_code == 1
    assert "270 bytes" in result.stderr and "shorten the slug" in result.stderr
    assert not (tmp_path / "site").exists()
    # Pages already written into the temporary folder while others rendered are gone too.
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_paths_that_would_leave_out_are_refused() -> None:
    for url in [
        "/posts/../",
        "/posts/%2E%2E/",
        "/uploads/..%2F..%2Fetc",
        "/tags/a%5Cb/",
        "/x/%00/",
    ]:
        with pytest.raises(BuildError):
            output_path(url)
    assert str(output_path("/posts/%E4%B8%AD/")) == "posts/中/index.html"
    assert str(output_path("/search")) == "search/index.html"
    assert case_collisions([output_path("/tags/ABC/"), output_path("/tags/abc/")])


def test_only_upload_names_the_app_serves_are_copied(
    small: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, _app = small
    uploads = instance / "uploads"
    uploads.mkdir()
    good = "0123456789abcdef0123456789abcdef.png"
    (uploads / good).write_bytes(b"\x89PNG\r\n\x1a\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret", encoding="utf-8")
    (uploads / "link.png").symlink_to(secret)
    (uploads / ".hidden").write_text("x", encoding="utf-8")
    out = tmp_path / "site"
    assert run_build(instance, out).exit_code == 0
    assert sorted(p.name for p in (out / "uploads").iterdir()) == [good]


# --- validity and the browser -------------------------------------------------------------


def test_a_sample_of_built_pages_is_valid_html5(
    demo: tuple[Path, Path, Flask], tmp_path: Path
) -> None:
    from tests.test_html_validation import validator

    command = validator()
    out = demo[1]
    slug = public_slugs(demo[2])[0]
    sample = [
        "index.html",
        "page/2/index.html",
        f"posts/{slug}/index.html",
        f"zh-tw/posts/{slug}/index.html",
        "zh-hk/archive/index.html",
        "search/index.html",
        "zh-tw/search/index.html",
        "404.html",
        next(
            p.relative_to(out).as_posix()
            for p in (out / "zh-hant" / "categories").glob("*/index.html")
        ),
    ]
    folder = tmp_path / "pages"
    folder.mkdir()
    for number, name in enumerate(sample):
        shutil.copy(out / name, folder / f"{number}.html")
    result = subprocess.run(
        [command, "--root", str(folder)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.browser
def test_reader_browses_switches_and_searches_the_static_site(
    demo: tuple[Path, Path, Flask],
) -> None:
    from tests.browser_support import chromium

    out = demo[1]
    assert target_file(out, "/") is not None
    with static_server(out) as base, chromium() as browser:
        page = browser.new_page()
        failed: list[str] = []
        page.on(
            "response",
            lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
        )
        page.goto(base + "/")
        page.click("article h2 a >> nth=0")
        assert "/posts/" in page.url
        page.click("a.category >> nth=0")
        assert "/categories/" in page.url
        page.goto(base + "/")
        page.click("nav.pagination a[rel=next], a[rel=next] >> nth=0")
        assert page.url.endswith("/page/2/")
        page.click(".variant-switcher a[hreflang=zh-Hant-TW]")
        assert "/zh-tw/page/2/" in page.url
        assert page.get_attribute("html", "lang") == "zh-Hant-TW"

        page.goto(base + "/search/")
        page.fill("#q", "注意力")
        page.click(".search-form button")
        page.wait_for_selector(".search-results li")
        titles = page.locator(".search-results h2").all_inner_texts()
        assert any("注意力" in t for t in titles)
        assert "q=" in page.url

        # A Traditional query finds the Simplified posts, from the zh-tw search page.
        page.goto(base + "/zh-tw/search/?q=" + quote("訓練"))
        page.wait_for_selector(".search-results li")
        first = page.locator(".search-results a").first
        assert first.get_attribute("href").startswith("/zh-tw/posts/")
        first.click()
        assert page.get_attribute("html", "lang") == "zh-Hant-TW"
        assert failed == []


@pytest.mark.browser
def test_static_site_remembers_the_readers_variant_with_javascript_only(
    demo: tuple[Path, Path, Flask],
) -> None:
    from tests.browser_support import chromium

    out = demo[1]
    with static_server(out) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(base + "/archive/")
        source_lang = page.get_attribute("html", "lang")
        assert source_lang != "zh-Hant-TW"  # nothing remembered yet: the source script
        page.click(".variant-switcher a[hreflang=zh-Hant-TW]")
        assert "/zh-tw/archive/" in page.url

        page.goto(base + "/")  # unprefixed: replaced by the remembered variant's page
        page.wait_for_url(base + "/zh-tw/")
        assert page.get_attribute("html", "lang") == "zh-Hant-TW"
        page.goto(base + "/search/?q=" + quote("训练"))
        page.wait_for_url("**/zh-tw/search/?q=*")
        page.wait_for_selector(".search-results li")

        page.goto(base + "/zh-hk/")  # a prefixed URL is what the reader asked for
        assert page.url == base + "/zh-hk/"
        page.click(".variant-switcher a[hreflang=zh-Hans]")
        page.goto(base + "/archive/")
        page.wait_for_url(base + "/zh-hans/archive/")
        page.close()

        # Without JavaScript nothing is remembered and every link still works.
        plain = browser.new_context(java_script_enabled=False).new_page()
        plain.goto(base + "/")
        plain.click(".variant-switcher a[hreflang=zh-Hant-TW]")
        assert "/zh-tw/" in plain.url
        plain.goto(base + "/archive/")
        assert plain.url == base + "/archive/"
        assert plain.get_attribute("html", "lang") == source_lang
        plain.context.close()


RECALL_QUERIES = ["注意力", "训练", "訓練", "梯度", "Adam", "loss", "优化", "數據", "transformer"]


@pytest.mark.browser
def test_static_search_finds_what_the_server_search_finds(demo: tuple[Path, Path, Flask]) -> None:
    from tests.browser_support import chromium

    _instance, out, app = demo
    with app.app_context():
        expected = {
            query: {result.slug for result in search.search(query, per_page=100).results}
            for query in RECALL_QUERIES
        }
    assert sum(map(len, expected.values())) > 10
    with static_server(out) as base, chromium() as browser:
        page = browser.new_page()
        for query in RECALL_QUERIES:
            page.goto(f"{base}/search/?q={quote(query)}")
            page.wait_for_selector(".search-static p")
            hrefs = page.locator(".search-results h2 a").evaluate_all(
                "links => links.map(a => a.getAttribute('href'))"
            )
            found = {unquote(href.split("/")[2]) for href in hrefs}
            assert found == expected[query], query


@pytest.mark.browser
def test_static_search_speaks_the_ui_language_of_the_page(demo: tuple[Path, Path, Flask]) -> None:
    from tests.browser_support import chromium

    _instance, out, app = demo
    with app.app_context():
        count = len(search.search("注意力", per_page=100).results)
        nothing = ui_text("Nothing matched “%(query)s”.", query="xyzzyq")
        listed = ui_plural("%(num)d post", "%(num)d posts", count)
    assert "xyzzyq" in nothing and nothing != "Nothing matched “xyzzyq”."  # the zh_Hans catalog
    with static_server(out) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}/search/?q=xyzzyq")
        assert page.text_content(".search-static p") == nothing
        page.goto(f"{base}/search/?q={quote('注意力')}")
        page.wait_for_selector(".search-results li")
        assert page.text_content(".search-static .listing-count") == listed
        page.goto(f"{base}/zh-tw/search/?q=xyzzyq")
        assert "沒有找到" in (page.text_content(".search-static p") or "")  # converted


@pytest.mark.browser
def test_math_is_typeset_on_the_static_site(demo: tuple[Path, Path, Flask]) -> None:
    from tests.browser_support import chromium

    out = demo[1]
    with_math = next(
        p for p in sorted((out / "posts").glob("*/index.html")) if "<math" in p.read_text("utf-8")
    )
    with static_server(out) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}/posts/{quote(with_math.parent.name)}/")
        width = page.evaluate("document.querySelector('math').getBoundingClientRect().width")
        assert width > 0


def test_build_cli_reports_counts(demo: tuple[Path, Path, Flask]) -> None:
    manifest = json.loads((demo[1] / MANIFEST).read_text(encoding="utf-8"))
    assert "index.html" in manifest["files"]
    assert all(len(digest) == 64 for digest in manifest["files"].values())


def test_base_url_must_be_an_absolute_http_url() -> None:
    from blog.build.site import normalize_base_url

    assert normalize_base_url("https://name.github.io/blog/", "") == (
        "https://name.github.io/blog",
        "/blog",
    )
    assert normalize_base_url(None, "http://example.test") == ("http://example.test", "")
    for bad in ["name.github.io/blog", "ftp://host/", "https://host/?x=1", "/blog/"]:
        with pytest.raises(BuildError):
            normalize_base_url(bad, "")


@pytest.mark.browser
def test_static_search_links_every_category_as_the_server_search_does(tmp_path: Path) -> None:
    from tests.browser_support import chromium

    categories = ["机器学习", "深度学习", "自然语言处理"]
    instance = tmp_path / "instance"
    write_config(instance, SITE_URL="http://example.test")
    app = open_app(instance)
    add_post(app, "注意力机制", "卷积网络的注意力机制。", slug="attention", categories=categories)
    served = app.test_client().get("/search?q=" + quote("注意力")).get_data(as_text=True)
    server_shows = re.findall(r'<a class="category[^"]*" href="[^"]*">([^<]*)</a>', served)
    assert server_shows == categories
    out = tmp_path / "site"
    assert run_build(instance, out).exit_code == 0
    with static_server(out) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}/search/?q={quote('注意力')}")
        page.wait_for_selector(".search-results li")
        links = page.locator(".search-results .post-meta a.category")
        assert links.all_inner_texts() == server_shows
        extra = page.locator(".search-results .post-meta a.category-extra")
        assert extra.count() == 2
        extra.first.click()
        page.wait_for_url("**/categories/**")
        assert unquote(page.url).endswith("/categories/深度学习/")
        assert "注意力机制" in (page.text_content("main") or "")
        # On a variant's search page the names are in that variant, as its pages show them.
        page.goto(f"{base}/zh-tw/search/?q={quote('注意力')}")
        page.wait_for_selector(".search-results li")
        assert links.all_inner_texts() == ["機器學習", "深度學習", "自然語言處理"]
        assert all(
            href.startswith("/zh-tw/categories/")
            for href in links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
        )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
