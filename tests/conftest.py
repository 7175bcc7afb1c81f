"""Shared fixtures: a temporary instance, the app over it, its client and CLI.

Storage tests that take the ``database`` fixture run on SQLite and, when
``BLOG_TEST_POSTGRES_URL`` points at a server (``.ci/run`` starts one), on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from blog import cli as cli_module
from blog.app import close_app, create_app
from blog.config import BUILTIN_PLUGINS
from blog.db import upgrade
from blog.models import Post, db
from blog.posts import PostFields, save_post
from blog.render_budget import worker_pool

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def worker_database(url: str) -> str:
    """Under pytest-xdist, give each worker its own database beside ``url``'s (created once).

    Tests reset the whole schema, so two workers sharing one database would drop each
    other's tables mid-test.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine, text

    from blog.db import database_url

    base, name = url.rsplit("/", 1)
    own = f"{name}_{worker}"
    engine = create_engine(database_url({"DATABASE_URL": url}, Path(".")))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        found = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own})
        if found.first() is None:
            connection.execute(text(f'CREATE DATABASE "{own}"'))
    engine.dispose()
    return f"{base}/{own}"


POSTGRES_URL = worker_database(os.environ.get("BLOG_TEST_POSTGRES_URL", ""))
POSTGRES_HINT = (
    "PostgreSQL tests need BLOG_TEST_POSTGRES_URL=postgresql://user:pass@host/db "
    "(.ci/run installs and starts a server; see CONTRIBUTING.md)"
)


def shared_path(*parts: str) -> Path:
    """Path into ../shared, skipping the test when the shared material is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (shared test material not available)")
    return path


def count_html_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record, from now on, the text of every HTML parse this process makes.

    Both parsers the code base uses are counted: :mod:`html.parser` (every ``feed``) and
    libxml2 through lxml (every ``etree.fromstring``/``HTML``/``XML``/``parse`` call).
    """
    parsed: list[str] = []
    feed = HTMLParser.feed

    def counting_feed(self: HTMLParser, data: str) -> None:
        parsed.append(data)
        feed(self, data)

    monkeypatch.setattr(HTMLParser, "feed", counting_feed)
    for name in ("fromstring", "HTML", "XML", "parse"):
        original = getattr(etree, name)

        def counting(text: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            parsed.append(text if isinstance(text, str) else repr(text))
            return _original(text, *args, **kwargs)

        monkeypatch.setattr(etree, name, counting)
    return parsed


def write_config(instance: Path, **settings: Any) -> None:
    config = {"SECRET_KEY": "test-secret", "PLUGINS": list(BUILTIN_PLUGINS), "STRICT_PLUGINS": True}
    config.update(settings)
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "config.toml").write_text(tomli_w.dumps(config), encoding="utf-8")


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from blog.db import database_url

    engine = create_engine(database_url({"DATABASE_URL": url}, Path(".")))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> str:
    """Database URL for the test: "" (SQLite in the instance) or the PostgreSQL server."""
    if request.param == "sqlite":
        return ""
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_HINT)
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    write_config(path)
    return path


@pytest.fixture
def make_app(instance: Path) -> Iterator[Callable[..., Flask]]:
    """Factory: ``make_app(**config)`` builds an app over the test instance, migrated."""
    made: list[Flask] = []

    def factory(**config: Any) -> Flask:
        config.setdefault("TESTING", True)
        app = create_app(config=config, instance_path=instance)
        upgrade(app)
        made.append(app)
        return app

    yield factory
    # Pre-forked render workers inherited this test's app: none outlives the test.
    worker_pool().close()
    for app in made:
        close_app(app)


@pytest.fixture
def app(make_app: Callable[..., Flask], database: str) -> Flask:
    return make_app(DATABASE_URL=database) if database else make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_post(app: Flask) -> Callable[..., Post]:
    """Factory: ``make_post("markdown", title=..., **fields)`` saves and renders a post."""

    def factory(source: str = "正文", **fields: Any) -> Post:
        fields.setdefault("title", "测试文章")
        with app.app_context():
            post = save_post(PostFields(source=source, **fields), author="test")
            db.session.refresh(post)
            db.session.expunge(post)
            return post

    return factory


@pytest.fixture
def run_cli(instance: Path) -> Iterator[Callable[..., Result]]:
    """Run ``blog --instance <test instance> ARGS`` like the console script does."""

    def invoke(*args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        cli_module._apps.clear()
        return runner.invoke(cli_module.cli, ["--instance", str(instance), *args], input=input)

    yield invoke
    cli_module._apps.clear()
    worker_pool().close()  # render workers forked by a command (import) end with the test


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for a whole test file (skipped where there is none); a file
    that needs other launch options defines its own ``browser``."""
    from browser_support import chromium

    with chromium() as launched:
        yield launched
