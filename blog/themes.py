"""Theme discovery and the template lookup chain.

Lookup order: ``instance/templates/`` overrides, the active theme, its parents, then the
``base`` theme. ``{% extends "default:post.html" %}`` reaches the theme chain without the
instance overrides, so an override can extend the template it replaces.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    TemplateNotFound,
    TemplateSyntaxError,
)

import blog_themes
from blog.config import ConfigError

BASE_THEME = "base"
REQUIRED_TEMPLATES = (
    "base.html", "index.html", "post.html", "listing.html", "archive.html", "search.html",
    "404.html", "500.html",
)  # fmt: skip
THEME_KEYS = {"name", "description", "parent", "options"}


@dataclass
class Theme:
    name: str
    folder: Path
    description: str = ""
    parent: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def templates(self) -> Path:
        return self.folder / "templates"

    @property
    def static(self) -> Path:
        return self.folder / "static"


def _read_theme(folder: Path) -> Theme:
    manifest = folder / "theme.toml"
    try:
        with manifest.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"theme {folder.name!r}: cannot read {manifest}: {error}") from None
    unknown = set(data) - THEME_KEYS
    if unknown:
        raise ConfigError(f"theme {folder.name!r}: {manifest}: unknown keys {sorted(unknown)}")
    name = data.get("name", folder.name)
    parent = data.get("parent")
    if not isinstance(name, str) or (parent is not None and not isinstance(parent, str)):
        raise ConfigError(f"theme {folder.name!r}: {manifest}: 'name' and 'parent' must be strings")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(f"theme {folder.name!r}: {manifest}: [options] must be a table")
    return Theme(name, folder, str(data.get("description", "")), parent, options)


def discover_themes(instance_path: Path) -> dict[str, Theme]:
    """Return every theme shipped with the engine or placed in ``instance/themes/``."""
    roots = [Path(next(iter(blog_themes.__path__))), instance_path / "themes"]
    themes: dict[str, Theme] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if (folder / "theme.toml").is_file():
                theme = _read_theme(folder)
                themes[theme.name] = theme
    return themes


def theme_chain(themes: dict[str, Theme], name: str) -> list[Theme]:
    """Return ``name`` followed by its ancestors, always ending with the base theme."""
    chain: list[Theme] = []
    current: str | None = name
    while current is not None:
        if current not in themes:
            wanted_by = f" (parent of {chain[-1].name!r})" if chain else ""
            raise ConfigError(
                f"THEME: no theme named {current!r}{wanted_by}; have {sorted(themes)}"
            )
        theme = themes[current]
        if theme in chain:
            raise ConfigError(f"theme {theme.name!r}: parent chain loops")
        chain.append(theme)
        current = theme.parent or (None if theme.name == BASE_THEME else BASE_THEME)
    return chain


def template_loader(
    chain: list[Theme], instance_path: Path, plugin_templates: list[Path]
) -> BaseLoader:
    """Build the Jinja loader for the active theme chain."""
    theme_loaders: list[BaseLoader] = [
        FileSystemLoader(str(t.templates)) for t in chain if t.templates.is_dir()
    ]
    plugin_loaders: list[BaseLoader] = [FileSystemLoader(str(p)) for p in plugin_templates]
    themes_only = ChoiceLoader(theme_loaders + plugin_loaders)
    return ChoiceLoader(
        [
            PrefixLoader({"default": themes_only}, delimiter=":"),
            FileSystemLoader(str(instance_path / "templates")),
            themes_only,
        ]
    )


def check_required_templates(chain: list[Theme], environment: Environment) -> None:
    """Fail start-up when the chain lacks a required template or one does not compile."""
    for name in REQUIRED_TEMPLATES:
        try:
            environment.get_template(name)
        except TemplateNotFound:
            raise ConfigError(
                f"theme {chain[0].name!r}: required template {name!r} not found in "
                f"{[str(t.templates) for t in chain]}"
            ) from None
        except TemplateSyntaxError as error:
            raise ConfigError(
                f"theme {chain[0].name!r}: {error.filename or name}:{error.lineno}: {error.message}"
            ) from None
