"""Load and validate configuration: defaults < instance/config.toml < BLOG_* env < argument."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Every top-level key the core accepts, with its default; the default's type is the key's type.
DEFAULTS: dict[str, Any] = {
    "SITE_TITLE": "INCOMING TRANSMISSION",
    "SITE_DESCRIPTION": "机器学习与自然语言处理笔记",
    "SITE_URL": "",
    "SITE_AUTHOR": "",
    "LANGUAGE": "zh-Hans",
    "THEME": "transmission",
    "POSTS_PER_PAGE": 10,
    "DATABASE_URL": "",
    "SECRET_KEY": "",
    "PLUGINS": [],
    "STRICT_PLUGINS": False,
    "SLUG_STYLE": "pinyin",
    "DATE_FORMAT": "chinese",
    "UI_LANGUAGE": "zh_Hans",
    "TIMEZONE": "Asia/Shanghai",
    "SERVE_THREADS": 8,
    "SERVE_WORKERS": 1,
    "PROXY_COUNT": 0,
    "METRICS_TOKEN": "",
    "JSON_LOGS": False,
    "MAX_POST_BYTES": 2_000_000,
    "RENDER_TIMEOUT_SECONDS": 10.0,
    "RENDER_CONCURRENCY": 0,
    "RENDER_QUEUE_SECONDS": 5.0,
    "RENDER_INLINE_BYTES": 4096,
    "RENDER_WORKER_IDLE_SECONDS": 300.0,
    "PAGE_CACHE_BYTES": 256 * 1024 * 1024,
    "PAGE_CACHE_CHECK_MS": 500,
    "PAGE_CACHE_FILES": "",
    "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
    "UPLOAD_STORAGE": "auto",
    "UPLOAD_MAX_PIXELS": 40_000_000,
    "UPLOAD_MAX_EXPANSION": 500,
    # Files uploaded for download (blog/admin/downloads.py; docs/images-and-diagrams.md).
    "UPLOAD_DOWNLOAD_EXTENSIONS": [
        *("pdf", "zip", "gz", "tgz", "tar", "bz2", "xz", "7z", "epub", "txt", "csv"),
        *("docx", "xlsx", "pptx", "odt", "ods", "odp"),
    ],
    "SESSION_HOURS": 12,
    "LOGIN_ATTEMPTS": 5,
    "FEED_FULL_CONTENT": True,
    # Password-protected posts (blog/protected.py; docs/writing.md).
    "POST_UNLOCK_HOURS": 24.0,
    "POST_UNLOCK_ATTEMPTS": 5,
    "POST_UNLOCK_ATTEMPTS_PER_POST": 50,
    "POST_UNLOCK_WINDOW_SECONDS": 300,
    # Reader comments (blog/comments/); docs/comments.md explains each key.
    "COMMENTS_ENABLED": True,
    "COMMENTS_CLOSE_AFTER_DAYS": 0,
    "COMMENTS_MAX_DEPTH": 3,
    "COMMENTS_PER_PAGE": 50,
    "COMMENTS_MODERATION": "first-time",
    "COMMENTS_MAX_CHARS": 5000,
    "COMMENTS_MAX_LINKS": 3,
    "COMMENTS_BLOCKLIST": [],
    "COMMENTS_RATE_PER_CLIENT": 5,
    "COMMENTS_RATE_PER_POST": 30,
    "COMMENTS_RATE_WINDOW_SECONDS": 60,
    "COMMENTS_MIN_FILL_SECONDS": 3,
    "COMMENTS_TOKEN_HOURS": 48.0,
    "COMMENTS_ADDRESS_DAYS": 30,
    "COMMENTS_AVATARS": True,
    "COMMENTS_WEBHOOK_URL": "",
    "COMMENTS_SMTP_HOST": "",
    "COMMENTS_SMTP_PORT": 25,
    "COMMENTS_MAIL_FROM": "",
    "COMMENTS_MAIL_TO": "",
    "OUTDATED_AFTER_DAYS": 365,
    "POST_LICENSE": "",
}

#: The built-in plugins that ``blog init`` enables.
BUILTIN_PLUGINS = ["math", "code", "typography", "excerpt", "opencc", "images", "diagrams"]

ENV_PREFIX = "BLOG_"


class ConfigError(Exception):
    """A configuration value is unknown or has the wrong type; the message names key and file."""


def _is_framework_key(key: str) -> bool:
    """Flask's, Flask-SQLAlchemy's and Flask-WTF's own settings pass through unchecked."""
    # Flask is loaded by create_app, this function's only caller; `blog --help`
    # and `blog themes` read the configuration without it.
    from flask import Flask

    return key in Flask.default_config or key.startswith(("SQLALCHEMY_", "WTF_", "SESSION_"))


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), "a list of strings"
    )


