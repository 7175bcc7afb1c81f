"""Old slugs of renamed posts, so their URLs keep working with a 301."""

from __future__ import annotations

from blog.models import Post, SlugRedirect, db
from blog.posts import PostFields, save_post


def save_with_redirect(
    fields: PostFields, *, author: str, post: Post, expected_version: int | None, change_slug: bool
) -> Post:
    """``save_post`` for an existing post, recording the old slug when it is renamed."""
    old_slug = post.slug
    saved = save_post(
        fields, author=author, post=post, expected_version=expected_version, change_slug=change_slug
    )
    if saved.slug != old_slug:
        existing = db.session.get(SlugRedirect, old_slug)
        if existing is None:
            db.session.add(SlugRedirect(old_slug=old_slug, post_id=saved.id))
        else:
            existing.post_id = saved.id
        # A post renamed back to an earlier slug must not redirect away from itself.
        stale = db.session.get(SlugRedirect, saved.slug)
        if stale is not None:
            db.session.delete(stale)
        db.session.commit()
    return saved
