"""Decide which pages a build must render again, from what the previous build recorded.

Rendering every page through the app costs tens of milliseconds each, so a rebuild that
renders the whole site to compare hashes is as slow as the first build. Instead the
manifest keeps a :class:`BuildState`:

- ``shape``: a digest of everything that can change many pages at once: the
  configuration, the code and templates (file sizes and modification times of the engine,
  its plugins and themes, the instance's ``themes/`` and ``templates/``), the hashed static
  asset names, the ``--base-url``, and for every public post and page the fields that
  decide which pages exist and what they list (id, kind, slug, status, publication time,
  category, tags), plus every category and tag name. A scheduled post whose time has come
  joins the public set, so it changes the shape too.
- ``posts``: for each public post, a digest of its whole row (every column but
  ``related``, its category and tag names), so that no change a page may show is missed.
  The heavy columns (source, body, TOC) are not read: the row's ``body_digest``, stored by
  the one write path, stands for them (rows without one are digested here, from their
  bodies).
- ``related``: for each public post, a digest of its related posts, which only its own
  page shows and which another post's save may choose again (its own pages are rendered
  again then, not the feeds that show its body).
- ``cards``: for each public post, a digest of what a page that only lists or links to it
  can show (:data:`CARD_EXCLUDED` names what is left out: the body, source and TOC, which
  such pages never load, and the version and update time, which only the post's own
  page, the feeds and the sitemap print).
- ``pages``: for each built page, the ids of the posts it shows in full: the post whose
  page it is, every post whose body, source or TOC the page loaded while it was rendered
  (a feed; a theme's full-text home page), and on pages that are not HTML (feeds, the
  sitemap) every post they link to.
- ``listed``: for each built HTML page, the other posts it links to (listings,
  neighbours, related posts, the archive). A page shows a post only through a link to it
  or by loading it, so together these are the dependency map.

When the shape is unchanged, only pages that show in full a post whose digest changed, or
list a post whose card changed, are rendered again (in two passes, :class:`RenderPlan`):
an edit to a post's body renders its own pages and the feeds and sitemap, not the
hundreds of listings and neighbours that show its title. Every other file is carried over
from OUT without being read. Anything
else (a new, deleted, renamed or rescheduled post, a new tag, a theme edit, no previous
state) renders the whole site, which is always correct.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import defer

import blog
from blog.build.pages import SAFE_PATH_CHARACTERS
from blog.config import load_config
from blog.models import Category, Post, Tag, body_digest, db
from blog.queries import HEAVY_COLUMNS, public_condition

#: Rows without a stored body digest are read this many at a time (bounded memory, and
#: below SQLite's limit on bound parameters).
BODY_BATCH = 500
#: Post kinds and the URL folder their pages live in.
KIND_FOLDERS = {"post": "posts", "page": "pages"}
#: 2 added ``cards`` and ``listed``; 3: ``posts`` digests whole rows (with ``body_digest``),
#: ``related`` added.
STATE_VERSION = 3
#: Post columns a page that only lists or links to a post never shows: the heavy ones (and
#: their digest) are not even loaded there (:data:`blog.queries.HEAVY_COLUMNS`; a page that
#: loads them depends on the whole post, see :func:`blog.build.fetch.recording_bodies`), the
#: others change on every save but appear only on the post's own page, in feeds and the
#: sitemap.
CARD_EXCLUDED = frozenset(
    {
        *(column.key for column in HEAVY_COLUMNS),
        "body_digest",
        "updated_at",
        "version",
        "render_fingerprint",
        "render_problems",
        "related",
    }
)
#: ``render_meta`` keys only the post's own page (its description, social image) or the
#: admin reads. The counts behind the reading time change with nearly every edit of a
#: body; the reading time a card prints is kept, as is any key a plugin adds.
CARD_EXCLUDED_RENDER_META = frozenset(
    {
        "cjk_chars",
        "latin_words",
        "code_blocks",
        "code_lines",
        "formulas",
        "display_formulas",
        "description",
        "first_image",
        "warnings",
        "notices",
    }
)


@dataclass
class BuildState:
    shape: str = ""
    posts: dict[int, str] = field(default_factory=dict)
    cards: dict[int, str] = field(default_factory=dict)
    related: dict[int, str] = field(default_factory=dict)
    pages: dict[str, list[int]] = field(default_factory=dict)
    listed: dict[str, list[int]] = field(default_factory=dict)
    #: Content type of each page, so a carried-over page keeps being rewritten the same way.
    types: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "shape": self.shape,
            "posts": {str(k): v for k, v in sorted(self.posts.items())},
            "cards": {str(k): v for k, v in sorted(self.cards.items())},
            "related": {str(k): v for k, v in sorted(self.related.items())},
            "pages": dict(sorted(self.pages.items())),
            "listed": dict(sorted(self.listed.items())),
            "types": dict(sorted(self.types.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildState | None:
        """The state a previous build stored, or ``None`` if it is missing or unreadable."""
        try:
            if data.get("v") != STATE_VERSION:
                return None
            return cls(
                shape=str(data["shape"]),
                posts={int(k): str(v) for k, v in data["posts"].items()},
                cards={int(k): str(v) for k, v in data["cards"].items()},
                related={int(k): str(v) for k, v in data["related"].items()},
                pages={str(k): [int(i) for i in v] for k, v in data["pages"].items()},
                listed={str(k): [int(i) for i in v] for k, v in data["listed"].items()},
                types={str(k): str(v) for k, v in data["types"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def _digest(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _tree_stats(folder: Path) -> list[tuple[str, int, int]]:
    if not folder.is_dir():
        return []
    return sorted(
        (str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns)
        for path in folder.rglob("*")
        if "__pycache__" not in path.parts and path.is_file()
        for stat in (path.stat(),)
    )


def _code_folders(app: Flask) -> list[Path]:
    instance = Path(app.instance_path)
    folders = {Path(blog.__file__).parent, instance / "themes", instance / "templates"}
    folders.update(Path(theme.folder) for theme in app.extensions["blog.theme_chain"])
    for info in app.extensions["blog.plugins"].infos.values():
        module_file = getattr(info.module, "__file__", None)
        if info.status == "enabled" and module_file:
            folders.add(Path(module_file).parent)
    return sorted(folders)


def _public_posts() -> list[Post]:
    """Every public post and page, without their heavy columns."""
    found: list[Post] = []
    for kind in KIND_FOLDERS:
        query = select(Post).where(public_condition(kind))
        found += db.session.scalars(query.options(*(defer(c) for c in HEAVY_COLUMNS))).all()
    return sorted(found, key=lambda post: post.id)


def _body_digests(posts: list[Post]) -> dict[int, str]:
    """Each post's ``body_digest``; read from the bodies of rows that have none stored."""
    digests = {post.id: post.body_digest for post in posts if post.body_digest}
    missing = [post.id for post in posts if not post.body_digest]
    for start in range(0, len(missing), BODY_BATCH):
        rows = db.session.execute(
            select(Post.id, Post.source, Post.body_html, Post.toc).where(
                Post.id.in_(missing[start : start + BODY_BATCH])
            )
        )
        for row in rows:
            digests[row.id] = body_digest(row.source, row.body_html, row.toc)
    return digests


