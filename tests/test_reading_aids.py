"""Reading aids on the post page: table of contents markup, "updated on", the outdated
notice (OUTDATED_AFTER_DAYS) and the licence notice (front matter ``license`` or
POST_LICENSE), through HTTP in both themes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select

from blog.importer import import_paths
from blog.models import Post, db, utcnow
from blog.posts import PostFields, save_post
from blog.reading import licence_named
from tests.test_themes import THEMES, parse

SECTIONS = "## 第一节\n\n正文一。\n\n### 小节\n\n正文二。\n\n## 第二节\n\n正文三。\n"


def save(app: Flask, **fields: object) -> str:
    fields.setdefault("title", "阅读辅助")
    fields.setdefault("source", SECTIONS)
    with app.app_context():
        post = save_post(PostFields(**fields), author="test")  # type: ignore[arg-type]
        return post.slug


def page_of(app: Flask, slug: str) -> str:
    response = app.test_client().get(f"/posts/{quote(slug)}/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("theme", THEMES)
def test_toc_is_an_open_details_list_with_its_script(
    make_app: Callable[..., Flask], theme: str
) -> None:
    app = make_app(THEME=theme)
    html = page_of(app, save(app))
    page = parse(html)
    nav = page.with_class("toc")[0]
    assert nav.tag == "nav"
    details = [e for e in page.elements if e.tag == "details"]
    assert len(details) == 1 and "open" in details[0].attrs
    summary = page.find("summary")[0]
    assert "目录" in summary.text and "目录" in nav.text
    targets = [e.attrs["href"] for e in page.elements if e.tag == "a" and "#" in e.attrs["href"]]
    ids = {e.attrs["id"] for e in page.elements if "id" in e.attrs}
    assert len(targets) >= 3 and all(t[1:] in ids for t in targets if t.startswith("#"))
    scripts = [e.attrs.get("src", "") for e in page.elements if e.tag == "script"]
    toc_script = [src for src in scripts if "toc" in src]
    assert toc_script, scripts
    served = app.test_client().get(toc_script[0])
    assert served.status_code == 200 and b"aria-current" in served.data


def test_post_without_headings_has_no_toc_or_script(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    html = page_of(app, save(app, source="只有一段正文。"))
    assert 'class="toc"' not in html and "toc" not in "".join(
        e.attrs.get("src", "") for e in parse(html).elements if e.tag == "script"
    )


def test_updated_on_is_shown_only_for_a_later_day(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    published = datetime(2026, 3, 1, 2, 0)
    later = save(app, published_at=published, updated_at=datetime(2026, 6, 2, 3, 0))
    page = parse(page_of(app, later))
    updated = page.with_class("post-updated")[0]
    assert "更新于" in updated.text and "2026年6月2日" in updated.text
    same_day = save(
        app, title="同日", published_at=published, updated_at=published + timedelta(hours=3)
    )
    assert not parse(page_of(app, same_day)).with_class("post-updated")


def test_updated_on_uses_the_site_time_zone(make_app: Callable[..., Flask]) -> None:
    # 2026-06-01 20:00 UTC is already 6月2日 in Asia/Shanghai.
    app = make_app(TIMEZONE="Asia/Shanghai")
    slug = save(
        app, published_at=datetime(2026, 6, 1, 1, 0), updated_at=datetime(2026, 6, 1, 20, 0)
    )
    assert "2026年6月2日" in parse(page_of(app, slug)).with_class("post-updated")[0].text


def test_outdated_notice_after_the_configured_days(make_app: Callable[..., Flask]) -> None:
    app = make_app(OUTDATED_AFTER_DAYS=30)
    old = utcnow() - timedelta(days=45)
    old_slug = save(app, published_at=old, updated_at=old)
    notice = parse(page_of(app, old_slug)).with_class("outdated-notice")
    # "More than": the notice is a threshold, not the post's age (a static build cannot know
    # the reading day).
    assert len(notice) == 1 and "已超过 30 天" in notice[0].text and "过时" in notice[0].text
    fresh = save(app, title="新文章", published_at=utcnow() - timedelta(days=3))
    assert not parse(page_of(app, fresh)).with_class("outdated-notice")
    # A recent edit makes an old post current again.
    edited = save(app, title="改过的旧文章", published_at=old, updated_at=utcnow())
    assert not parse(page_of(app, edited)).with_class("outdated-notice")


def test_outdated_notice_can_be_switched_off(make_app: Callable[..., Flask]) -> None:
    app = make_app(OUTDATED_AFTER_DAYS=0)
    ancient = datetime(2001, 1, 1)
    slug = save(app, published_at=ancient, updated_at=ancient)
    assert not parse(page_of(app, slug)).with_class("outdated-notice")


@pytest.mark.parametrize("theme", THEMES)
def test_site_licence_links_to_its_deed(make_app: Callable[..., Flask], theme: str) -> None:
    app = make_app(THEME=theme, POST_LICENSE="CC BY-NC-SA 4.0")
    page = parse(page_of(app, save(app)))
    notice = page.with_class("licence-notice")[0]
    assert "本文采用" in notice.text and "CC BY-NC-SA 4.0" in notice.text
    links = [e for e in page.elements if e.tag == "a" and e.attrs.get("rel") == "license"]
    assert [a.attrs["href"] for a in links] == [
        "https://creativecommons.org/licenses/by-nc-sa/4.0/"
    ]


def test_front_matter_licence_overrides_or_disables_the_default(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(POST_LICENSE="CC BY-NC-SA 4.0")
    own = save(app, title="自定", meta={"license": "cc-by 4.0"})
    page = parse(page_of(app, own))
    link = next(e for e in page.elements if e.tag == "a" and e.attrs.get("rel") == "license")
    assert link.attrs["href"] == "https://creativecommons.org/licenses/by/4.0/"
    assert "CC BY 4.0" in link.text
    text_only = save(app, title="保留", meta={"license": "保留所有权利 <b>"})
    html = page_of(app, text_only)
    assert "保留所有权利 &lt;b&gt;" in html and 'rel="license"' not in html
    none = save(app, title="无", meta={"license": "none"})
    assert not parse(page_of(app, none)).with_class("licence-notice")


def test_no_licence_notice_by_default(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    assert not parse(page_of(app, save(app))).with_class("licence-notice")


def test_licence_names_are_matched_loosely() -> None:
    assert licence_named("cc  by-nc-sa 4.0") == licence_named("CC BY-NC-SA 4.0")
    assert licence_named(False) is None and licence_named(" None ") is None
    named = licence_named("MIT")
    assert named is not None and named.name == "MIT" and named.url is None


def test_imported_front_matter_licence_reaches_the_page(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    source = tmp_path / "licensed.md"
    source.write_text(
        "---\ntitle: 导入的文章\ndate: 2026-01-02\nlicense: CC BY-SA 4.0\n---\n\n" + SECTIONS,
        encoding="utf-8",
    )
    app = make_app()
    with app.app_context():
        assert not import_paths([source]).failures
        slug = db.session.scalars(select(Post.slug)).one()
    links = [e for e in parse(page_of(app, slug)).elements if e.attrs.get("rel") == "license"]
    assert [a.attrs["href"] for a in links] == ["https://creativecommons.org/licenses/by-sa/4.0/"]


def test_an_imported_old_post_is_not_updated_on_the_import_day(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    source = tmp_path / "old.md"
    source.write_text("---\ntitle: 旧文章\ndate: 2019-05-02\n---\n\n" + SECTIONS, encoding="utf-8")
    app = make_app(OUTDATED_AFTER_DAYS=365)
    with app.app_context():
        assert not import_paths([source]).failures
        slug = db.session.scalars(select(Post.slug)).one()
    page = parse(page_of(app, slug))
    assert not page.with_class("post-updated")
    assert page.with_class("outdated-notice")


@pytest.mark.parametrize("key", ["updated", "lastmod"])
def test_an_imported_post_shows_its_front_matter_update_day(
    make_app: Callable[..., Flask], tmp_path: Path, key: str
) -> None:
    source = tmp_path / "revised.md"
    source.write_text(
        f"---\ntitle: 修订过的文章\ndate: 2019-05-02\n{key}: 2020-03-04 10:00:00\n---\n\n"
        + SECTIONS,
        encoding="utf-8",
    )
    app = make_app()
    with app.app_context():
        assert not import_paths([source]).failures
        slug = db.session.scalars(select(Post.slug)).one()
    updated = parse(page_of(app, slug)).with_class("post-updated")
    assert updated and "更新于" in updated[0].text and "2020年3月4日" in updated[0].text
