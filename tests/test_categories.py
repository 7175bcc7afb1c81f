"""Several categories per post: each is a real category with a listing, a feed and a URL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from alembic import command
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from blog import cli as cli_module
from blog.admin.tokens import create_token
from blog.app import close_app, create_app
from blog.db import alembic_config
from blog.models import Post, User, db
from blog.posts import FieldError, PostFields
from tests.admin_support import create_user, editor_form, login, post_form
from tests.conftest import write_config

START = datetime(2024, 1, 1, 8, 0)


class Links(HTMLParser):
    """Each link's href, class and text, and whether it sits in a heading (a post title)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []
        self._heading = 0
        self._link: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h2", "h3"):
            self._heading += 1
        elif tag == "a":
            found = {k: v or "" for k, v in attrs}
            self._link = {
                "href": found.get("href", ""),
                "class": found.get("class", ""),
                "text": "",
                "title": "1" if self._heading else "",
            }
            self.links.append(self._link)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "h3"):
            self._heading -= 1
        elif tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link["text"] += data


def links_of(html: str) -> list[dict[str, str]]:
    parser = Links()
    parser.feed(html)
    return parser.links


def listed_slugs(client: FlaskClient, path: str) -> list[str]:
    """The slugs of the posts a listing page shows, in order."""
    response = client.get(path)
    assert response.status_code == 200, path
    return [
        link["href"].split("/")[-2]
        for link in links_of(response.get_data(as_text=True))
        if link["title"] and "/posts/" in link["href"]
    ]


def categories_of(app: Flask, slug: str) -> list[str]:
    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == slug)).one()
        return [c.name for c in post.categories]


def test_a_post_is_listed_and_paged_under_each_of_its_categories(
    make_app: Callable[..., Flask], database: str
) -> None:
    app = make_app(POSTS_PER_PAGE=2, **({"DATABASE_URL": database} if database else {}))
    from blog.posts import save_post

    with app.app_context():
        # Five posts in 机器学习: primary for some, second or third for the others.
        layouts = [
            ["机器学习"],
            ["深度学习", "机器学习"],
            ["自然语言处理", "深度学习", "机器学习"],
            ["机器学习", "自然语言处理"],
            ["随笔", "机器学习"],
            ["随笔"],
        ]
        for number, names in enumerate(layouts):
            save_post(
                PostFields(
                    title=f"文章{number}",
                    source="正文",
                    slug=f"p{number}",
                    category=names[0],
                    categories=names,
                    published_at=START + timedelta(days=number),
                ),
                author="test",
            )
    client = app.test_client()
    pages = [listed_slugs(client, "/categories/机器学习/")]
    pages += [listed_slugs(client, f"/categories/机器学习/page/{n}/") for n in (2, 3)]
    # Newest first, two per page, every post whose category it is, each exactly once.
    assert pages == [["p4", "p3"], ["p2", "p1"], ["p0"]]
    assert listed_slugs(client, "/categories/自然语言处理/") == ["p3", "p2"]
    assert client.get("/categories/机器学习/page/4/").status_code == 404
    # Every variant lists them too.
    for variant in ("zh-hans", "zh-hant", "zh-tw", "zh-hk"):
        assert listed_slugs(client, f"/{variant}/categories/深度学习/") == ["p2", "p1"]
    # The post page links each category, primary first.
    page = client.get("/posts/p2/").get_data(as_text=True)
    links = [a for a in links_of(page) if "category" in a["class"].split()]
    assert [a["text"] for a in links] == ["自然语言处理", "深度学习", "机器学习"]
    assert links[1]["href"] == f"/categories/{quote('深度学习')}/"
    # Its category feed and the site's feed name every category of each entry.
    feed = client.get("/categories/深度学习/feed.xml").get_data(as_text=True)
    assert "/posts/p2/" in feed and "/posts/p1/" in feed and "/posts/p0/" not in feed
    assert '<category term="机器学习"/>' in client.get("/feed.xml").get_data(as_text=True)
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    assert f"/categories/{quote('机器学习')}/page/3/" in sitemap


def test_front_matter_categories_list_keeps_every_name_and_the_first_is_primary(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "a.md").write_text(
        "---\ntitle: 甲\nslug: a\ndate: 2024-01-02\n"
        "categories:\n  - 深度学习\n  - 自然语言处理\ntags: [x]\n---\n正文\n",
        encoding="utf-8",
    )
    # Hexo's nested list is a hierarchy: the post belongs to each level.
    (folder / "b.md").write_text(
        "---\ntitle: 乙\nslug: b\ndate: 2024-01-03\n"
        "categories: [[编程, Python], [随笔]]\n---\n正文\n",
        encoding="utf-8",
    )
    (folder / "c.md").write_text(
        "---\ntitle: 丙\nslug: c\ndate: 2024-01-04\ncategory: 随笔\n---\n正文\n", encoding="utf-8"
    )
    assert run_cli("upgrade").exit_code == 0
    result = run_cli("import", str(folder))
    assert result.exit_code == 0, result.output
    app = make_app()
    assert categories_of(app, "a") == ["深度学习", "自然语言处理"]
    assert categories_of(app, "b") == ["编程", "Python", "随笔"]
    assert categories_of(app, "c") == ["随笔"]
    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == "a")).one()
        assert post.category is not None and post.category.name == "深度学习"
        assert "categories" not in post.meta
    assert listed_slugs(app.test_client(), "/categories/随笔/") == ["c", "b"]

    # Export → import into an empty instance: the same categories in the same order.
    out = tmp_path / "export"
    assert run_cli("export", str(out)).exit_code == 0
    exported = next(out.rglob("a.md")).read_text(encoding="utf-8")
    assert "categories:\n- 深度学习\n- 自然语言处理\n" in exported
    other = tmp_path / "other"
    write_config(other)
    runner = CliRunner()
    for args in (["upgrade"], ["import", str(out)]):
        cli_module._apps.clear()
        done = runner.invoke(cli_module.cli, ["--instance", str(other), *args])
        assert done.exit_code == 0, done.output
    cli_module._apps.clear()
    second = create_app(config={"TESTING": True}, instance_path=other)
    try:
        for slug, names in (("a", ["深度学习", "自然语言处理"]), ("b", ["编程", "Python", "随笔"])):
            assert categories_of(second, slug) == names
    finally:
        close_app(second)
    # Importing the same export again changes nothing (the categories compare equal).
    again = run_cli("import", str(out))
    assert again.exit_code == 0 and "0 imported" in again.output, again.output


