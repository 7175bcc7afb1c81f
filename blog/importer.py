"""``blog import`` and ``blog export``: Markdown files with front matter in and out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from sqlalchemy import select

from blog.dates import site_zone, to_local
from blog.frontmatter import FrontMatterError, split_document
from blog.models import DRAFT, Post, db
from blog.posts import FieldError, fields_from_document, same_content, save_post
from blog.render import RenderError
from blog.slugs import SlugError, check_slug, slug_from_title

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown"}


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)
    #: ``path:line: message`` for every render warning a plugin stored on an imported post
    #: (``post.render_meta["warnings"]``), e.g. a formula shown as an error box.
    warnings: list[str] = field(default_factory=list)
    #: ``path: note`` for what plugins noticed and did (``post.render_meta["notices"]``).
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, unchanged {self.unchanged}, "
            f"failed {len(self.failures)}, warnings {len(self.warnings)} in {self.seconds:.1f}s"
        )


def markdown_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand folders to the Markdown files inside them, sorted for a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in MARKDOWN_SUFFIXES)
        else:
            yield path


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FrontMatterError(f"invalid UTF-8 (byte {error.start})", line) from None


def render_warnings(post: Post) -> list[dict[str, Any]]:
    """Return the warnings plugins stored for ``post`` (each with ``message``, maybe ``line``)."""
    warnings = (post.render_meta or {}).get("warnings") or []
    return [w for w in warnings if isinstance(w, dict) and w.get("message")]


def import_file(
    path: Path,
    author: str,
    claimed: dict[str, Path],
    warnings: list[str] | None = None,
    notices: list[str] | None = None,
) -> str:
    """Import one file in its own transaction; return "imported", "updated" or "unchanged".

    Render warnings of the saved post are appended to ``warnings`` as ``path:line: message``
    and its render notices to ``notices``.
    """
    document = split_document(_decode(path.read_bytes()), fallback_title=path.stem)
    fields = fields_from_document(document, site_zone())
    style = str(current_app.config["SLUG_STYLE"])
    slug = check_slug(fields.slug) if fields.slug else slug_from_title(fields.title, style)
    if slug in claimed:
        raise FieldError("slug", f"{slug!r} is also the slug of {claimed[slug]} in this import")
    claimed[slug] = path
    fields.slug = slug
    existing = db.session.scalar(select(Post).where(Post.slug == slug))
    if existing is not None and same_content(existing, fields):
        return "unchanged"
    post = save_post(fields, author=author, post=existing)
    if warnings is not None:
        offset = document.body_line - 1
        for warning in render_warnings(post):
            line = warning.get("line")
            where = f"{path}:{int(line) + offset}" if isinstance(line, int) else str(path)
            warnings.append(f"{where}: {warning['message']}")
    if notices is not None:
        notices.extend(f"{path}: {note}" for note in (post.render_meta or {}).get("notices") or [])
    return "imported" if existing is None else "updated"


def import_paths(
    paths: Iterable[Path], author: str = "import", on_file: Callable[[Path], Any] | None = None
) -> ImportReport:
    """Import every Markdown file under ``paths``; a bad file is reported and skipped."""
    report = ImportReport()
    started = time.perf_counter()
    claimed: dict[str, Path] = {}
    for path in markdown_files(paths):
        try:
            outcome = import_file(path, author, claimed, report.warnings, report.notices)
        except FrontMatterError as error:
            db.session.rollback()
            location = f"{path}:{error.line}" if error.line else str(path)
            report.failures.append(f"{location}: {error.reason}")
        except (FieldError, SlugError, RenderError, OSError) as error:
            db.session.rollback()
            report.failures.append(f"{path}: {error}")
        else:
            setattr(report, outcome, getattr(report, outcome) + 1)
        if on_file is not None:
            on_file(path)
    report.seconds = time.perf_counter() - started
    return report


def export_document(post: Post) -> str:
    """Serialise ``post`` as Markdown with YAML front matter that imports back identically."""
    front: dict[str, Any] = {"title": post.title, "slug": post.slug}
    if post.published_at is not None:
        front["date"] = to_local(post.published_at).isoformat()
    front["updated"] = to_local(post.updated_at).isoformat()
    if post.category is not None:
        front["categories"] = post.category.name
    front["tags"] = [t.name for t in post.tags]
    front["lang"] = post.lang
    if post.status == DRAFT:
        front["draft"] = True
    if post.kind != "post":
        front["kind"] = post.kind
    front.update(post.meta)
    header = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return f"---\n{header}---\n{post.source}"


def export_posts(folder: Path) -> int:
    """Write every post not in the trash to ``folder/<slug>.md``; return how many."""
    folder.mkdir(parents=True, exist_ok=True)
    posts = db.session.scalars(
        select(Post).where(Post.deleted_at.is_(None)).order_by(Post.id)
    ).all()
    for post in posts:
        target = folder / f"{check_slug(post.slug)}.md"
        target.write_text(export_document(post), encoding="utf-8", newline="\n")
    return len(posts)
