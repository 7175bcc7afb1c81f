"""Writing posts: save (render, revision, version check), trash, restore, purge.

Every change goes through here so that each save renders once, appends exactly one
revision, bumps the site's content version and tells plugins, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select, update

from blog.dates import to_utc
from blog.frontmatter import KNOWN_KEYS, LANGS, Document, as_list, json_safe
from blog.models import (
    DRAFT,
    PUBLISHED,
    SCHEDULED,
    STATUSES,
    Category,
    Post,
    Revision,
    SiteState,
    Tag,
    db,
    utcnow,
)
from blog.plugins import Plugins
from blog.render import apply_render
from blog.search import update_index
from blog.slugs import check_slug, slug_from_title, unique_slug

CONTENT_VERSION_KEY = "content"


class ConflictError(Exception):
    """The post changed since the editor loaded it; ``current`` is what is stored now."""

    def __init__(self, current: Post) -> None:
        super().__init__(
            f"post {current.slug!r} was changed by someone else (version {current.version})"
        )
        self.current = current


class FieldError(ValueError):
    """A post field is invalid; ``key`` names it."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key


#: A sanity bound, not a style rule: real blogs tag posts with 100+ keywords (the importer
#: warns past ``blog.migrate.draft.TAG_WARNING``).
MAX_TAGS = 1000


@dataclass
class PostFields:
    """Everything an author sets on a post, from a form, the API or front matter."""

    title: str
    source: str
    slug: str | None = None
    lang: str = "zh-Hans"
    status: str = PUBLISHED
    published_at: datetime | None = None
    updated_at: datetime | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    kind: str = "post"

    def validate(self) -> None:
        if not self.title.strip():
            raise FieldError("title", "must not be empty")
        if len(self.title) > 500:
            raise FieldError("title", "is longer than 500 characters")
        if self.lang not in LANGS:
            raise FieldError("lang", f"must be one of {', '.join(LANGS)}, got {self.lang!r}")
        if self.status not in STATUSES:
            raise FieldError("status", f"must be one of {', '.join(STATUSES)}")
        if self.kind not in ("post", "page"):
            raise FieldError("kind", "must be 'post' or 'page'")
        if len(self.tags) > MAX_TAGS:
            raise FieldError("tags", f"at most {MAX_TAGS} tags per post, got {len(self.tags)}")
        for name in [*self.tags, self.category or ""]:
            if len(name) > 200:
                raise FieldError("tags", "a tag or category name is longer than 200 characters")


def fields_from_document(document: Document, zone: ZoneInfo) -> PostFields:
    """Interpret front matter the way Hexo, Jekyll and Hugo users expect."""
    data = document.fields
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise FieldError("title", "missing: set `title` in the front matter or start with '# '")

    def when(key: str) -> datetime | None:
        value = data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise FieldError(
                    key, f"{value!r} is not a date (use 2026-01-31 or 2026-01-31T10:00:00)"
                ) from None
        if not isinstance(value, datetime) and not hasattr(value, "year"):
            raise FieldError(key, f"{value!r} is not a date")
        return to_utc(value, zone)

    draft = data.get("draft") is True or data.get("published") is False
    slug = next((data[k] for k in ("slug", "abbrlink") if data.get(k)), None)
    permalink = data.get("permalink")
    if slug is None and isinstance(permalink, str) and permalink.strip("/"):
        # Hexo/Jekyll permalinks are whole paths (/2020/01/name/); the last segment is the name.
        slug = permalink.strip("/").rsplit("/", 1)[-1]
    categories = as_list(data.get("categories", data.get("category")))
    lang = str(data.get("lang", "zh-Hans"))
    return PostFields(
        title=title.strip(),
        source=document.body,
        slug=str(slug) if slug is not None else None,
        lang=lang,
        status=DRAFT if draft else PUBLISHED,
        published_at=when("date"),
        updated_at=when("updated"),
        category=categories[0] if categories else None,
        tags=list(dict.fromkeys(as_list(data.get("tags")))),
        meta={k: json_safe(v) for k, v in data.items() if k not in KNOWN_KEYS},
        kind=str(data.get("kind", "post")),
    )


def _category(name: str | None) -> Category | None:
    if not name:
        return None
    found = db.session.scalar(select(Category).where(Category.name == name))
    if found is None:
        found = Category(name=name)
        db.session.add(found)
    return found


def _tags(names: list[str]) -> list[Tag]:
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    tags = []
    for name in names:
        if name not in existing:
            existing[name] = Tag(name=name)
            db.session.add(existing[name])
        tags.append(existing[name])
    return tags


def bump_content_version() -> None:
    """Mark every cached public page as possibly stale (read by the page cache)."""
    changed = db.session.execute(
        update(SiteState)
        .where(SiteState.key == CONTENT_VERSION_KEY)
        .values(value=SiteState.value + 1)
    )
    if getattr(changed, "rowcount", 1) == 0:
        db.session.add(SiteState(key=CONTENT_VERSION_KEY, value=1))


