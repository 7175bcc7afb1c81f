"""`blog build` renders again only the pages that show a changed post.

Each test builds a small site, changes it, rebuilds incrementally, and checks the result
file for file against a `--full` build of the same state into another folder: the
dependency map may only save work, never leave a stale page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select, update
from test_build import run_build

from blog import cli as cli_module
from blog.app import create_app
from blog.build.output import MANIFEST
from blog.build.search_index import INDEX_NAME
from blog.db import upgrade
from blog.models import Post, body_digest, db
from blog.posts import PostFields, fields_of, save_post
from tests.conftest import write_config
from tests.static_site_support import broken_links

SITE_URL = "http://example.test"
COUNTS = re.compile(r"Built (\d+) pages \((\d+) rendered\)")


def counts(result: Result) -> tuple[int, int]:
    """``(pages, rendered)`` from the build's summary line."""
    assert result.exit_code == 0, result.output + result.stderr
    found = COUNTS.search(result.output)
    assert found, result.output
    return int(found.group(1)), int(found.group(2))


def edit(app: Flask, slug: str, **changes: str) -> None:
    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == slug)).one()
        fields = fields_of(post)
        for name, value in changes.items():
            setattr(fields, name, value)
        save_post(fields, author="test", post=post)
        db.session.remove()


def site_files(out: Path) -> dict[str, str]:
    """Digest of every file but the search indexes (compared separately)."""
    files = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    return {name: digest for name, digest in files.items() if not name.endswith(INDEX_NAME)}


def assert_same_as_a_full_build(instance: Path, out: Path, full: Path) -> None:
    """``out``, built incrementally, is what a full build of ``instance`` into ``full`` writes."""
    run_build(instance, full, "--full")
    assert_same_site(out, full)


def assert_same_site(incremental: Path, full: Path) -> None:
    """Every page and file equal; search indexes equal but for extra normalisation entries."""
    assert site_files(incremental) == site_files(full)
    for index in full.rglob(INDEX_NAME):
        expected = json.loads(index.read_bytes())
        got = json.loads((incremental / index.relative_to(full)).read_bytes())
        assert got["docs"] == expected["docs"]
        assert got["tokens"] == expected["tokens"]
        # Characters of an edit's old text may stay mapped until the next full build.
        assert got["map"].items() >= expected["map"].items()
    for path in full.rglob("*"):
        if path.is_file() and path.name != MANIFEST and not path.name.endswith(INDEX_NAME):
            assert (incremental / path.relative_to(full)).read_bytes() == path.read_bytes(), path


def make_site(tmp_path: Path, **settings: object) -> Iterator[tuple[Path, Flask]]:
    """Six posts, two a page, in two categories: listings that do and do not show a post."""
    instance = tmp_path / "instance"
    write_config(instance, SITE_URL=SITE_URL, POSTS_PER_PAGE=2, **settings)
    app = create_app(instance_path=instance)
    upgrade(app)
    with app.app_context():
        for number in range(1, 7):
            save_post(
                PostFields(
                    title=f"第{number}篇文章",
                    source=f"第{number}篇的正文，讲软件与内存。",
                    slug=f"post-{number}",
                    category="笔记" if number % 2 else "随想",
                    tags=["甲"] if number < 3 else ["乙"],
                ),
                author="test",
            )
        db.session.remove()
    yield instance, app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def variants_site(tmp_path: Path) -> Iterator[tuple[Path, Flask]]:
    """Every built-in plugin: five variants of every page."""
    yield from make_site(tmp_path)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, Flask]]:
    """No variants: a fifth of the pages, for the tests about when to render everything."""
    yield from make_site(tmp_path, PLUGINS=["excerpt", "typography"])


