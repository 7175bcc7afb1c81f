"""Recognise what ``blog import`` was given: a Hexo, Hugo or Jekyll site, a WordPress
export, or a plain folder of Markdown files; read the site's own configuration."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown"}
HUGO_CONFIG_NAMES = (
    "hugo.toml",
    "config.toml",
    "hugo.yaml",
    "config.yaml",
    "hugo.yml",
    "config.yml",
)
HUGO_SHORTCODE = re.compile(r"\{\{[<%]")
JEKYLL_POST_NAME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-(.+)$")


class SiteError(Exception):
    """The site's configuration cannot be read; the message names the file."""


@dataclass
class SourceFile:
    """One file of the source site that becomes a post or a page."""

    path: Path
    kind: str = "post"  # "post" or "page"
    dialect: str = "plain"  # which converter reads it: hexo, hugo, jekyll or plain
    key: str = ""  # how the site's own cross-references name it (post_link, ref, post_url)


@dataclass
class Site:
    """A recognised source: its engine, root folder, configuration and files."""

    engine: str  # "hexo", "hugo", "jekyll", "wordpress" or "plain"
    root: Path
    config: dict[str, Any] = field(default_factory=dict)
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)  # extra old → new paths

    @property
    def base_path(self) -> str:
        """The path the old site was served under (``/blog`` for ``url: http://x/blog``)."""
        url = self.config.get("baseURL") or self.config.get("url") or ""
        path = urlsplit(str(url)).path if url else ""
        if self.engine == "jekyll":
            path = path.rstrip("/") + "/" + str(self.config.get("baseurl") or "").strip("/")
        elif self.engine == "hexo":
            root = str(self.config.get("root") or "/").strip("/")
            path = "/" + root if root else path
        return "/" + path.strip("/") if path.strip("/") else ""

    @property
    def site_url(self) -> str:
        return str(self.config.get("baseURL") or self.config.get("url") or "").rstrip("/")


class _ConfigLoader(yaml.SafeLoader):
    """Safe loading that reads tags of other tools (``!!js/regexp``) as plain values."""


def _plain_value(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:", _plain_value)
_ConfigLoader.add_multi_constructor("!", _plain_value)


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_ConfigLoader)  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise SiteError(f"{path}: cannot read the site configuration: {error}") from None
    return data if isinstance(data, dict) else {}


def _load_config(path: Path) -> dict[str, Any]:
    if path.suffix == ".toml":
        try:
            return tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise SiteError(f"{path}: cannot read the site configuration: {error}") from None
    return _load_yaml(path)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _hugo_config(root: Path) -> dict[str, Any] | None:
    """Hugo's configuration: one file at the root, or a ``config/`` folder split by key.

    ``config/_default/`` is read first and ``config/production/`` over it, because the
    published site (whose URLs must keep working) was built for production.
    """
    config: dict[str, Any] | None = None
    for name in HUGO_CONFIG_NAMES:
        if (root / name).is_file():
            config = _load_config(root / name)
            break
    for environment in ("_default", "production"):
        folder = root / "config" / environment
        if not folder.is_dir():
            continue
        config = config or {}
        for file in sorted(folder.iterdir()):
            if file.suffix not in (".toml", ".yaml", ".yml") or not file.is_file():
                continue
            data = _load_config(file)
            stem = file.stem
            if stem in ("hugo", "config"):
                config = _merge(config, data)
            elif "." not in stem:  # permalinks.toml holds the [permalinks] table, and so on
                config = _merge(config, {stem: data})
    return config


def recognise(path: Path) -> Site:
    """Say which kind of source ``path`` is, with its configuration and files."""
    if path.is_file() and path.suffix.lower() == ".xml":
        # Read as a WordPress export whatever its head says: the parser is what refuses
        # hostile XML, and a file that is not WXR gets a clear message from it.
        return Site("wordpress", path.parent, files=[SourceFile(path, dialect="wordpress")])
    if path.is_dir():
        if (path / "_config.yml").is_file() and (path / "source" / "_posts").is_dir():
            return _hexo(path)
        hugo = _hugo_config(path)
        if hugo is not None and (path / "content").is_dir():
            return _hugo(path, hugo)
        if (path / "_config.yml").is_file() and (path / "_posts").is_dir():
            return _jekyll(path)
    return _plain(path)


def _markdown_under(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in MARKDOWN_SUFFIXES and p.is_file() and not p.is_symlink()
    )


def _plain(path: Path) -> Site:
    site = Site("plain", path if path.is_dir() else path.parent)
    for file in _markdown_under(path) if path.is_dir() else [path]:
        dialect = "plain"
        try:
            if HUGO_SHORTCODE.search(file.read_text(encoding="utf-8", errors="replace")):
                dialect = "hugo"  # a Hugo content folder copied on its own (blogdown too)
        except OSError:
            pass
        site.files.append(SourceFile(file, dialect=dialect, key=file.stem))
    return site


def _hexo(root: Path) -> Site:
    config = _load_yaml(root / "_config.yml")
    site = Site("hexo", root, config)
    source = root / str(config.get("source_dir") or "source")
    posts = source / "_posts"
    asset_folders = bool(config.get("post_asset_folder"))
    for file in _markdown_under(posts):
        relative = file.relative_to(posts)
        # With post_asset_folder, ``a.md`` owns the folder ``a/``: what is inside is an asset.
        owner = next(
            (
                parent
                for parent in relative.parents
                if parent != Path(".") and (posts / parent).with_suffix(".md").is_file()
            ),
            None,
        )
        if asset_folders and owner is not None:
            site.skipped.append(f"{file}: inside the asset folder of {owner}.md, not a post")
            continue
        key = relative.with_suffix("").as_posix()
        site.files.append(SourceFile(file, "post", "hexo", key))
    for file in _markdown_under(source):
        relative = file.relative_to(source)
        if relative.parts[0].startswith("_") or any(p.startswith(".") for p in relative.parts):
            continue  # _posts, _drafts, _data: not standalone pages
        site.files.append(SourceFile(file, "page", "hexo", relative.with_suffix("").as_posix()))
    return site


def _hugo(root: Path, config: dict[str, Any]) -> Site:
    site = Site("hugo", root, config)
    content = root / str(config.get("contentDir") or "content")
    for file in _markdown_under(content):
        relative = file.relative_to(content)
        if file.stem == "_index":
            continue  # a section's list page, not content of its own
        kind = "post" if len(relative.parts) > 1 else "page"
        site.files.append(SourceFile(file, kind, "hugo", relative.with_suffix("").as_posix()))
    return site


def _jekyll(root: Path) -> Site:
    config = _load_yaml(root / "_config.yml")
    site = Site("jekyll", root, config)
    for file in _markdown_under(root / "_posts"):
        site.files.append(SourceFile(file, "post", "jekyll", file.stem))
    for file in sorted(root.glob("*.md")):
        if file.name.lower() not in ("readme.md", "license.md", "changelog.md"):
            site.files.append(SourceFile(file, "page", "jekyll", file.stem))
    return site