def post_path(post: Post) -> str:
    """The unprefixed URL path of a public post or page, spelled as the crawler spells links."""
    return quote(f"/{KIND_FOLDERS[post.kind]}/{post.slug}/", safe=SAFE_PATH_CHARACTERS)


@dataclass
class Snapshot:
    """The site as it is now: its shape, each public post's digests and URL path."""

    shape: str
    posts: dict[int, str]
    cards: dict[int, str]
    related: dict[int, str]
    paths: dict[str, int]


_CARD_COLUMNS = [c.key for c in Post.__table__.columns if c.key not in CARD_EXCLUDED]
#: Every column but the heavy ones and their digest, which :func:`_body_digests` gives, and
#: the related posts, which have their own digest.
_ROW_COLUMNS = [
    c.key
    for c in Post.__table__.columns
    if c.key not in {column.key for column in HEAVY_COLUMNS} | {"body_digest", "related"}
]


def card_fields(post: Post) -> list[Any]:
    """What a page that lists or links to ``post`` can show of it."""
    render_meta = {
        key: value
        for key, value in (post.render_meta or {}).items()
        if key not in CARD_EXCLUDED_RENDER_META
    }
    return [
        [getattr(post, name) for name in _CARD_COLUMNS if name != "render_meta"],
        render_meta,
        [category.name for category in post.categories],
        [tag.name for tag in post.tags],
    ]


