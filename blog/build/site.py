"""Assemble the static site: pages, search indexes, static files and uploads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from blog.admin.uploads import NAME_PATTERN, uploads_folder
from blog.app import create_app
from blog.assets import Assets
from blog.build import search_index
from blog.build.output import WriteReport, check_out_folder, write_site
from blog.build.pages import (
    STATIC_SITE_KEY,
    crawl,
    rewrite_css_urls,
    rewrite_links,
    search_page_paths,
)
from blog.build.paths import BuildError, case_collisions, output_path
from blog.config import ConfigError, load_config


@dataclass
class BuildReport:
    """What a build did: files written, kept and removed, links that led nowhere."""

    out: Path
    pages: int = 0
    files: int = 0
    seconds: float = 0.0
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    broken: dict[str, set[str]] = field(default_factory=dict)


def normalize_base_url(base_url: str | None, configured: str) -> tuple[str, str]:
    """``(site_url, base_path)``: the absolute site URL without a trailing slash and its path."""
    chosen = (base_url or configured or "").strip()
    if not chosen:
        return "", ""
    parts = urlsplit(chosen)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BuildError(f"--base-url {chosen!r}: give an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise BuildError(f"--base-url {chosen!r}: must not have a query or fragment")
    site_url = chosen.rstrip("/")
    return site_url, parts.path.rstrip("/")


def build_app(instance: Path, site_url: str) -> Flask:
    """The app the pages come from: no page cache, SITE_URL set to the published address.

    Comments are off: a static host cannot take a comment, and the comment form carries a
    time-limited token that would make every build differ from the last.
    """
    overrides: dict[str, Any] = {"PAGE_CACHE_BYTES": 0, "COMMENTS_ENABLED": False}
    if site_url:
        overrides["SITE_URL"] = site_url
    try:
        app = create_app(config=overrides, instance_path=instance)
    except ConfigError as error:
        raise BuildError(str(error)) from None

    @app.context_processor
    def static_site() -> dict[str, Any]:
        from flask import request

        return {"static_site": bool(request.environ.get(STATIC_SITE_KEY))}

    return app


def seeds(prefixes: list[str]) -> list[str]:
    start = ["/sitemap.xml", "/robots.txt"]
    for prefix in prefixes:
        start += [f"{prefix}/", f"{prefix}/archive/", f"{prefix}/search", f"{prefix}/feed.xml"]
    return start


#: Static files of private areas, never referenced by a public page.
PRIVATE_STATIC = ("/static/admin/",)


def _static_files(assets: Assets) -> dict[str, Path]:
    return {url: path for url, path in assets.files.items() if not url.startswith(PRIVATE_STATIC)}


def _upload_files(app: Flask) -> dict[str, Path]:
    with app.app_context():
        folder = uploads_folder()
    if not folder.is_dir():
        return {}
    found = {}
    for entry in sorted(folder.iterdir()):
        # Only names the app itself would serve: no dot-files, no paths, no symlinks out.
        if entry.is_file() and not entry.is_symlink() and NAME_PATTERN.fullmatch(entry.name):
            found[f"/uploads/{entry.name}"] = entry
    return found


def build_site(instance: Path, out: Path, base_url: str | None = None) -> BuildReport:
    """Build the public site of ``instance`` into ``out``; bad input raises BuildError."""
    started = time.perf_counter()
    check_out_folder(out, instance)
    try:
        settings = load_config(instance.resolve())[0]
    except ConfigError as error:
        raise BuildError(str(error)) from None
    site_url, base_path = normalize_base_url(base_url, str(settings.get("SITE_URL") or ""))
    app = build_app(instance, site_url)
    variants: list[str] = list(app.extensions["blog.variants"])
    prefixes = ["", *(f"/{v}" for v in variants)]
    crawled = crawl(app, seeds(prefixes), prefixes, site_url)

    search_paths = search_page_paths(prefixes)
    files: dict[PurePosixPath, bytes] = {}
    sources: dict[PurePosixPath, str] = {}
    problems: list[str] = []

    def add(url_path: str, data: bytes) -> None:
        try:
            relative = output_path(url_path)
        except BuildError as error:
            problems.append(str(error))
            return
        files[relative] = data
        sources[relative] = url_path

    page_html: dict[str, str] = {}
    for path, page in crawled.pages.items():
        body = page.body
        if page.content_type == "text/html":
            text = body.decode("utf-8")
            page_html[path] = text
            body = rewrite_links(text, base_path, search_paths).encode("utf-8")
        elif page.content_type == "text/css":
            body = rewrite_css_urls(body.decode("utf-8"), base_path).encode("utf-8")
        add(path, body)

    with app.app_context():
        posts = search_index.public_posts()
        tokens = search_index.postings(posts)
        characters = search_index.character_map(page_html.values())
        for prefix in prefixes:
            pages = {
                path[len(prefix) + 1 :]: text
                for path, text in page_html.items()
                if path.startswith(prefix + "/posts/")
            }
            document = search_index.index_document(posts, tokens, pages, characters)
            add(f"{prefix}/{search_index.INDEX_NAME}", document)

    copied = {**_static_files(app.extensions["blog.assets"]), **_upload_files(app)}
    for url_path, source in copied.items():
        add(url_path, source.read_bytes())

    missing = sorted(
        asset for asset in crawled.assets if asset not in copied and asset.startswith("/static/")
    )
    for asset in missing:
        crawled.broken.setdefault(asset, set()).add("(a built page)")
    for first, second in case_collisions(files):
        problems.append(
            f"{sources[PurePosixPath(first)]} and {sources[PurePosixPath(second)]} would be the "
            "same file on a case-insensitive file system (macOS, Windows); rename one"
        )
    if problems:
        raise BuildError("the site cannot be built:\n  " + "\n  ".join(problems))

    written: WriteReport = write_site(out, files)
    return BuildReport(
        out=out.resolve(),
        pages=len(crawled.pages),
        files=len(files),
        seconds=time.perf_counter() - started,
        written=written.written,
        unchanged=written.unchanged,
        removed=written.removed,
        broken=crawled.broken,
    )
