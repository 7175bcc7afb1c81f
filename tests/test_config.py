"""Configuration precedence and validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from blog.app import create_app
from blog.config import ConfigError
from tests.conftest import write_config


def test_config_file_overrides_defaults(instance: Path) -> None:
    write_config(instance, POSTS_PER_PAGE=3)
    assert create_app(instance_path=instance).config["POSTS_PER_PAGE"] == 3


def test_environment_overrides_config_file(instance: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(instance, POSTS_PER_PAGE=3, SITE_TITLE="file")
    monkeypatch.setenv("BLOG_POSTS_PER_PAGE", "5")
    monkeypatch.setenv("BLOG_SITE_TITLE", "env")
    app = create_app(instance_path=instance)
    assert app.config["POSTS_PER_PAGE"] == 5
    assert app.config["SITE_TITLE"] == "env"


def test_argument_overrides_environment(instance: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLOG_POSTS_PER_PAGE", "5")
    app = create_app(config={"POSTS_PER_PAGE": 7}, instance_path=instance)
    assert app.config["POSTS_PER_PAGE"] == 7


def test_unknown_key_in_file_names_key_and_file(instance: Path) -> None:
    write_config(instance, POSTS_PER_PAGES=3)
    with pytest.raises(ConfigError) as raised:
        create_app(instance_path=instance)
    assert "POSTS_PER_PAGES" in str(raised.value)
    assert str(instance / "config.toml") in str(raised.value)


def test_wrong_type_names_key_and_file(instance: Path) -> None:
    write_config(instance, POSTS_PER_PAGE="ten")
    with pytest.raises(ConfigError, match=r"config\.toml: key 'POSTS_PER_PAGE' must be an integer"):
        create_app(instance_path=instance)


def test_boolean_is_not_accepted_as_integer(instance: Path) -> None:
    write_config(instance, POSTS_PER_PAGE=True)
    with pytest.raises(ConfigError, match="POSTS_PER_PAGE"):
        create_app(instance_path=instance)


def test_bad_environment_value_names_variable(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLOG_STRICT_PLUGINS", "maybe")
    with pytest.raises(ConfigError, match="BLOG_STRICT_PLUGINS"):
        create_app(instance_path=instance)


def test_unknown_environment_key_is_refused(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLOG_NO_SUCH_SETTING", "1")
    with pytest.raises(ConfigError, match="NO_SUCH_SETTING"):
        create_app(instance_path=instance)


def test_toml_syntax_error_names_file(instance: Path) -> None:
    (instance / "config.toml").write_text('SITE_TITLE = "unclosed\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config\.toml"):
        create_app(instance_path=instance)


def test_missing_secret_key_stops_start_up(tmp_path: Path) -> None:
    instance = tmp_path / "fresh"
    instance.mkdir()
    (instance / "config.toml").write_text("PLUGINS = []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="SECRET_KEY is missing"):
        create_app(instance_path=instance)


def test_unknown_theme_stops_start_up(instance: Path) -> None:
    write_config(instance, THEME="no-such-theme")
    with pytest.raises(ConfigError, match="no-such-theme"):
        create_app(instance_path=instance)
