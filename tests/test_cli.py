"""The `blog` command line: every command, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from blog.app import create_app
from blog.models import Category, Post, Revision, Tag, User, db
from tests.conftest import write_config
from tests.serve_support import ANSWER_SECONDS, blog_serve

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "blog" / "demo"


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    return tmp_path / "site"


def blog(instance: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console script, as a user would."""
    script = Path(sys.executable).parent / "blog"
    return subprocess.run(
        [str(script), "--instance", str(instance), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BLOG_STRICT_PLUGINS": "true"},
    )


def count_posts(instance: Path) -> int:
    app = create_app(instance_path=instance)
    with app.app_context():
        return db.session.query(Post).count()


def test_init_creates_config_with_secret_and_database(fresh: Path) -> None:
    result = blog(fresh, "init")
    assert result.returncode == 0, result.stderr
    config = tomllib.loads((fresh / "config.toml").read_text(encoding="utf-8"))
    assert len(config["SECRET_KEY"]) == 64
    assert config["PLUGINS"] == [
        "math",
        "code",
        "typography",
        "excerpt",
        "opencc",
        "images",
        "diagrams",
    ]
    assert (fresh / "blog.sqlite3").is_file()
    assert oct((fresh / "config.toml").stat().st_mode & 0o777) == "0o600"


def test_two_instances_get_different_secrets(tmp_path: Path) -> None:
    blog(tmp_path / "a", "init")
    blog(tmp_path / "b", "init")
    secrets = {
        tomllib.loads((tmp_path / n / "config.toml").read_text())["SECRET_KEY"] for n in "ab"
    }
    assert len(secrets) == 2


def test_init_demo_twice_keeps_the_instance_and_its_posts(fresh: Path) -> None:
    first = blog(fresh, "init", "--demo")
    assert first.returncode == 0, first.stderr
    assert "imported 15" in first.stdout
    secret = (fresh / "config.toml").read_text()
    second = blog(fresh, "init", "--demo")
    assert second.returncode == 0
    assert "keeping it" in second.stdout
    assert (fresh / "config.toml").read_text() == secret
    assert count_posts(fresh) == 15


def test_user_create_stores_a_hashed_password(
    run_cli: Callable[..., Result], instance: Path
) -> None:
    run_cli("upgrade")
    result = run_cli("user", "create", "alice", "--password-stdin", input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    app = create_app(instance_path=instance)
    with app.app_context():
        user = db.session.query(User).filter_by(name="alice").one()
        assert "correct horse" not in user.password_hash
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    again = run_cli("user", "create", "alice", "--password-stdin", input="another password\n")
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_user_create_refuses_short_password(run_cli: Callable[..., Result]) -> None:
    run_cli("upgrade")
    result = run_cli("user", "create", "bob", "--password-stdin", input="short\n")
    assert result.exit_code == 1
    assert "at least 8" in result.output


def test_import_reports_bad_files_imports_the_rest_and_exits_1(
    run_cli: Callable[..., Result], tmp_path: Path, instance: Path
) -> None:
    run_cli("upgrade")
    source = tmp_path / "posts"
    source.mkdir()
    (source / "good.md").write_text(
        "---\ntitle: 好文章\ntags: [a, b]\n---\n正文\n", encoding="utf-8"
    )
    (source / "bad-yaml.md").write_text(
        "---\ntitle: 坏\ntags: [a, b\n---\n正文\n", encoding="utf-8"
    )
    (source / "bad-utf8.md").write_bytes(
        "---\ntitle: x\n---\n第一行\n".encode() + b"\xff\xfe broken\n"
    )
    (source / "no-title.md").write_text("---\ndate: 2025-01-01\n---\n", encoding="utf-8")
    result = run_cli("import", str(source))
    assert result.exit_code == 1
    assert f"{source / 'bad-yaml.md'}:3: YAML" in result.output
    assert f"{source / 'bad-utf8.md'}:5: invalid UTF-8" in result.output
    assert f"{source / 'no-title.md'}: title: missing" in result.output
    assert "imported 1, updated 0, unchanged 0, failed 3" in result.output
    assert count_posts(instance) == 1


def test_import_is_idempotent_by_slug(
    run_cli: Callable[..., Result], tmp_path: Path, instance: Path
) -> None:
    run_cli("upgrade")
    file = tmp_path / "post.md"
    file.write_text("---\ntitle: 幂等\nslug: same\n---\n第一版\n", encoding="utf-8")
    assert "imported 1" in run_cli("import", str(file)).output
    assert "unchanged 1" in run_cli("import", str(file)).output
    file.write_text("---\ntitle: 幂等\nslug: same\n---\n第二版\n", encoding="utf-8")
    assert "updated 1" in run_cli("import", str(file)).output
    app = create_app(instance_path=instance)
    with app.app_context():
        post = db.session.query(Post).one()
        assert post.source == "第二版\n"
        assert db.session.query(Revision).filter_by(post_id=post.id).count() == 2


def test_import_accepts_hexo_hugo_and_no_front_matter(
    run_cli: Callable[..., Result], tmp_path: Path, instance: Path
) -> None:
    run_cli("upgrade")
    (tmp_path / "hexo.md").write_text(
        "---\ntitle: Hexo 文章\ndate: 2025-03-01 10:00:00\ncategories:\n- 机器学习\n- 子类\n"
        "tags: [LLM]\nabbrlink: hexo-post\nmathjax: true\n---\n内容\n",
        encoding="utf-8",
    )
    (tmp_path / "hugo.md").write_text(
        '+++\ntitle = "Hugo 文章"\ndate = 2025-03-02T09:00:00+08:00\ncategories = ["工程实践"]\n'
        'tags = ["部署"]\ndraft = true\nweight = 3\n+++\n内容\n',
        encoding="utf-8",
    )
    (tmp_path / "plain.md").write_text("# 只有标题\n\n正文段落\n", encoding="utf-8")
    (tmp_path / "untitled.md").write_text("没有标题的正文\n", encoding="utf-8")
    assert run_cli("import", str(tmp_path)).exit_code == 0
    app = create_app(instance_path=instance)
    with app.app_context():
        posts = {p.title: p for p in db.session.query(Post)}
        hexo = posts["Hexo 文章"]
        assert (hexo.slug, hexo.category.name, [t.name for t in hexo.tags]) == (
            "hexo-post",
            "机器学习",
            ["LLM"],
        )
        # Every category is kept (the first is the post's category), none silently dropped.
        assert hexo.meta == {"mathjax": True}
        assert [c.name for c in hexo.categories] == ["机器学习", "子类"]
        assert hexo.published_at.isoformat() == "2025-03-01T02:00:00"
        hugo = posts["Hugo 文章"]
        assert (hugo.status, hugo.meta) == ("draft", {"weight": 3})
        assert hugo.published_at.isoformat() == "2025-03-02T01:00:00"
        assert posts["只有标题"].source.strip() == "正文段落"
        assert posts["untitled"].source == "没有标题的正文\n"


def test_import_refuses_yaml_alias_bombs_and_python_tags(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    run_cli("upgrade")
    (tmp_path / "bomb.md").write_text(
        "---\na: &a [x, x]\nb: &b [*a, *a]\ntitle: t\n---\n", encoding="utf-8"
    )
    (tmp_path / "python.md").write_text(
        "---\ntitle: !!python/object/apply:os.system [touch /tmp/pwned]\n---\n", encoding="utf-8"
    )
    result = run_cli("import", str(tmp_path))
    assert result.exit_code == 1
    assert "aliases" in result.output
    assert "python.md:2: YAML" in result.output


def test_import_reads_front_matter_alike_whether_or_not_it_could_hold_an_alias(
    run_cli: Callable[..., Result], tmp_path: Path, instance: Path
) -> None:
    # A `*` sends front matter to the loader that refuses aliases; the rest may be read by
    # libyaml: both must give the same fields.
    run_cli("upgrade")
    head = "date: 2025-03-01 10:00:00\ntags: [注意力, 'a: b']\nmathjax: true\nweight: 3\n"
    (tmp_path / "star.md").write_text(f"---\ntitle: 'A*B 检索'\n{head}---\n正文", "utf-8")
    (tmp_path / "plain.md").write_text(f"---\ntitle: 'AB 检索'\n{head}---\n正文", "utf-8")
    result = run_cli("import", str(tmp_path))
    assert result.exit_code == 0, result.output
    app = create_app(instance_path=instance)
    with app.app_context():
        posts = {p.title: p for p in db.session.scalars(db.select(Post))}
        star, plain = posts["A*B 检索"], posts["AB 检索"]
        for post in (star, plain):
            assert post.published_at.isoformat() == "2025-03-01T02:00:00"
            assert sorted(t.name for t in post.tags) == ["a: b", "注意力"]
            assert post.meta == {"mathjax": True, "weight": 3}


def test_import_adds_each_new_tag_once_and_reuses_the_stored_ones(
    run_cli: Callable[..., Result], tmp_path: Path, instance: Path
) -> None:
    run_cli("upgrade")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "a.md").write_text("---\ntitle: a\ntags: [x, y]\ncategories: [甲]\n---\n", "utf-8")
    assert run_cli("import", str(first)).exit_code == 0
    app = create_app(instance_path=instance)
    with app.app_context():
        stored = {t.name: t.id for t in db.session.scalars(db.select(Tag))}
    (second / "b.md").write_text(
        "---\ntitle: b\ntags: [y, z]\ncategories: [乙, 甲]\n---\n", "utf-8"
    )
    (second / "c.md").write_text("---\ntitle: c\ntags: [z, x]\ncategories: [乙]\n---\n", "utf-8")
    result = run_cli("import", str(second))
    assert result.exit_code == 0, result.output
    with app.app_context():
        tags = {t.name: t.id for t in db.session.scalars(db.select(Tag))}
        assert sorted(tags) == ["x", "y", "z"]
        assert {name: tags[name] for name in stored} == stored
        assert sorted(c.name for c in db.session.scalars(db.select(Category))) == ["乙", "甲"]
        posts = {p.title: p for p in db.session.scalars(db.select(Post))}
        assert sorted(t.name for t in posts["b"].tags) == ["y", "z"]
        assert [c.name for c in posts["b"].categories] == ["乙", "甲"]
        assert sorted(t.name for t in posts["c"].tags) == ["x", "z"]


def test_import_refuses_duplicate_slugs_within_one_run(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    run_cli("upgrade")
    for name in ("a", "b"):
        (tmp_path / f"{name}.md").write_text(
            f"---\ntitle: {name}\nslug: same\n---\n", encoding="utf-8"
        )
    result = run_cli("import", str(tmp_path))
    assert result.exit_code == 1
    assert "also the slug of" in result.output


def test_import_refuses_traversal_slug_and_huge_post(
    run_cli: Callable[..., Result], tmp_path: Path, instance: Path
) -> None:
    run_cli("upgrade")
    (tmp_path / "evil.md").write_text("---\ntitle: evil\nslug: ../../etc\n---\n", encoding="utf-8")
    (tmp_path / "huge.md").write_text(
        "---\ntitle: huge\n---\n" + "字" * 2_000_000, encoding="utf-8"
    )
    result = run_cli("import", str(tmp_path))
    assert result.exit_code == 1
    assert "evil.md: slug" in result.output
    assert "huge.md: post is 6,000,000 bytes; the limit is 2,000,000" in result.output
    assert count_posts(instance) == 0


def test_export_import_export_is_byte_identical(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    run_cli("upgrade")
    assert run_cli("import", str(DEMO)).exit_code == 0
    first = tmp_path / "first"
    assert run_cli("export", str(first)).exit_code == 0
    other = tmp_path / "other"
    from tests.conftest import write_config

    write_config(other)
    assert blog(other, "upgrade").returncode == 0
    imported = blog(other, "import", str(first))
    assert imported.returncode == 0, imported.stderr
    second = tmp_path / "second"
    assert blog(other, "export", str(second)).returncode == 0
    names = sorted(p.name for p in first.iterdir())
    assert len(names) == 15
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_rerender_renders_only_stale_posts_unless_all(
    run_cli: Callable[..., Result], tmp_path: Path, instance: Path
) -> None:
    run_cli("upgrade")
    (tmp_path / "p.md").write_text("---\ntitle: p\n---\n*强调*\n", encoding="utf-8")
    run_cli("import", str(tmp_path))
    assert "re-rendered 0 posts" in run_cli("rerender").output
    app = create_app(instance_path=instance)
    with app.app_context():
        post = db.session.query(Post).one()
        post.render_fingerprint = "old"
        post.body_html = ""
        db.session.commit()
    assert "re-rendered 1 posts" in run_cli("rerender").output
    with app.app_context():
        assert "<em>强调</em>" in db.session.query(Post).one().body_html
    assert "re-rendered 1 posts" in run_cli("rerender", "--all").output


def test_changing_plugin_config_changes_the_fingerprint(tmp_path: Path) -> None:
    from tests.conftest import write_config

    write_config(tmp_path / "a")
    write_config(tmp_path / "b", plugins={"excerpt": {"length": 120}})
    prints = {
        create_app(instance_path=tmp_path / n).extensions["blog.render_fingerprint"] for n in "ab"
    }
    assert len(prints) == 2


def test_plugins_lists_status_version_and_source(run_cli: Callable[..., Result]) -> None:
    result = run_cli("plugins")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()}
    assert rows["math"][1] == "enabled"
    assert "entry point" in " ".join(rows["math"])


def test_themes_lists_the_active_theme(run_cli: Callable[..., Result]) -> None:
    result = run_cli("themes")
    assert result.exit_code == 0
    active = [line for line in result.output.splitlines() if line.startswith("*")]
    assert active and "transmission" in active[0]
    assert any(" base " in line for line in result.output.splitlines())


def test_commands_without_instance_say_how_to_create_one(tmp_path: Path) -> None:
    result = blog(tmp_path / "missing", "plugins")
    assert result.returncode == 1
    assert "blog init" in result.stderr


def test_serve_answers_over_http(fresh: Path) -> None:
    assert blog(fresh, "init", "--demo").returncode == 0
    with (
        blog_serve(fresh, "--threads", "2") as server,
        urllib.request.urlopen(f"{server.base}/", timeout=ANSWER_SECONDS) as response,
    ):
        body = response.read().decode("utf-8")
    assert "InfoNCE" in body


# --- start-up: what `blog --help` and `blog themes` load ---------------------------------

LOADED_MODULES = """
import sys
from blog.cli import main
try:
    main()
except SystemExit:
    pass
heavy = ("sqlalchemy", "alembic", "blog.app", "blog.models", "blog.views", "blog.admin.uploads")
print("LOADED", sorted({m for m in sys.modules for h in heavy if m == h or m.startswith(h + ".")}))
"""


def modules_loaded_by(instance: Path, *args: str) -> tuple[str, list[str]]:
    """Run ``blog --instance INSTANCE ARGS`` in a fresh interpreter; return its output and
    which of the application's heavy modules it imported."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED_MODULES, "--instance", str(instance), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    output, _sep, loaded = result.stdout.rpartition("LOADED ")
    return output, [name.strip("' ") for name in loaded.strip(" []\n").split(",") if name]


def test_blog_help_lists_plugin_commands_without_creating_the_app(instance: Path) -> None:
    output, loaded = modules_loaded_by(instance, "--help")
    commands = {line.split()[0] for line in output.split("Commands:")[1].splitlines() if line}
    assert {"serve", "import", "plugins", "themes", "groups"} <= commands  # groups: opencc
    assert loaded == []


def test_blog_themes_reads_config_and_themes_without_the_database(instance: Path) -> None:
    write_config(instance, THEME="paper")
    output, loaded = modules_loaded_by(instance, "themes")
    assert "* paper" in output
    assert "  transmission" in output
    assert loaded == []


def test_blog_themes_names_the_bad_config_key(instance: Path) -> None:
    (instance / "config.toml").write_text('THEME = 3\nSECRET_KEY = "x"\n', encoding="utf-8")
    result = blog(instance, "themes")
    assert result.returncode != 0
    assert "THEME" in result.stderr and "config.toml" in result.stderr


def test_a_plugin_command_is_found_by_name_and_creates_the_app_it_needs(instance: Path) -> None:
    result = blog(instance, "groups")
    assert result.returncode == 0, result.stderr
    assert "No conversion groups in" in result.stdout


LOADED_PLUGIN_MODULES = """
import sys
from blog.cli import main
try:
    main()
except SystemExit:
    pass
print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in ("blog_plugins", "flask")))
"""


def test_blog_help_lists_declared_plugin_commands_without_importing_any_plugin(
    instance: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOADED_PLUGIN_MODULES, "--instance", str(instance), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    output, _sep, loaded = result.stdout.rpartition("LOADED ")
    assert loaded.strip() == "[]"
    groups = [line for line in output.splitlines() if line.strip().startswith("groups ")]
    assert groups == ["  groups    List conversion groups (instance/variant_groups/) with their..."]


def test_a_declared_command_lists_the_help_its_module_gives_it() -> None:
    from blog.cli import declared_plugin_commands
    from blog_plugins.opencc.commands import groups_command

    declared, covered = declared_plugin_commands()
    assert set(covered) >= {"math", "code", "excerpt", "opencc", "typography"}
    [command] = declared["opencc"]
    assert command.name == "groups"
    assert command.help == groups_command.help
    assert command.get_short_help_str(45) == groups_command.get_short_help_str(45)
    assert command.load() is groups_command


def test_an_undeclared_plugin_command_is_still_listed_by_help(instance: Path) -> None:
    (instance / "plugins").mkdir(exist_ok=True)
    (instance / "plugins" / "shouting.py").write_text(
        "import click\n"
        "from blog.api import hookimpl\n"
        "@hookimpl\n"
        "def blog_register_commands(cli):\n"
        "    @cli.command('shout')\n"
        "    def shout():\n"
        '        """Print a greeting."""\n'
        "        click.echo('HELLO')\n",
        encoding="utf-8",
    )
    write_config(instance, PLUGINS=["opencc", "shouting"])
    listed = blog(instance, "--help")
    assert listed.returncode == 0, listed.stderr
    assert "  shout     Print a greeting." in listed.stdout
    assert "  groups    List conversion groups" in listed.stdout
    ran = blog(instance, "shout")
    assert (ran.returncode, ran.stdout) == (0, "HELLO\n")


def test_declared_help_is_read_from_source_without_running_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blog.cli import _declared_help

    package = tmp_path / "shout_plugin"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n", encoding="utf-8")
    (package / "commands.py").write_text(
        "import click\n"
        "@click.command('shout')\n"
        "def shout():\n"
        '    """Print a greeting.\n\n    Loudly."""\n'
        "@click.command('whisper', help='Say it quietly.')\n"
        "def whisper():\n"
        '    """Not this."""\n',
        encoding="utf-8",
    )
    (package / "broken.py").write_text("def shout(:\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _declared_help("shout_plugin.commands:shout") == "Print a greeting.\n\nLoudly."
    assert _declared_help("shout_plugin.commands:whisper") == "Say it quietly."
    assert _declared_help("shout_plugin.commands:missing") is None
    assert _declared_help("shout_plugin.broken:shout") is None
    assert _declared_help("shout_plugin.absent:shout") is None
    assert "shout_plugin" not in sys.modules