def _check(key: str, value: Any, source: str) -> Any:
    if key not in DEFAULTS:
        raise ConfigError(f"{source}: unknown configuration key {key!r}")
    default = DEFAULTS[key]
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if ok and expected is list:
        ok = all(isinstance(item, str) for item in value)
    if not ok:
        raise ConfigError(
            f"{source}: key {key!r} must be {_type_name(default)}, got {type(value).__name__}"
        )
    return value


def _parse_env(key: str, raw: str, source: str) -> Any:
    expected = type(DEFAULTS[key])
    if expected is str:
        return raw
    if expected is list:
        return [item.strip() for item in raw.split(",") if item.strip()]
    if expected is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{source}: key {key!r} must be a boolean, got {raw!r}")
    try:
        return expected(raw)
    except ValueError:
        raise ConfigError(f"{source}: key {key!r} must be {_type_name(DEFAULTS[key])}") from None


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse ``config.toml``; a syntax error is reported with the file's name."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None


def load_config(
    instance_path: Path, override: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, str]]:
    """Return ``(settings, plugin_tables, sources)`` with precedence applied and validated.

    ``sources`` maps each key (and ``plugins.<name>``) to where its value came from, so
    later validation errors (plugin config) can name the file.
    """
    settings = dict(DEFAULTS)
    sources = dict.fromkeys(DEFAULTS, "defaults")
    plugin_tables: dict[str, dict[str, Any]] = {}

    config_file = instance_path / "config.toml"
    if config_file.is_file():
        data = read_config_file(config_file)
        for name, table in data.pop("plugins", {}).items():
            if not isinstance(table, dict):
                raise ConfigError(f"{config_file}: [plugins.{name}] must be a table")
            plugin_tables[name] = dict(table)
            sources[f"plugins.{name}"] = str(config_file)
        for key, value in data.items():
            settings[key] = _check(key, value, str(config_file))
            sources[key] = str(config_file)

    for env_key, raw in os.environ.items():
        if not env_key.startswith(ENV_PREFIX) or env_key == "BLOG_INSTANCE":
            continue
        key = env_key[len(ENV_PREFIX) :]
        if key.startswith("TEST_"):
            continue
        source = f"environment variable {env_key}"
        if key not in DEFAULTS:
            raise ConfigError(f"{source}: unknown configuration key {key!r}")
        settings[key] = _check(key, _parse_env(key, raw, source), source)
        sources[key] = source

    for key, value in (override or {}).items():
        if key == "plugins":
            for name, table in value.items():
                plugin_tables.setdefault(name, {}).update(table)
                sources[f"plugins.{name}"] = "create_app(config=...)"
            continue
        if key not in DEFAULTS and not _is_framework_key(key):
            raise ConfigError(f"create_app(config=...): unknown configuration key {key!r}")
        settings[key] = value if key not in DEFAULTS else _check(key, value, "create_app")
        sources[key] = "create_app(config=...)"
    return settings, plugin_tables, sources
