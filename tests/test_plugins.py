"""The plugin system: every hook through the app, discovery, configuration, isolation.

Fixture plugins live in ``tests/plugins_fixtures/``: single files that tests copy into
``instance/plugins/``, and ``site/``, a sys.path folder holding an "installed" package
whose ``*.dist-info/entry_points.txt`` puts it in the ``blog.plugins`` group.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog import cli as cli_module
from blog import hookspecs
from blog.api import plugin_config
from blog.app import create_app
from blog.config import BUILTIN_PLUGINS, ConfigError
from blog.db import upgrade
from blog.models import Post, db
from blog.plugins import PluginError
from blog.posts import PostFields, save_post, trash_post
from blog.sanitize import Allowlist, sanitize_html
from tests.conftest import write_config
from tests.serve_support import ANSWER_SECONDS, blog_serve

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "plugins_fixtures"
SITE = FIXTURES / "site"
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("blog_"))


# --- helpers -------------------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)


class _Collector(HTMLParser):
    VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())  # noqa: SIM905

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if self._open:
            self._open[-1].children.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


def parse(html: str) -> list[Element]:
    """Every element of ``html`` in document order, with attributes and inner text."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def _has(element: Element, name: str, value: str) -> bool:
    if name == "class":
        return value in element.attrs.get("class", "").split()
    return element.attrs.get(name) == value


def find(html: str, tag: str, **attrs: str) -> list[Element]:
    """Elements named ``tag`` with the given attributes (``class_`` matches one class)."""
    wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    return [
        e for e in parse(html) if e.tag == tag and all(_has(e, k, v) for k, v in wanted.items())
    ]


def post_body(html: str) -> Element:
    (body,) = find(html, "div", class_="post-body")
    return body


def install(instance: Path, *names: str) -> None:
    """Drop fixture plugins into ``instance/plugins/`` as a site owner would."""
    folder = instance / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / f"{name}.py", folder / f"{name}.py")


def save(app: Flask, source: str = "正文", **fields: Any) -> Post:
    fields.setdefault("title", "插件测试")
    with app.app_context():
        post = save_post(PostFields(source=source, **fields), author="test")
        db.session.refresh(post)
        db.session.expunge(post)
        return post


def plugins_table(output: str) -> dict[str, list[str]]:
    """``blog plugins`` output as ``{name: [status, version, source words...]}``."""
    return {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}


def loaded_module(app: Flask, name: str) -> Any:
    return app.extensions["blog.plugins"].infos[name].module


@pytest.fixture
def hook_app(instance: Path, make_app: Callable[..., Flask]) -> Flask:
    """An app whose only plugin is ``every_hook``, from ``instance/plugins/``."""
    install(instance, "every_hook")
    return make_app(PLUGINS=["every_hook"])


@pytest.fixture
def hook_client(hook_app: Flask) -> FlaskClient:
    return hook_app.test_client()