def snapshot(app: Flask, site_url: str) -> Snapshot:
    """Call inside an application context of ``app``."""
    settings, plugin_tables, _sources = load_config(Path(app.instance_path))
    posts = _public_posts()
    shape = _digest(
        {
            "settings": settings,
            "plugins": plugin_tables,
            "fingerprint": app.extensions.get("blog.render_fingerprint"),
            "site_url": site_url,
            "assets": sorted(app.extensions["blog.assets"].files),
            "code": [(str(folder), _tree_stats(folder)) for folder in _code_folders(app)],
            "posts": [
                (
                    post.id,
                    post.kind,
                    post.slug,
                    post.status,
                    post.published_at,
                    [category.name for category in post.categories],
                    [tag.name for tag in post.tags],
                    # Which listing pages exist and what they list first.
                    post.pinned,
                    post.series,
                    post.series_order,
                    post.password_hash is not None,
                )
                for post in posts
            ],
            "categories": sorted(db.session.scalars(select(Category.name))),
            "tags": sorted(db.session.scalars(select(Tag.name))),
        }
    )
    bodies = _body_digests(posts)
    cards = {post.id: _digest(card_fields(post)) for post in posts}
    # The whole row: a card is part of it, so a changed card is always a changed post.
    digests = {
        post.id: _digest(
            [
                [getattr(post, name) for name in _ROW_COLUMNS],
                bodies[post.id],
                [category.name for category in post.categories],
                [tag.name for tag in post.tags],
            ]
        )
        for post in posts
    }
    related = {post.id: _digest(post.related or []) for post in posts}
    paths = {post_path(post): post.id for post in posts}
    return Snapshot(shape, digests, cards, related, paths)


def unprefixed(path: str, prefixes: Iterable[str]) -> str:
    for prefix in prefixes:
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            return path[len(prefix) :] or "/"
    return path


def dependencies(
    path: str,
    links: Iterable[str],
    prefixes: list[str],
    paths: Mapping[str, int],
    html: bool,
    loaded: Iterable[int],
) -> tuple[list[int], list[int]]:
    """``(shown in full, listed)``: ids of the posts page ``path`` shows, and how.

    In full: its own post, the posts whose body it ``loaded``, and on a page that is not
    ``html`` (a feed, the sitemap) every post it links to. Listed: the other posts an HTML
    page links to.
    """
    own = paths.get(unprefixed(path, prefixes))
    linked = {paths.get(unprefixed(link, prefixes)) for link in links}
    linked.discard(None)
    full = {own, *loaded} if html else {own, *loaded, *linked}
    full.discard(None)
    listed = linked - full
    return sorted(i for i in full if i is not None), sorted(i for i in listed if i is not None)


def pages_to_render(
    previous: BuildState | None, now: Snapshot, prefixes: list[str]
) -> list[str] | None:
    """Pages to render again, or ``None`` when the whole site must be rendered."""
    if previous is None or previous.shape != now.shape or set(previous.posts) != set(now.posts):
        return None
    changed = changed_posts(previous, now)
    cards = {i for i, digest in now.cards.items() if previous.cards.get(i) != digest}
    related = {i for i, digest in now.related.items() if previous.related.get(i) != digest}
    return sorted(
        path
        for path in previous.pages.keys() | previous.listed.keys()
        if changed.intersection(previous.pages.get(path, ()))
        or cards.intersection(previous.listed.get(path, ()))
        or (related and now.paths.get(unprefixed(path, prefixes)) in related)
    )


@dataclass
class RenderPlan:
    """An incremental build's pages, in two passes.

    ``first`` is rendered at once: the pages of changed posts in every variant, and one
    page of every other affected URL, its unprefixed form. ``waiting`` maps each such
    unprefixed page to the same URL in the other variants, which are rendered only when
    the unprefixed page came out different from the previous build's. Every variant of a
    URL is the same template over the same posts (variants are a response filter and the
    template context), so when an edit leaves the unprefixed listing, neighbour or archive
    page as it was, it left the variants of that page as they were too; a post page,
    whose body is what an edit usually changes, is rendered in every variant straight away.
    """

    first: list[str]
    waiting: dict[str, list[str]]


def plan_render(
    pages: list[str], changed: set[int], prefixes: list[str], now: Snapshot
) -> RenderPlan:
    """Split ``pages`` (from :func:`pages_to_render`) into a :class:`RenderPlan`."""
    groups: dict[str, list[str]] = {}
    for path in pages:
        groups.setdefault(unprefixed(path, prefixes), []).append(path)
    plan = RenderPlan([], {})
    for base, group in groups.items():
        if now.paths.get(base) in changed or base not in group:
            plan.first += group
        else:
            plan.first.append(base)
            others = [path for path in group if path != base]
            if others:
                plan.waiting[base] = others
    return plan


def changed_posts(previous: BuildState, now: Snapshot) -> set[int]:
    return {i for i, digest in now.posts.items() if previous.posts.get(i) != digest}