def test_an_edit_renders_only_the_pages_that_show_the_post(
    variants_site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = variants_site
    out = tmp_path / "out"
    pages, rendered = counts(run_build(instance, out))
    assert rendered == pages

    unchanged = counts(run_build(instance, out))
    assert unchanged == (pages, 0)

    # The oldest post: on the last listing pages, the archive and feeds, not on page 1.
    edit(app, "post-1", title="改过标题的文章", source="新的正文讲硬盘與記憶體。")
    result = run_build(instance, out)
    again_pages, again_rendered = counts(result)
    assert again_pages == pages
    assert 0 < again_rendered < pages // 2
    assert "written  posts/post-1/index.html" in result.output
    assert "written  index.html" not in result.output  # home shows posts 6 and 5 only
    assert "改过标题" in (out / "archive/index.html").read_text("utf-8")
    assert "改過標題" in (out / "zh-tw/archive/index.html").read_text("utf-8")
    assert "記憶體" in (out / "zh-tw/posts/post-1/index.html").read_text("utf-8")

    full = tmp_path / "full"
    assert counts(run_build(instance, full, "--full")) == (pages, pages)
    assert_same_site(out, full)
    assert broken_links(out, site_url=SITE_URL) == {}


def test_a_body_edit_renders_other_pages_in_one_variant_first(
    variants_site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = variants_site
    out = tmp_path / "out"
    run_build(instance, out)
    state = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["state"]
    with app.app_context():
        post_id = db.session.scalars(select(Post.id).where(Post.slug == "post-1")).one()
    showing = [
        path
        for table in (state["pages"], state["listed"])
        for path, ids in table.items()
        if post_id in ids
    ]

    before = site_files(out)
    # A new last paragraph: the title that listings and the archive show stays as it was
    # (the excerpt, which listings show, takes in the new paragraph).
    edit(app, "post-1", source="第1篇的正文，讲软件与内存。\n\n后来补充的一段。")
    _pages, rendered = counts(run_build(instance, out))
    after = site_files(out)
    # The post in five variants, the unprefixed form of each page linking to it, and the
    # other variants only of the pages whose unprefixed form changed.
    unprefixed = [path for path in showing if not re.match(r"/zh-[a-z]+/", path)]
    assert rendered < len(showing)
    assert rendered >= len(unprefixed) + 4
    for prefix in ("", "zh-hans/", "zh-hant/", "zh-tw/", "zh-hk/"):
        assert (
            after[f"{prefix}posts/post-1/index.html"] != before[f"{prefix}posts/post-1/index.html"]
        )
        assert after[f"{prefix}feed.xml"] != before[f"{prefix}feed.xml"]
        assert after[f"{prefix}archive/index.html"] == before[f"{prefix}archive/index.html"]

    assert_same_as_a_full_build(instance, out, tmp_path / "full")


def test_an_edit_that_leaves_the_card_alone_renders_no_listing(
    variants_site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = variants_site
    opening = "这一段足够长，摘要只取它的开头，" * 20
    edit(app, "post-1", source=f"{opening}\n\n第二段。")
    out = tmp_path / "out"
    run_build(instance, out)
    state = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["state"]
    with app.app_context():
        post_id = db.session.scalars(select(Post.id).where(Post.slug == "post-1")).one()
    in_full = [path for path, ids in state["pages"].items() if post_id in ids]
    listing = [path for path, ids in state["listed"].items() if post_id in ids]
    assert {"/posts/post-2/", "/archive/", "/zh-tw/archive/"} <= set(listing)
    assert {"/feed.xml", "/sitemap.xml", "/posts/post-1/", "/zh-tw/posts/post-1/"} <= set(in_full)

    before = site_files(out)
    # A paragraph after the excerpt's end: title, excerpt, date and tags stay as they were.
    edit(app, "post-1", source=f"{opening}\n\n第二段。\n\n后来补充的一段。")
    result = run_build(instance, out)
    _pages, rendered = counts(result)
    after = site_files(out)
    # Only the pages carrying the body or the update time, each in every variant (all of
    # them changed): the post's own pages, the feeds and the sitemap. None of the
    # listings, neighbours or archives, which show the post's card.
    assert rendered == len(in_full)
    written = {name for name in after if after[name] != before.get(name)}
    assert "posts/post-1/index.html" in written and "zh-tw/feed.xml" in written
    prefixes = ("", "zh-hans/", "zh-hant/", "zh-tw/", "zh-hk/")
    assert {name for name in written if name.endswith("index.html")} == {
        f"{prefix}posts/post-1/index.html" for prefix in prefixes
    }

    assert_same_as_a_full_build(instance, out, tmp_path / "full")


def test_a_theme_listing_whole_posts_is_rendered_again_after_a_body_edit(
    site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = site
    # A full-text listing, as some themes have: the build sees the bodies being loaded.
    (instance / "templates").mkdir()
    (instance / "templates" / "_post_list.html").write_text(
        '<ol>{% for post in posts %}<li><a href="{{ url_for("public.post", slug=post.slug) }}">'
        "{{ post.title }}</a>{{ post.body_html|safe }}</li>{% endfor %}</ol>",
        encoding="utf-8",
    )
    opening = "这一段足够长，摘要只取它的开头，" * 20
    edit(app, "post-1", source=f"{opening}\n\n第二段。")
    out = tmp_path / "out"
    run_build(instance, out)

    edit(app, "post-1", source=f"{opening}\n\n第二段。\n\n后来补充的一段。")
    run_build(instance, out)
    listings = [
        path
        for path in out.rglob("index.html")
        if "/posts/" not in str(path) and "后来补充" in path.read_text("utf-8")
    ]
    assert listings  # the last home page and the category and tag listings show the body
    assert_same_as_a_full_build(instance, out, tmp_path / "full")


def test_pinning_an_old_post_renders_the_home_page_that_now_shows_it(
    site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = site
    out = tmp_path / "out"
    run_build(instance, out)
    assert "/posts/post-1/" not in (out / "index.html").read_text("utf-8")

    edit(app, "post-1", meta={"pinned": True})  # type: ignore[arg-type]
    run_build(instance, out)
    assert "/posts/post-1/" in (out / "index.html").read_text("utf-8")
    assert_same_as_a_full_build(instance, out, tmp_path / "full")


def test_a_rebuild_that_fails_while_renaming_puts_every_old_file_back(
    site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = site
    out = tmp_path / "out"
    run_build(instance, out)
    # A folder where the rebuild will rename the feed's gzip sibling: that rename fails
    # after the feed itself and the category and tag feeds before it were replaced.
    blocker = out / "feed.xml.gz"
    blocker.unlink()
    blocker.mkdir()
    (blocker / "keep").write_text("x", encoding="utf-8")
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}

    edit(app, "post-1", source="第1篇的正文，讲软件与内存。\n\n后来补充的一段。")
    result = run_build(instance, out)
    assert result.exit_code != 0
    assert "the previous site, if any, is unchanged" in result.output + result.stderr
    after = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    assert after == before
    assert not list(tmp_path.glob(".out.building-*"))

    # Once the obstacle is gone the same rebuild goes through.
    (blocker / "keep").unlink()
    blocker.rmdir()
    assert run_build(instance, out).exit_code == 0
    assert_same_as_a_full_build(instance, out, tmp_path / "full")


def test_the_search_index_follows_the_edit(site: tuple[Path, Flask], tmp_path: Path) -> None:
    instance, app = site
    out = tmp_path / "out"
    counts(run_build(instance, out))
    edit(app, "post-2", source="独一无二的量子纠缠。")
    counts(run_build(instance, out))
    index = json.loads((out / INDEX_NAME).read_bytes())
    number = next(i for i, doc in enumerate(index["docs"]) if doc["u"] == "posts/post-2/")
    found = {doc >> 4 for doc in index["tokens"].get("纠缠", [])}
    assert found == {number}
    gone = {doc >> 4 for doc in index["tokens"].get("正文", [])}
    assert number not in gone and gone


def test_a_new_post_or_a_new_setting_renders_the_whole_site(
    site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = site
    out = tmp_path / "out"
    pages, _ = counts(run_build(instance, out))
    with app.app_context():
        save_post(PostFields(title="第七篇", source="新来的。", slug="post-7"), author="test")
        db.session.remove()
    grown, rendered = counts(run_build(instance, out))
    assert grown > pages and rendered == grown

    config = instance / "config.toml"
    config.write_text(
        config.read_text("utf-8").replace("POSTS_PER_PAGE = 2", "POSTS_PER_PAGE = 3"), "utf-8"
    )
    fewer, rendered = counts(run_build(instance, out))
    assert rendered == fewer < grown  # fewer listing pages, all rendered
    assert not (out / "page" / "4").exists()


def test_an_edit_that_links_to_a_missing_page_falls_back_to_a_full_crawl(
    site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = site
    out = tmp_path / "out"
    pages, _ = counts(run_build(instance, out))
    edit(app, "post-3", source="见[另一篇](/posts/no-such-post/)。")
    result = run_build(instance, out)
    assert counts(result) == (pages, pages)
    assert "/posts/no-such-post/ is linked from" in result.stderr


def test_a_damaged_manifest_means_a_full_build(site: tuple[Path, Flask], tmp_path: Path) -> None:
    instance, app = site
    out = tmp_path / "out"
    pages, _ = counts(run_build(instance, out))
    manifest = out / MANIFEST
    data = json.loads(manifest.read_text("utf-8"))
    data["state"]["pages"] = "not a map"
    manifest.write_text(json.dumps(data), "utf-8")
    edit(app, "post-4", source="再改一次。")
    assert counts(run_build(instance, out)) == (pages, pages)
    (out / INDEX_NAME).unlink()
    edit(app, "post-4", source="又改一次。")
    assert counts(run_build(instance, out)) == (pages, pages)


def test_pages_rendered_by_a_pool_of_workers_are_the_same_files(
    site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, _app = site
    alone, pooled = tmp_path / "alone", tmp_path / "pooled"
    pages, rendered = counts(run_build(instance, alone, "--workers", "1"))
    assert counts(run_build(instance, pooled, "--workers", "2")) == (pages, rendered)
    assert_same_site(pooled, alone)
    assert broken_links(pooled, site_url=SITE_URL) == {}


def test_a_related_list_chosen_again_by_another_posts_edit_is_rebuilt(
    site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = site
    opening = "这一段足够长，摘要只取它的开头，" * 20
    edit(app, "post-4", source="第4篇的正文，讲量子纠缠与超导。")
    edit(app, "post-1", source=f"{opening}\n\n第二段。")
    out = tmp_path / "out"
    run_build(instance, out)
    before = related_lists(app)

    # After the excerpt's end, so post-1's card (title, excerpt) stays as it was; its new
    # words make it the closest post to post-4, whose save-time list is chosen again.
    edit(app, "post-1", source=f"{opening}\n\n第二段，也讲量子纠缠与超导。")
    after = related_lists(app)
    assert before["post-4"] != after["post-4"]
    result = run_build(instance, out)
    # Each post whose list changed has its page rendered again, and no other post.
    chosen_again = {slug for slug in after if after[slug] != before[slug]} | {"post-1"}
    written = set(re.findall(r"written  posts/([^/]+)/index\.html", result.output))
    assert written == chosen_again

    assert_same_as_a_full_build(instance, out, tmp_path / "full")


def related_lists(app: Flask) -> dict[str, list[int] | None]:
    with app.app_context():
        found = {post.slug: post.related for post in db.session.scalars(select(Post))}
        db.session.remove()
    return found


def test_a_body_assigned_without_a_render_is_rebuilt(
    site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = site
    out = tmp_path / "out"
    run_build(instance, out)

    # Not through save_post: a script or a future writer that sets the body directly.
    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == "post-3")).one()
        post.body_html = "<p>直接写进去的正文。</p>"
        db.session.commit()
        db.session.remove()
    run_build(instance, out)
    assert "直接写进去的正文" in (out / "posts/post-3/index.html").read_text("utf-8")

    assert_same_as_a_full_build(instance, out, tmp_path / "full")


def test_a_rerender_that_changes_only_the_body_is_rebuilt(
    site: tuple[Path, Flask], tmp_path: Path
) -> None:
    instance, app = site
    # As a render by an earlier pipeline left it: another body, stored with its digest,
    # under the fingerprint of the current pipeline (`blog rerender --all` redoes it).
    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == "post-3")).one()
        earlier = "<p>早先的渲染结果。</p>"
        db.session.execute(
            update(Post)
            .where(Post.id == post.id)
            .values(body_html=earlier, body_digest=body_digest(post.source, earlier, post.toc))
        )
        db.session.commit()
        db.session.remove()
    out = tmp_path / "out"
    run_build(instance, out)
    assert "早先的渲染结果" in (out / "posts/post-3/index.html").read_text("utf-8")

    cli_module._apps.clear()
    rerendered = CliRunner().invoke(
        cli_module.cli, ["--instance", str(instance), "rerender", "--all", "--jobs", "1"]
    )
    cli_module._apps.clear()
    assert rerendered.exit_code == 0, rerendered.output
    result = run_build(instance, out)
    assert "written  posts/post-3/index.html" in result.output
    page = (out / "posts/post-3/index.html").read_text("utf-8")
    assert "早先的渲染结果" not in page and "讲软件与内存" in page

    assert_same_as_a_full_build(instance, out, tmp_path / "full")