@pytest.fixture
def installed_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Make the fixture distribution in ``site/`` importable and visible to entry points."""
    monkeypatch.syspath_prepend(str(SITE))
    yield SITE
    sys.modules.pop("fixture_assets", None)


def console_script() -> Path:
    return Path(sys.executable).parent / "blog"


# --- every hook, through the app -------------------------------------------------------


def test_hook_blog_markdown_extensions_adds_markdown_syntax(
    hook_app: Flask, hook_client: FlaskClient
) -> None:
    post = save(hook_app, "旧的 ++新增内容++ 段落")
    body = post_body(hook_client.get(f"/posts/{post.slug}/").get_data(as_text=True))
    assert [e.text for e in body.children[0].children if e.tag == "ins"] == ["新增内容"]


def test_hook_blog_render_html_transforms_the_stored_body(
    hook_app: Flask, hook_client: FlaskClient
) -> None:
    post = save(hook_app, "正文")
    body = post_body(hook_client.get(f"/posts/{post.slug}/").get_data(as_text=True))
    assert [(e.tag, e.text) for e in body.children] == [("p", "正文"), ("p", "rendered")]


def test_hook_blog_allowed_html_keeps_attributes_the_core_would_strip(
    hook_app: Flask, hook_client: FlaskClient
) -> None:
    assert "data-every-hook" not in sanitize_html('<p data-every-hook="x">a</p>', Allowlist())
    post = save(hook_app)
    html = hook_client.get(f"/posts/{post.slug}/").get_data(as_text=True)
    assert [e.attrs["data-every-hook"] for e in find(html, "p", class_="every-hook-render")] == [
        "kept"
    ]


def test_hook_blog_excerpt_first_plugin_in_order_wins(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    install(instance, "every_hook")
    app = make_app(PLUGINS=["every_hook", "excerpt"])
    save(app, "这一段是正文，本来会成为摘要。", title="顺序")
    html = app.test_client().get("/").get_data(as_text=True)
    assert [e.text for e in find(html, "p", class_="excerpt")] == ["every_hook excerpt of 顺序"]


def test_hook_blog_excerpt_later_plugin_is_not_asked_once_one_answered(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    install(instance, "every_hook")
    app = make_app(PLUGINS=["excerpt", "every_hook"])
    post = save(app, "这一段是正文，本来会成为摘要。", title="顺序")
    assert post.excerpt.startswith("这一段是正文")


def test_hook_blog_post_metadata_is_stored_in_render_meta(hook_app: Flask) -> None:
    post = save(hook_app, "一些 **正文**")
    assert post.render_meta["every_hook_length"] == len(post.body_html)


def test_hook_blog_search_text_normalises_both_index_and_query(
    hook_app: Flask, hook_client: FlaskClient
) -> None:
    save(hook_app, "A note on colour spaces.", title="Colour notes", lang="en")
    for query in ("color", "colour"):
        html = hook_client.get(f"/search?q={query}").get_data(as_text=True)
        assert any(e.text == "Colour notes" for e in find(html, "a")), query


def test_hook_blog_display_text_changes_shown_titles_not_stored_ones(
    hook_app: Flask, hook_client: FlaskClient
) -> None:
    post = save(hook_app, title="Attention -- a note", slug="dash-title", lang="en")
    html = hook_client.get("/posts/dash-title/").get_data(as_text=True)
    assert next(e.text for e in find(html, "title")).startswith("Attention — a note")
    assert post.title == "Attention -- a note"


def test_hook_blog_post_changed_hears_saves_and_trashing(hook_app: Flask) -> None:
    changes = loaded_module(hook_app, "every_hook").CHANGES
    post = save(hook_app, slug="changed-post")
    with hook_app.app_context():
        trash_post(db.session.get_one(Post, post.id))
    assert changes == [("changed-post", "saved"), ("changed-post", "trashed")]


def test_hook_blog_variants_serves_every_page_under_each_prefix(
    hook_app: Flask, hook_client: FlaskClient
) -> None:
    post = save(hook_app, slug="variant-post")
    assert hook_app.extensions["blog.variants"] == ["quiet", "loud"]
    for prefix in ("quiet", "loud"):
        response = hook_client.get(f"/{prefix}/posts/variant-post/")
        assert response.status_code == 200
        assert response.headers["X-Every-Hook"] == prefix
        assert post.title in response.get_data(as_text=True)


def test_hook_blog_request_variant_picks_the_variant_of_unprefixed_urls(
    hook_client: FlaskClient,
) -> None:
    assert hook_client.get("/").headers["X-Every-Hook"] == "none"
    hook_client.set_cookie("every_hook_variant", "loud")
    chosen = hook_client.get("/")
    assert chosen.headers["X-Every-Hook"] == "loud"


def test_hook_blog_template_context_adds_template_variables(hook_client: FlaskClient) -> None:
    html = hook_client.get("/archive/").get_data(as_text=True)
    assert [e.attrs["lang"] for e in find(html, "html")] == ["x-every-hook-archive"]


def test_hook_blog_editor_fields_adds_checkboxes_that_write_front_matter(
    hook_app: Flask, hook_client: FlaskClient
) -> None:
    from admin_support import create_user, csrf_token, editor_form, find_all, login
    from werkzeug.datastructures import MultiDict

    create_user(hook_app)
    login(hook_client)
    page = hook_client.get("/admin/posts/new").data
    boxes = find_all(page, "input", type="checkbox", name="meta:audience")
    assert [box.attrs["value"] for box in boxes] == ["beginner", "expert"]
    assert find_all(page, "fieldset", class_="plugin-field") != []
    assert len(find_all(page, "fieldset", class_="plugin-field")) == 1  # malformed ones ignored
    form = MultiDict([*editor_form(title="读者", slug="aud").items()])
    form.add("csrf_token", csrf_token(hook_client, "/admin/posts/new"))
    form.add("meta-shown:audience", "1")
    form.add("meta:audience", "expert")
    assert hook_client.post("/admin/posts/new", data=form).status_code == 302
    with hook_app.app_context():
        post = db.session.scalars(select(Post).filter_by(slug="aud")).one()
        assert post.meta["audience"] == ["expert"]


def test_hook_blog_head_assets_links_stylesheets_in_the_head(hook_client: FlaskClient) -> None:
    html = hook_client.get("/").get_data(as_text=True)
    (head,) = find(html, "head")
    hrefs = [e.attrs["href"] for e in parse(html) if e.tag == "link" and e in _descendants(head)]
    assert "/every-hook/style.css" in hrefs


def _descendants(element: Element) -> list[Element]:
    found = []
    for child in element.children:
        found.append(child)
        found.extend(_descendants(child))
    return found


def test_hook_blog_response_filter_transforms_html_responses(hook_client: FlaskClient) -> None:
    response = hook_client.get("/")
    assert response.headers["X-Every-Hook"] == "none"


def test_hook_blog_text_transform_changes_prose_and_leaves_code_alone(
    hook_app: Flask, hook_client: FlaskClient
) -> None:
    post = save(hook_app, "Please shout this, not `shout this`.")
    body = post_body(hook_client.get(f"/posts/{post.slug}/").get_data(as_text=True))
    paragraph = body.children[0]
    assert paragraph.text.startswith("Please SHOUT THIS, not shout this")
    assert [e.text for e in paragraph.children if e.tag == "code"] == ["shout this"]


def test_hook_blog_response_filter_leaves_static_files_alone(hook_client: FlaskClient) -> None:
    response = hook_client.get("/robots.txt")
    assert response.status_code == 200
    assert "X-Every-Hook" not in response.headers


def test_hook_blog_register_routes_adds_pages(hook_client: FlaskClient) -> None:
    response = hook_client.get("/every-hook/")
    assert response.status_code == 200


def test_hook_blog_startup_runs_when_the_app_is_created(hook_client: FlaskClient) -> None:
    assert hook_client.get("/every-hook/").get_data(as_text=True) == "started"


def test_hook_blog_startup_failure_marks_the_plugin_failed_and_silences_it(
    instance: Path, make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    install(instance, "fails_startup")
    app = make_app(PLUGINS=["fails_startup"], STRICT_PLUGINS=False)
    info = app.extensions["blog.plugins"].infos["fails_startup"]
    assert (info.status, info.reason) == ("failed", "raised in blog_startup (see the log)")
    assert "plugin fails_startup raised in blog_startup" in caplog.text
    post = save(app)
    assert "fails-startup" not in post.body_html


def test_hook_blog_register_commands_adds_cli_commands(instance: Path) -> None:
    install(instance, "every_hook")
    write_config(instance, PLUGINS=["every_hook"])
    result = subprocess.run(
        [str(console_script()), "--instance", str(instance), "every-hook"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (0, "every_hook command ran\n")


# --- discovery ---------------------------------------------------------------------------


def test_builtin_plugins_are_registered_through_the_entry_point_group() -> None:
    names = {point.name: point.value for point in entry_points(group="blog.plugins")}
    assert {n: names.get(n) for n in BUILTIN_PLUGINS} == {
        n: f"blog_plugins.{n}" for n in BUILTIN_PLUGINS
    }


def test_blog_plugins_lists_builtins_as_enabled_entry_points(
    run_cli: Callable[..., Result],
) -> None:
    rows = plugins_table(run_cli("plugins").output)
    for name in BUILTIN_PLUGINS:
        assert rows[name][:1] == ["enabled"], name
        assert " ".join(rows[name][2:]).startswith(f"entry point blog_plugins.{name} "), name


def test_installed_entry_point_plugin_is_discovered_and_enabled_by_config(
    instance: Path, installed_site: Path, run_cli: Callable[..., Result]
) -> None:
    write_config(instance, PLUGINS=[*BUILTIN_PLUGINS, "fixture_assets"])
    rows = plugins_table(run_cli("plugins").output)
    assert rows["fixture_assets"] == [
        "enabled", "1.4.0", "entry", "point", "fixture_assets", "(fixture-assets)",
    ]  # fmt: skip


def test_discovered_plugin_missing_from_plugins_is_listed_disabled(
    installed_site: Path, run_cli: Callable[..., Result]
) -> None:
    rows = plugins_table(run_cli("plugins").output)
    assert rows["fixture_assets"][:2] == ["disabled", "1.4.0"]


def test_instance_plugin_file_is_discovered_and_enabled_by_config(
    instance: Path, run_cli: Callable[..., Result]
) -> None:
    install(instance, "every_hook")
    assert plugins_table(run_cli("plugins").output)["every_hook"][0] == "disabled"
    write_config(instance, PLUGINS=["every_hook"])
    row = plugins_table(run_cli("plugins").output)["every_hook"]
    assert row == ["enabled", "0.3.1", "file", str(instance / "plugins" / "every_hook.py")]


def test_plugin_enabled_but_not_installed_is_listed_failed(
    instance: Path, run_cli: Callable[..., Result]
) -> None:
    write_config(instance, PLUGINS=["nowhere"], STRICT_PLUGINS=False)
    output = run_cli("plugins").output
    assert "(listed in PLUGINS but not installed)" in output
    assert plugins_table(output)["nowhere"][0] == "failed"


def test_blog_init_writes_a_config_enabling_every_builtin(tmp_path: Path) -> None:
    from click.testing import CliRunner

    fresh = tmp_path / "fresh"
    cli_module._apps.clear()
    result = CliRunner().invoke(cli_module.cli, ["--instance", str(fresh), "init"])
    cli_module._apps.clear()
    assert result.exit_code == 0, result.output
    config = tomllib.loads((fresh / "config.toml").read_text(encoding="utf-8"))
    assert config["PLUGINS"] == BUILTIN_PLUGINS


def test_plugins_are_called_in_plugins_order(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    install(instance, "every_hook", "configured")
    app = make_app(PLUGINS=["configured", "every_hook"])
    body = post_body(app.test_client().get(f"/posts/{save(app).slug}/").get_data(as_text=True))
    assert [e.attrs.get("class") for e in body.children] == [
        None, "configured", "every-hook-render",
    ]  # fmt: skip


# --- assets ---------------------------------------------------------------------------


def test_plugin_static_file_is_served_at_a_content_hashed_url(
    instance: Path, installed_site: Path, make_app: Callable[..., Flask]
) -> None:
    client = make_app(PLUGINS=["fixture_assets"]).test_client()
    html = client.get("/").get_data(as_text=True)
    (url,) = [e.attrs["href"] for e in find(html, "link") if "fixture" in e.attrs["href"]]
    assert url.startswith("/static/plugins/fixture_assets/fixture.")
    response = client.get(url)
    assert response.status_code == 200
    assert response.get_data() == (SITE / "fixture_assets" / "static" / "fixture.css").read_bytes()
    assert "immutable" in response.headers["Cache-Control"]


def test_plugin_template_partial_can_be_included_by_a_template(
    instance: Path, installed_site: Path, make_app: Callable[..., Flask]
) -> None:
    (instance / "templates").mkdir(parents=True, exist_ok=True)
    (instance / "templates" / "post.html").write_text(
        '{% extends "default:post.html" %}'
        '{% block post_nav %}{% include "fixture_assets/panel.html" %}{% endblock %}',
        encoding="utf-8",
    )
    app = make_app(PLUGINS=["fixture_assets"])
    html = app.test_client().get(f"/posts/{save(app).slug}/").get_data(as_text=True)
    assert [e.text.strip() for e in find(html, "aside", class_="fixture-assets-panel")] == [
        "hello from a plugin partial"
    ]


# --- configuration --------------------------------------------------------------------


def configured_instance(instance: Path, **table: Any) -> None:
    install(instance, "configured")
    write_config(instance, PLUGINS=["configured"], plugins={"configured": table})


def test_plugin_config_table_reaches_the_plugin(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    configured_instance(instance, label="你好", repeat=2, ratio=2, tags=["a"])
    app = make_app()
    config = app.extensions["blog.plugins"].config_for("configured")
    assert (config.label, config.repeat, config.ratio, config.tags) == ("你好", 2, 2, ["a"])
    assert '<p class="configured">你好 你好</p>' in save(app).body_html


def test_plugin_config_gives_the_table_the_defaults_or_none_without_an_app(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    configured_instance(instance, label="你好")
    app = make_app()
    with app.app_context():
        config = plugin_config("configured")
        assert (config.label, config.repeat) == ("你好", 1)  # repeat: the dataclass default
        assert plugin_config("math") is None  # not enabled on this site
    # Outside an app context: the app passed (commands, blog_register_routes), else None.
    assert plugin_config("configured", app) is config
    assert plugin_config("configured") is None


def test_every_builtin_plugin_reads_its_config_through_plugin_config() -> None:
    for name in BUILTIN_PLUGINS:
        sources = {
            path: path.read_text(encoding="utf-8")
            for path in (REPO / "plugins" / name).rglob("*.py")
        }
        for path, text in sources.items():
            assert "config_for" not in text and '"blog.plugins"' not in text, path
        if any("class Config" in text for text in sources.values()):
            assert any(f'plugin_config("{name}"' in text for text in sources.values()), name


def test_unknown_plugin_config_key_stops_startup_naming_plugin_key_and_file(
    instance: Path,
) -> None:
    configured_instance(instance, colour="blue")
    with pytest.raises(ConfigError) as error:
        create_app(instance_path=instance)
    message = str(error.value)
    assert "[plugins.configured]" in message
    assert "'colour'" in message
    assert str(instance / "config.toml") in message


def test_wrongly_typed_plugin_config_value_stops_startup(instance: Path) -> None:
    configured_instance(instance, repeat="twice")
    with pytest.raises(
        ConfigError, match=r"\[plugins.configured\] key 'repeat' must be <class 'int'>, got str"
    ):
        create_app(instance_path=instance)


def test_wrongly_typed_list_item_in_plugin_config_stops_startup(instance: Path) -> None:
    configured_instance(instance, tags=["ok", 3])
    with pytest.raises(ConfigError, match=r"key 'tags' must be list\[str\], got list"):
        create_app(instance_path=instance)


def test_boolean_is_not_accepted_for_an_integer_option(instance: Path) -> None:
    configured_instance(instance, repeat=True)
    with pytest.raises(ConfigError, match="'repeat'"):
        create_app(instance_path=instance)


def test_config_table_for_a_plugin_without_config_stops_startup(instance: Path) -> None:
    install(instance, "every_hook")
    write_config(instance, PLUGINS=["every_hook"], plugins={"every_hook": {"size": 1}})
    with pytest.raises(ConfigError, match="plugin 'every_hook' takes no configuration"):
        create_app(instance_path=instance)


def test_cli_reports_a_plugin_config_error_and_exits_non_zero(
    instance: Path, run_cli: Callable[..., Result]
) -> None:
    configured_instance(instance, colour="blue")
    result = run_cli("plugins")
    assert result.exit_code == 1
    assert "[plugins.configured] unknown key 'colour'" in result.output


# --- isolation ------------------------------------------------------------------------


@pytest.fixture
def broken_app(instance: Path, make_app: Callable[..., Flask]) -> Flask:
    install(instance, "broken", "every_hook")
    return make_app(PLUGINS=["broken", "every_hook"], STRICT_PLUGINS=False)


def test_broken_plugin_is_skipped_at_render_while_others_still_run(
    broken_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    post = save(broken_app, "正文 ++插入++")
    assert "<ins>插入</ins>" in post.body_html
    assert 'data-every-hook="kept"' in post.body_html
    assert post.excerpt == "every_hook excerpt of 插件测试"
    assert post.render_meta == {"every_hook_length": len(post.body_html)}
    for hook in ("markdown_extensions", "render_html", "allowed_html", "excerpt", "post_metadata"):
        assert f"plugin broken raised in blog_{hook}: {hook.replace('_', ' ')}" in caplog.text


def test_broken_plugin_is_skipped_during_requests_and_the_page_renders(
    broken_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    post = save(broken_app)
    caplog.clear()
    response = broken_app.test_client().get(f"/posts/{post.slug}/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["X-Every-Hook"] == "none"
    assert [e.attrs["lang"] for e in find(html, "html")] == ["x-every-hook-post"]
    assert find(html, "link", href="/every-hook/style.css")
    errors = {r.getMessage().split(":")[0] for r in caplog.records if r.levelno == logging.ERROR}
    broken = loaded_module(broken_app, "broken").__name__
    assert errors == {
        "plugin broken raised in blog_template_context",
        "plugin broken raised in blog_head_assets",
        "plugin broken raised in blog_response_filter",
        f"text transform {broken}._Exploding raised in convert",
    }


def test_a_failing_text_transform_is_left_out_and_the_others_still_apply(
    broken_app: Flask,
) -> None:
    post = save(broken_app, "Please shout this.")
    response = broken_app.test_client().get(f"/posts/{post.slug}/")
    assert response.status_code == 200
    assert "Please SHOUT THIS." in response.get_data(as_text=True)


def test_broken_plugin_does_not_break_search(broken_app: Flask) -> None:
    save(broken_app, "A note on colour.", title="Colour", lang="en")
    html = broken_app.test_client().get("/search?q=color").get_data(as_text=True)
    assert any(e.text == "Colour" for e in find(html, "a"))


def test_strict_plugins_reraises_a_render_error(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    install(instance, "broken")
    app = make_app(PLUGINS=["broken"])
    with pytest.raises(loaded_module(app, "broken").BrokenPluginError, match="markdown"):
        save(app)


def test_strict_plugins_reraises_a_request_error(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    install(instance, "broken")
    app = make_app(PLUGINS=["broken"])
    with pytest.raises(loaded_module(app, "broken").BrokenPluginError, match="head assets"):
        app.test_client().get("/")


def test_plugin_failing_to_import_is_listed_failed_and_the_site_starts(
    instance: Path, run_cli: Callable[..., Result], caplog: pytest.LogCaptureFixture
) -> None:
    install(instance, "fails_import", "every_hook")
    write_config(instance, PLUGINS=["fails_import", "every_hook"], STRICT_PLUGINS=False)
    app = create_app(config={"TESTING": True}, instance_path=instance)
    upgrade(app)
    assert app.test_client().get("/").headers["X-Every-Hook"] == "none"
    assert "plugin fails_import failed to import: RuntimeError" in caplog.text
    output = run_cli("plugins").output
    assert plugins_table(output)["fails_import"][0] == "failed"
    assert "(failed to import: RuntimeError: this plugin is broken at import time)" in output


def test_plugin_failing_to_import_stops_startup_when_strict(instance: Path) -> None:
    install(instance, "fails_import")
    write_config(instance, PLUGINS=["fails_import"])
    with pytest.raises(PluginError, match="plugin fails_import failed to import"):
        create_app(instance_path=instance)


def test_plugin_requiring_another_api_major_version_is_failed_with_reason(
    instance: Path, run_cli: Callable[..., Result]
) -> None:
    install(instance, "needs_api_2")
    write_config(instance, PLUGINS=["needs_api_2"], STRICT_PLUGINS=False)
    output = run_cli("plugins").output
    assert plugins_table(output)["needs_api_2"][0] == "failed"
    assert f"(needs plugin API 2, this core provides {hookspecs.API_VERSION})" in output


def test_plugin_with_a_misspelt_hook_is_failed_with_reason(
    instance: Path, run_cli: Callable[..., Result]
) -> None:
    install(instance, "typo_hook")
    write_config(instance, PLUGINS=["typo_hook"], STRICT_PLUGINS=False)
    output = run_cli("plugins").output
    assert "(blog_render_htm is not a hook (see blog/hookspecs.py))" in output


def test_hook_function_without_hookimpl_is_failed_with_reason(
    instance: Path, run_cli: Callable[..., Result]
) -> None:
    (instance / "plugins").mkdir()
    (instance / "plugins" / "undecorated.py").write_text(
        "def blog_render_html(html):\n    return html\n", encoding="utf-8"
    )
    write_config(instance, PLUGINS=["undecorated"], STRICT_PLUGINS=False)
    output = run_cli("plugins").output
    assert "(blog_render_html lacks the @hookimpl decorator)" in output


# --- render fingerprint ---------------------------------------------------------------


def test_changing_a_plugin_config_makes_blog_rerender_rerender_posts(
    instance: Path, make_app: Callable[..., Flask], run_cli: Callable[..., Result]
) -> None:
    configured_instance(instance, label="first")
    post = save(make_app())
    configured_instance(instance, label="second")
    assert run_cli("rerender").output.startswith("re-rendered 1 posts")
    assert run_cli("rerender").output.startswith("re-rendered 0 posts")
    html = make_app().test_client().get(f"/posts/{post.slug}/").get_data(as_text=True)
    assert [e.text for e in find(html, "p", class_="configured")] == ["second"]


def test_changing_a_plugin_version_changes_the_render_fingerprint(instance: Path) -> None:
    install(instance, "every_hook")
    write_config(instance, PLUGINS=["every_hook"])
    before = create_app(instance_path=instance).extensions["blog.render_fingerprint"]
    plugin = instance / "plugins" / "every_hook.py"
    plugin.write_text(plugin.read_text().replace('"0.3.1"', '"0.3.2"'), encoding="utf-8")
    after = create_app(instance_path=instance).extensions["blog.render_fingerprint"]
    assert before != after


def test_enabling_a_plugin_changes_the_render_fingerprint(instance: Path) -> None:
    install(instance, "every_hook")
    write_config(instance, PLUGINS=[])
    before = create_app(instance_path=instance).extensions["blog.render_fingerprint"]
    write_config(instance, PLUGINS=["every_hook"])
    after = create_app(instance_path=instance).extensions["blog.render_fingerprint"]
    assert before != after


def test_blog_serve_rerenders_stale_posts_at_start(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    configured_instance(instance, label="first")
    post = save(make_app())
    configured_instance(instance, label="second")
    with blog_serve(instance) as server:
        url = f"{server.base}/posts/{post.slug}/"
        with urllib.request.urlopen(url, timeout=ANSWER_SECONDS) as response:
            html = response.read().decode("utf-8")
    output = server.output()
    assert "Re-rendered 1 posts whose render fingerprint was stale." in output
    assert [e.text for e in find(html, "p", class_="configured")] == ["second"]


# --- the core's independence and the contract's upkeep --------------------------------


def test_core_never_imports_the_builtin_plugins() -> None:
    offenders = []
    for path in sorted((REPO / "blog").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value] if node.value.startswith("blog_plugins") else []
            offenders += [
                f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "blog_plugins"
            ]
    assert offenders == []


def test_render_pipeline_and_views_reach_plugins_only_through_hook_calls() -> None:
    for module in ("render.py", "views.py"):
        tree = ast.parse((REPO / "blog" / module).read_text(encoding="utf-8"))
        touched = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr in {"manager", "hook", "infos", "module"}
        }
        assert touched == set(), module


def test_every_hook_has_a_test() -> None:
    test_names = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                test_names.add(node.name)
    untested = [hook for hook in HOOKS if not any(f"_{hook}_" in name for name in test_names)]
    assert untested == []


# --- the third-party example ----------------------------------------------------------


EXAMPLE = REPO / "examples" / "blog-reading-badge"


def _venv_with_the_engine(tmp_path: Path) -> Path:
    """A fresh venv that sees this interpreter's packages (the engine, pip, setuptools)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = next(venv.glob("lib/python*/site-packages"))
    ours = [p for p in sys.path if p.endswith("site-packages")]
    # An `import` line in a .pth file runs at start-up: addsitedir also processes the
    # outer venv's own .pth files (the editable install of the engine among them).
    (site_packages / "outer_venv.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in ours), encoding="utf-8"
    )
    return venv


