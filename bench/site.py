"""Generate benchmark sites in temporary instance folders.

The 15 demo posts go through the real pipeline (``import_paths``); a large site is then
filled with copies of their stored, already-rendered rows under new slugs and dates.
Copies are what a site of N rendered posts looks like to the read path, at a fraction of
the time N real renders would take (the import figure measures real renders separately).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w
from flask import Flask
from sqlalchemy import insert, select

from blog.app import create_app
from blog.config import BUILTIN_PLUGINS
from blog.db import upgrade
from blog.importer import import_paths
from blog.models import Post, body_digest, db, post_tags, utcnow
from blog.posts import bump_content_version

BATCH = 2_000
COPIED_COLUMNS = [
    c.name for c in Post.__table__.columns if c.name not in ("id", "slug", "title", "published_at")
]


@dataclass
class Site:
    instance: Path
    app: Flask
    slugs: list[str]
    categories: list[str]
    tags: list[str]


def write_instance(folder: Path, **settings: Any) -> Path:
    config = {
        "SECRET_KEY": secrets.token_hex(16),
        "PLUGINS": list(BUILTIN_PLUGINS),
        "SITE_URL": "http://127.0.0.1",
        **settings,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    return folder


def demo_folder() -> Path:
    return Path(str(resources.files("blog") / "demo"))


def new_app(instance: Path, **config: Any) -> Flask:
    app = create_app(config=config, instance_path=instance)
    upgrade(app)
    return app


def build_site(folder: Path, posts: int, short_bodies: bool = False) -> Site:
    """A site of ``posts`` published posts: the demo posts, then copies of them.

    ``short_bodies`` stores a one-paragraph body in the copies: listings never read body
    columns, so a 100,000-post listing benchmark does not need gigabytes of HTML.
    """
    instance = write_instance(folder)
    app = new_app(instance, PAGE_CACHE_BYTES=0)
    with app.app_context():
        import_paths([demo_folder()], author="bench")
        templates = [
            row._asdict()
            for row in db.session.execute(
                select(Post.__table__).where(Post.status == "published", Post.kind == "post")
            )
        ]
        tag_rows = db.session.execute(select(post_tags)).all()
        tags_of: dict[int, list[int]] = {}
        for post_id, tag_id in tag_rows:
            tags_of.setdefault(post_id, []).append(tag_id)
        start = utcnow() - timedelta(days=1)
        next_id = int(db.session.scalar(select(db.func.max(Post.id))) or 0) + 1
        remaining = max(0, posts - len(templates))
        for offset in range(0, remaining, BATCH):
            rows: list[dict[str, Any]] = []
            links: list[dict[str, int]] = []
            for number in range(offset, min(remaining, offset + BATCH)):
                template = templates[number % len(templates)]
                row = {name: template[name] for name in COPIED_COLUMNS}
                row.update(
                    id=next_id,
                    slug=f"{template['slug']}-{number}",
                    title=f"{template['title']}（{number}）",
                    published_at=start - timedelta(minutes=number),
                )
                if short_bodies:
                    source, html = template["excerpt"], f"<p>{template['excerpt']}</p>"
                    row.update(
                        source=source,
                        body_html=html,
                        body_digest=body_digest(source, html, template["toc"]),
                    )
                rows.append(row)
                links.extend(
                    {"post_id": next_id, "tag_id": t} for t in tags_of.get(template["id"], [])
                )
                next_id += 1
            db.session.execute(insert(Post.__table__), rows)
            if links:
                db.session.execute(insert(post_tags), links)
            db.session.commit()
        bump_content_version()
        db.session.commit()
        slugs = list(db.session.scalars(select(Post.slug).where(Post.kind == "post")))
        from blog.models import Category, Tag

        categories = list(db.session.scalars(select(Category.name)))
        tags = list(db.session.scalars(select(Tag.name)))
        db.session.remove()
    return Site(instance=instance, app=app, slugs=slugs, categories=categories, tags=tags)


def demo_sized_documents(folder: Path, count: int) -> Path:
    """Write ``count`` Markdown files made from the demo posts, each with its own slug."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(demo_folder().glob("*.md"))
    for number in range(count):
        text = sources[number % len(sources)].read_text(encoding="utf-8")
        fence = text[:3]  # '---' (YAML) or '+++' (TOML)
        front, _sep, body = text[4:].partition(f"\n{fence}\n")
        front = re.sub(r"^(slug|abbrlink|permalink)\s*[:=].*$", "", front, flags=re.MULTILINE)
        slug = f"slug: bench-post-{number}" if fence == "---" else f'slug = "bench-post-{number}"'
        document = f"{fence}\n{slug}\n{front}\n{fence}\n{body}"
        (folder / f"{number:05d}.md").write_text(document, encoding="utf-8")
    return folder
