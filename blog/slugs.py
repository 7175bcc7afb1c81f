"""Slugs: readable, stable URL names for posts, Chinese titles included."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import bindparam, select

from blog.models import Post, db

MAX_LENGTH = 80
_UNSAFE = re.compile(r"[^\w-]+", re.UNICODE)
_DASHES = re.compile(r"-{2,}")
_POSTS = Post.__table__
#: The post using a slug. Built once, in Core: a bulk import asks this for every post, and
#: an ORM query costs several times the lookup itself in Python.
_SLUG_OWNER = select(_POSTS.c.id).where(_POSTS.c.slug == bindparam("slug"))


class SlugError(ValueError):
    """A slug given by the author cannot be used; the message says why."""


def slug_from_title(title: str, style: str = "pinyin") -> str:
    """Derive a slug: pinyin for Chinese (``注意力机制`` -> ``zhu-yi-li-ji-zhi``) or Unicode."""
    text = unicodedata.normalize("NFKC", title).strip().lower()
    if style == "pinyin":
        # pypinyin loads its phrase dictionary (~0.4 s) on import: only when a slug is made.
        from pypinyin import lazy_pinyin

        text = " ".join(lazy_pinyin(text))
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        text = re.sub(r"[^a-z0-9]+", "-", text)
    else:
        text = _UNSAFE.sub("-", text).replace("_", "-")
    text = _DASHES.sub("-", text).strip("-")[:MAX_LENGTH].strip("-")
    return text or "post"


def check_slug(slug: str) -> str:
    """Validate an author-supplied slug; it becomes one URL path segment, nothing more."""
    cleaned = unicodedata.normalize("NFKC", str(slug)).strip().strip("/")
    if not cleaned:
        raise SlugError("slug is empty")
    if len(cleaned) > 200:
        raise SlugError("slug is longer than 200 characters")
    if "/" in cleaned or "\\" in cleaned or cleaned.startswith(".") or ".." in cleaned:
        raise SlugError(f"slug {slug!r} must be a single path segment without '/', '\\' or '..'")
    if any(unicodedata.category(c).startswith(("C", "Z")) and c != " " for c in cleaned):
        raise SlugError(f"slug {slug!r} contains control or separator characters")
    return cleaned.replace(" ", "-")


def unique_slug(base: str, exclude_id: int | None = None) -> str:
    """Return ``base`` or ``base-2``, ``base-3``… whichever no other post uses."""
    candidate, number = base, 1
    while True:
        owner = db.session.scalar(_SLUG_OWNER, {"slug": candidate})
        if owner is None or owner == exclude_id:
            return candidate
        number += 1
        candidate = f"{base}-{number}"