def _can_build_wheels() -> bool:
    # setuptools builds wheels by itself from 70.1 on; older ones need the `wheel` package.
    import setuptools

    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    return importlib.util.find_spec("wheel") is not None or (major, minor) >= (70, 1)


@pytest.mark.slow
def test_example_reading_badge_installs_is_discovered_and_shows_its_badge(
    tmp_path: Path,
) -> None:
    if not _can_build_wheels():
        pytest.skip("installing the example needs `wheel` or setuptools>=70.1 in this venv")
    venv = _venv_with_the_engine(tmp_path)
    python = str(venv / "bin" / "python")
    source = tmp_path / "blog-reading-badge"
    shutil.copytree(EXAMPLE, source)
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOG_")}
    instance = tmp_path / "site"

    def blog(*args: str) -> subprocess.CompletedProcess[str]:
        runner = "import sys; from blog.cli import main; sys.argv[0] = 'blog'; main()"
        return subprocess.run(
            [python, "-c", runner, "--instance", str(instance), *args],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip

    assert blog("init").returncode == 0
    assert plugins_table(blog("plugins").stdout)["reading_badge"][:2] == ["disabled", "1.0.0"]

    config = tomllib.loads((instance / "config.toml").read_text(encoding="utf-8"))
    config["PLUGINS"].append("reading_badge")
    config["plugins"] = {"reading_badge": {"chars_per_minute": 100}}
    (instance / "config.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    row = plugins_table(blog("plugins").stdout)["reading_badge"]
    assert row[:3] == ["enabled", "1.0.0", "entry"]
    assert row[-1] == "(blog-reading-badge)"

    (instance / "templates" / "post.html").write_text(
        '{% extends "default:post.html" %}'
        '{% block toc %}{% include "reading_badge.html" %}{{ super() }}{% endblock %}',
        encoding="utf-8",
    )
    note = tmp_path / "note.md"
    note.write_text("---\ntitle: 长文\nslug: long-read\n---\n\n" + "字" * 450 + "\n", "utf-8")
    assert blog("import", str(note)).returncode == 0
    page = subprocess.run(
        [python, "-c", textwrap.dedent(f"""
            from blog.app import create_app
            client = create_app(instance_path={str(instance)!r}).test_client()
            print(client.get("/posts/long-read/").get_data(as_text=True))
        """)],
        capture_output=True, text=True, timeout=300, env=env, check=True,
    ).stdout  # fmt: skip
    badges = find(page, "p", class_="reading-badge")
    assert [b.text for b in badges] == ["约 5 分钟读完"]
    assert any(
        "/static/plugins/reading_badge/" in e.attrs.get("href", "") for e in find(page, "link")
    )