def content_version() -> int:
    value = db.session.scalar(select(SiteState.value).where(SiteState.key == CONTENT_VERSION_KEY))
    return int(value or 0)


def _notify(post: Post, action: str) -> None:
    # Called directly, not as a guarded hook: an index update that failed silently would
    # leave search out of step with the posts; here a failure rolls the change back.
    update_index(post, action)
    plugins: Plugins = current_app.extensions["blog.plugins"]
    plugins.call_each("blog_post_changed", post=post, action=action)


def snapshot(post: Post) -> dict[str, Any]:
    """The author-set fields of ``post`` as JSON, as kept in each revision."""
    return {
        "slug": post.slug,
        "lang": post.lang,
        "status": post.status,
        "kind": post.kind,
        "published_at": post.published_at.isoformat() if post.published_at else None,
        "category": post.category.name if post.category else None,
        "tags": [t.name for t in post.tags],
        "meta": post.meta,
    }


def same_content(post: Post, fields: PostFields) -> bool:
    """Whether saving ``fields`` would change nothing (used to keep imports idempotent)."""
    current = snapshot(post)
    published = fields.published_at.isoformat() if fields.published_at else current["published_at"]
    return (
        post.title == fields.title
        and post.source == fields.source
        and post.lang == fields.lang
        and post.kind == fields.kind
        and current["category"] == fields.category
        and current["tags"] == sorted(fields.tags)
        and current["meta"] == fields.meta
        and current["published_at"] == published
        and (post.status == DRAFT) == (fields.status == DRAFT)
        and post.deleted_at is None
    )


def save_post(
    fields: PostFields,
    *,
    author: str,
    post: Post | None = None,
    expected_version: int | None = None,
    change_slug: bool = False,
) -> Post:
    """Create or update a post, render it, append a revision; commit.

    ``expected_version`` enables the edit-conflict check; an existing slug changes only with
    ``change_slug`` (the caller records a redirect from the old URL).
    """
    fields.validate()
    style = str(current_app.config["SLUG_STYLE"])
    if post is None:
        base = check_slug(fields.slug) if fields.slug else slug_from_title(fields.title, style)
        post = Post(slug=unique_slug(base), created_at=utcnow(), version=0, meta={})
        db.session.add(post)
    else:
        if expected_version is not None and expected_version != post.version:
            raise ConflictError(post)
        if change_slug and fields.slug and check_slug(fields.slug) != post.slug:
            post.slug = unique_slug(check_slug(fields.slug), exclude_id=post.id)

    post.title = fields.title
    post.source = fields.source
    post.lang = fields.lang
    post.kind = fields.kind
    post.meta = dict(fields.meta)
    post.category = _category(fields.category)
    post.tags = _tags(sorted(set(fields.tags)))
    now = utcnow()
    if fields.status == DRAFT:
        post.status = DRAFT
        post.published_at = fields.published_at or post.published_at
    else:
        post.published_at = fields.published_at or post.published_at or now
        post.status = SCHEDULED if post.published_at > now else PUBLISHED
    post.updated_at = fields.updated_at or now
    post.deleted_at = None
    apply_render(post)
    post.version = (post.version or 0) + 1
    db.session.flush()
    number = db.session.scalar(
        select(func.coalesce(func.max(Revision.number), 0)).where(Revision.post_id == post.id)
    )
    db.session.add(
        Revision(
            post_id=post.id,
            number=int(number or 0) + 1,
            title=post.title,
            source=post.source,
            fields=snapshot(post),
            author=author,
            created_at=now,
        )
    )
    bump_content_version()
    _notify(post, "saved")
    db.session.commit()
    return post


def trash_post(post: Post) -> None:
    """Move ``post`` to the trash: hidden everywhere, restorable."""
    post.deleted_at = utcnow()
    bump_content_version()
    _notify(post, "trashed")
    db.session.commit()


def restore_post(post: Post) -> None:
    """Bring ``post`` back from the trash with its previous status."""
    post.deleted_at = None
    bump_content_version()
    _notify(post, "restored")
    db.session.commit()


def purge_trash() -> int:
    """Delete every trashed post and its revisions for good; return how many."""
    trashed = db.session.scalars(select(Post).where(Post.deleted_at.is_not(None))).all()
    for post in trashed:
        _notify(post, "purged")
        db.session.delete(post)
    bump_content_version()
    db.session.commit()
    return len(trashed)


def fields_of(post: Post) -> PostFields:
    """The current fields of ``post``, e.g. to export it or to restore a revision onto it."""
    data = snapshot(post)
    return PostFields(
        title=post.title,
        source=post.source,
        slug=post.slug,
        lang=post.lang,
        status=post.status,
        published_at=post.published_at,
        category=data["category"],
        tags=data["tags"],
        meta=dict(post.meta),
        kind=post.kind,
    )