def test_api_and_editor_set_every_category(app: Flask) -> None:
    create_user(app)
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        token = create_token(user, "laptop")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"title": "接口", "source": "正文", "categories": ["甲", "乙", "甲"], "status": "draft"}
    made = client.post("/api/posts", json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    data = made.get_json()
    assert data["category"] == "甲" and data["categories"] == ["甲", "乙"]
    # Changing only the primary category keeps the others.
    changed = client.patch(
        f"/api/posts/{data['id']}",
        json={"version": data["version"], "category": "丙"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["categories"] == ["丙", "乙"]
    wrong = client.patch(
        f"/api/posts/{data['id']}", json={"version": 2, "categories": 3}, headers=headers
    )
    assert wrong.status_code == 400 and "categories" in wrong.get_json()["error"]

    login(client)
    form = editor_form(category="数学", categories="代数, 几何，代数", action="publish")
    saved = post_form(client, "/admin/posts/new", form)
    assert saved.status_code in (302, 303), saved.get_data(as_text=True)[:2000]
    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.title == "注意力机制")).one()
        assert [c.name for c in post.categories] == ["数学", "代数", "几何"]
        post_id = post.id
    editor = client.get(f"/admin/posts/{post_id}/edit").get_data(as_text=True)
    assert 'name="categories" value="代数, 几何"' in editor
    # The admin's post list filters by any of a post's categories and shows them all.
    for name, shown in (("几何", True), ("代数", True), ("物理", False)):
        rows = client.get(f"/admin/?category={quote(name)}").get_data(as_text=True)
        assert ("注意力机制" in rows.split("<tbody>", 1)[-1]) is shown, name
    assert "数学、代数、几何" in client.get("/admin/").get_data(as_text=True)


def test_too_many_categories_is_a_clear_error() -> None:
    fields = PostFields(title="t", source="s", categories=[f"c{n}" for n in range(101)])
    with pytest.raises(FieldError, match="at most 100 categories"):
        fields.validate()


def test_migration_moves_imported_extra_categories_out_of_meta(
    make_app: Callable[..., Flask], database: str
) -> None:
    app = make_app(**({"DATABASE_URL": database} if database else {}))
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
        config = alembic_config(url)
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0101_19c_previews_related")
        with db.engine.begin() as connection:
            # No explicit id: PostgreSQL's sequence must stay in step for the migration.
            connection.execute(text("INSERT INTO categories (name) VALUES ('深度学习')"))
            first = connection.execute(text("SELECT id FROM categories")).scalar_one()
            for number, meta in (
                (1, '{"categories": ["深度学习", "自然语言处理"], "math": true}'),
                (2, '{"categories": ["技术 / Python"]}'),
                (3, "{}"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO posts (id, slug, title, source, lang, kind, status, "
                        "created_at, updated_at, category_id, meta, body_html, excerpt, toc, "
                        "render_meta, render_fingerprint, version, pinned) VALUES (:id, :slug, "
                        "'t', 's', 'zh-Hans', 'post', 'draft', :now, :now, :category, :meta, '', "
                        "'', '[]', '{}', '', 1, 0)"
                    ),
                    {
                        "id": number,
                        "slug": f"s{number}",
                        "now": START,
                        "category": first if number == 1 else None,
                        "meta": meta,
                    },
                )
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    with app.app_context():
        db.session.expire_all()
        posts = {p.slug: p for p in db.session.scalars(select(Post))}
        assert [c.name for c in posts["s1"].categories] == ["深度学习", "自然语言处理"]
        assert posts["s1"].meta == {"math": True}
        assert [c.name for c in posts["s2"].categories] == ["技术", "Python"]
        assert posts["s2"].category is not None and posts["s2"].category.name == "技术"
        assert posts["s3"].categories == [] and posts["s3"].category is None


@pytest.mark.slow
def test_static_build_writes_a_listing_and_feed_for_each_category(
    tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "a.md").write_text(
        "---\ntitle: 甲\nslug: a\ndate: 2024-01-02\n"
        "categories: [深度学习, 自然语言处理]\n---\n正文\n",
        encoding="utf-8",
    )
    assert run_cli("upgrade").exit_code == 0
    assert run_cli("import", str(folder)).exit_code == 0
    out = tmp_path / "out"
    built = run_cli("build", str(out), "--base-url", "https://example.org")
    assert built.exit_code == 0, built.output
    for prefix in ("", "zh-hant/"):
        listing = out / f"{prefix}categories/自然语言处理/index.html"
        assert f'href="/{prefix}posts/a/"' in listing.read_text(encoding="utf-8")
        feed = out / f"{prefix}categories/自然语言处理/feed.xml"
        assert "/posts/a/" in feed.read_text(encoding="utf-8")
