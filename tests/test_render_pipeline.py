"""The save-time pipeline: one parse of the sanitized body, pluggy's calling, degraded posts.

Plugins are the fixture files of ``tests/plugins_fixtures/`` and the built-ins, enabled
through ``config.toml`` exactly as a site owner would.
"""

from __future__ import annotations

import shutil
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask

from blog.api import hookimpl
from blog.config import BUILTIN_PLUGINS
from blog.models import DEGRADED_FINGERPRINT, Post, db
from blog.posts import PostFields, save_post
from blog.rerender import rerender_posts
from blog.search import search
from tests.admin_support import create_user, login
from tests.conftest import count_html_parses, write_config

FIXTURES = Path(__file__).parent / "plugins_fixtures"


def install(instance: Path, *names: str) -> None:
    folder = instance / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / f"{name}.py", folder / f"{name}.py")


def write_plugin(instance: Path, name: str, code: str) -> None:
    folder = instance / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(code), encoding="utf-8")


def save(app: Flask, source: str = "正文", **fields: Any) -> Post:
    fields.setdefault("title", "流水线")
    with app.app_context():
        post = save_post(PostFields(source=source, **fields), author="test")
        db.session.refresh(post)
        db.session.expunge(post)
        return post


def stored(app: Flask, slug: str) -> Post:
    with app.app_context():
        post = db.session.scalars(db.select(Post).where(Post.slug == slug)).one()
        db.session.expunge(post)
        return post


MIXED_POST = textwrap.dedent(
    """\
    # 标题

    用 `pip` 安装 numpy，其中 $x_i$ 是输入，"引号"里的中文和 English 混排。

    $$E = mc^2$$

    ```python
    print("你好")
    ```

    | 注意 | 力 |
    |------|----|
    | a    | b  |

    ![图](https://example.com/a.png)

    <!--more-->

    ## 第二节

    正文。
    """
)


def test_a_save_with_every_builtin_plugin_parses_html_once(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(PLUGINS=list(BUILTIN_PLUGINS))
    save(app, "预热")  # first render imports converters; count a steady-state save
    parsed = count_html_parses(monkeypatch)
    post = save(app, MIXED_POST)
    assert len(parsed) == 1
    assert post.body_html and post.body_html in parsed[0]


def test_table_cells_are_separate_words_in_the_search_index(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(PLUGINS=[])
    save(app, "| 注意 | 力 |\n|---|---|\n| 甲 | 乙 |\n", title="表格")
    with app.app_context():
        assert search("注意", 1, 10).total == 1
        assert search("注意力", 1, 10).total == 0


def test_save_time_hooks_get_a_read_only_draft_and_the_document(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    write_plugin(
        instance,
        "reads_document",
        """
        import dataclasses
        from blog.api import hookimpl

        @hookimpl
        def blog_post_metadata(post, document):
            try:
                post.title = "changed"
                writable = True
            except dataclasses.FrozenInstanceError:
                writable = False
            return {
                "draft_writable": writable,
                "headings": [text for _level, _id, text in document.headings],
                "kinds": sorted({segment.kind.name for segment in document.segments}),
                "text_is_html_text": document.text.startswith("标题"),
            }
        """,
    )
    app = make_app(PLUGINS=["math", "code", "reads_document"])
    meta = save(app, MIXED_POST).render_meta
    assert meta["draft_writable"] is False
    assert meta["headings"] == ["标题", "第二节"]
    assert {"CODE_BLOCK", "DISPLAY_MATH", "INLINE_MATH", "IMAGE", "TABLE", "LITERAL"} <= set(
        meta["kinds"]
    )
    assert meta["text_is_html_text"] is True


def test_tryfirst_implementation_is_called_before_plugins_order(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    write_plugin(
        instance,
        "early",
        """
        from blog.api import hookimpl

        @hookimpl(tryfirst=True)
        def blog_excerpt(post, document):
            return "early wins"
        """,
    )
    install(instance, "every_hook")
    app = make_app(PLUGINS=["every_hook", "early"])
    assert save(app).excerpt == "early wins"


def test_a_plugin_failing_at_save_leaves_the_post_degraded_and_named(
    instance: Path,
    make_app: Callable[..., Flask],
    run_cli: Callable[..., Result],
    caplog: pytest.LogCaptureFixture,
) -> None:
    install(instance, "broken", "every_hook")
    app = make_app(PLUGINS=["broken", "every_hook"], STRICT_PLUGINS=False)
    post = save(app, "正文 ++插入++")
    assert "<ins>插入</ins>" in post.body_html
    assert post.render_fingerprint == DEGRADED_FINGERPRINT
    assert post.render_problems is not None
    failed_hooks = {(p["plugin"], p["hook"]) for p in post.render_problems}
    assert ("broken", "blog_allowed_html") in failed_hooks
    assert ("broken", "blog_excerpt") in failed_hooks
    output = run_cli("plugins").output
    assert "1 posts were stored degraded" in output
    assert f"{post.slug}: broken in blog_markdown_extensions" in output


def test_blog_rerender_repairs_a_degraded_post(
    instance: Path, make_app: Callable[..., Flask], run_cli: Callable[..., Result]
) -> None:
    install(instance, "broken", "every_hook")
    app = make_app(PLUGINS=["broken", "every_hook"], STRICT_PLUGINS=False)
    slug = save(app).slug
    write_config(instance, PLUGINS=["every_hook"], STRICT_PLUGINS=False)
    assert run_cli("rerender").output.startswith("re-rendered 1 posts")
    app = make_app(PLUGINS=["every_hook"], STRICT_PLUGINS=False)
    post = stored(app, slug)
    assert post.render_problems is None
    assert post.render_fingerprint == app.extensions["blog.render_fingerprint"]
    assert "degraded" not in run_cli("plugins").output


def test_admin_shows_which_plugin_failed_on_a_degraded_post(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    install(instance, "broken", "every_hook")
    app = make_app(PLUGINS=["broken", "every_hook"], STRICT_PLUGINS=False)
    post = save(app)
    create_user(app)
    client = app.test_client()
    login(client)
    listing = client.get("/admin/").get_data(as_text=True)
    assert "插件出错" in listing
    page = client.get(f"/admin/posts/{post.id}/edit").get_data(as_text=True)
    assert 'class="flash flash-error render-problems"' in page
    assert "blog_excerpt" in page


def test_blog_rerender_updates_the_search_index_and_tells_plugins(
    instance: Path, make_app: Callable[..., Flask], run_cli: Callable[..., Result]
) -> None:
    install(instance, "every_hook")
    write_plugin(
        instance,
        "listener",
        """
        from pathlib import Path
        from flask import current_app
        from blog.api import hookimpl

        @hookimpl
        def blog_post_changed(post, action):
            log = Path(current_app.instance_path) / "changes.log"
            with log.open("a", encoding="utf-8") as out:
                out.write(f"{post.slug} {action}\\n")
        """,
    )
    write_plugin(
        instance,
        "synonym",
        """
        from blog.api import hookimpl

        @hookimpl
        def blog_search_text(text):
            return text.replace("colour", "color")
        """,
    )
    app = make_app(PLUGINS=["listener"])
    slug = save(app, "A note on colour.", title="Note", lang="en").slug
    with app.app_context():
        assert search("color", 1, 10).total == 0
    write_config(instance, PLUGINS=["listener", "synonym"])
    assert run_cli("rerender").output.startswith("re-rendered 1 posts")
    app = make_app(PLUGINS=["listener", "synonym"])
    with app.app_context():
        assert [p.slug for p in search("color", 1, 10).results] == [slug]
    changes = (instance / "changes.log").read_text(encoding="utf-8").splitlines()
    assert changes == [f"{slug} saved", f"{slug} rerendered"]


@pytest.mark.slow
def test_blog_rerender_renders_on_several_processes_and_writes_every_post(
    instance: Path, make_app: Callable[..., Flask], run_cli: Callable[..., Result]
) -> None:
    write_config(instance, PLUGINS=["math", "excerpt"])
    app = make_app(PLUGINS=["math", "excerpt"])
    slugs = [save(app, f"第{n}篇，公式 $x_{n}$。", title=f"篇{n}").slug for n in range(10)]
    write_config(instance, PLUGINS=["math", "excerpt", "code"])
    assert run_cli("rerender", "--jobs", "2").output.startswith("re-rendered 10 posts")
    app = make_app(PLUGINS=["math", "excerpt", "code"])
    for number, slug in enumerate(slugs):
        post = stored(app, slug)
        assert post.render_fingerprint == app.extensions["blog.render_fingerprint"]
        assert f"第{number}篇" in post.body_html and "<math" in post.body_html
        assert post.render_meta["formulas"] == 1


class SaveDuringRender:
    """A hook that saves the post from another thread while a re-render renders it.

    It also marks every body it renders, so the re-render's output differs from what
    was stored (as after a pipeline change) and a stale write would show.
    """

    def __init__(self, app: Flask, post_id: int, source: str) -> None:
        self.app, self.post_id, self.source = app, post_id, source
        self.armed = True

    @hookimpl
    def blog_render_html(self, post: Any, html: str) -> str:
        if self.armed and post.id == self.post_id:
            self.armed = False  # the racing save renders too: it must not race itself
            racer = threading.Thread(target=self.save)
            racer.start()
            racer.join()
        return html + "<p>再渲染</p>"

    def save(self) -> None:
        with self.app.app_context():
            post = db.session.get(Post, self.post_id)
            save_post(PostFields(title="流水线", source=self.source), author="editor", post=post)
            db.session.remove()


def test_blog_rerender_keeps_a_save_that_commits_while_it_renders(app: Flask) -> None:
    post = save(app, "旧的正文。")
    racer = SaveDuringRender(app, post.id, "新的正文。")
    plugins = app.extensions["blog.plugins"]
    plugins.manager.register(racer)
    try:
        with app.app_context():
            assert rerender_posts(stale_only=False, workers=1, only=[post.id]) == 1
            db.session.remove()
    finally:
        plugins.manager.unregister(racer)
    assert not racer.armed
    now = stored(app, post.slug)
    assert now.version == 2 and now.source == "新的正文。"
    assert "新的正文" in now.body_html and "旧的正文" not in now.body_html
    assert "再渲染" in now.body_html
    with app.app_context():
        assert [p.slug for p in search("新的正文", 1, 10).results] == [post.slug]
        assert search("旧的正文", 1, 10).total == 0


def test_blog_rerender_stores_the_rest_of_a_batch_when_one_post_is_saved_meanwhile(
    app: Flask,
) -> None:
    # A batch of renders is stored by one statement; the post saved during the re-render
    # keeps its own rendering and every other post of the batch gets the new one.
    names = ["甲", "乙", "丙", "丁"]
    posts = [save(app, f"{name}篇旧的正文。", title=f"{name}篇") for name in names]
    racer = SaveDuringRender(app, posts[1].id, "乙篇新的正文。")
    plugins = app.extensions["blog.plugins"]
    plugins.manager.register(racer)
    try:
        with app.app_context():
            assert rerender_posts(stale_only=False, workers=1) == 4
            db.session.remove()
    finally:
        plugins.manager.unregister(racer)
    assert not racer.armed
    after = [stored(app, post.slug) for post in posts]
    assert after[1].version == 2 and "乙篇新的正文" in after[1].body_html
    for number in (0, 2, 3):
        assert after[number].version == 1
        assert f"{names[number]}篇旧的正文" in after[number].body_html
        assert "再渲染" in after[number].body_html  # this re-render's output, stored
    with app.app_context():  # and indexed (the saved post by its own save)
        found = {result.slug for result in search("再渲染", 1, 10).results}
    assert found == {post.slug for post in posts}


class DraftRecorder:
    """Records the category and tags of each draft a render hook is handed."""

    def __init__(self) -> None:
        self.seen: list[tuple[str | None, tuple[str, ...]]] = []

    @hookimpl
    def blog_render_html(self, post: Any, html: str) -> None:
        self.seen.append((post.category, post.tags))


def test_render_hooks_see_the_category_and_tags_being_saved(app: Flask) -> None:
    recorder = DraftRecorder()
    plugins = app.extensions["blog.plugins"]
    plugins.manager.register(recorder)
    try:
        post = save(app, "短文。", category="旧类", tags=["乙", "甲"])
        with app.app_context():
            post = db.session.get(Post, post.id)
            fields = PostFields(title="流水线", source="短文。", category="新类", tags=["丙"])
            save_post(fields, author="editor", post=post)
            db.session.remove()
    finally:
        plugins.manager.unregister(recorder)
    assert recorder.seen == [("旧类", ("乙", "甲")), ("新类", ("丙",))]
