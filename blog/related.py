"""Related posts: chosen when a post is saved, from shared tags and the search index.

A post's list is stored in ``Post.related`` (ids, best first) so a page view only loads
those posts. Each candidate scores by the tags it shares (a rare tag counts more than
one on every post) plus its rank in a search-index query made of the post's most
frequent tokens (title and tags counted three times). Saving a post also refreshes the
lists of the posts it is related to, before and after, so a new or changed post shows up
beside its neighbours without a full refresh; ``blog rerender`` and ``blog reindex``
refresh every list; trashing a post chooses again the lists that showed it. Lists are
filtered again when shown (unpublished, scheduled, trash).
"""

from __future__ import annotations

import math
from collections import Counter

from sqlalchemy import func, select

from blog.models import PUBLISHED, SCHEDULED, Post, db, post_tags
from blog.search import backend, index_tokens, normalize, search_documents

#: Posts shown under "related posts".
RELATED_COUNT = 5
#: Tokens of the post that make up its similarity query.
QUERY_TOKENS = 40
#: Candidates read from the search index.
TEXT_CANDIDATES = 30
#: How much one shared tag weighs against the best text match (which scores 1).
TAG_WEIGHT = 1.5
#: Characters of the body's text that the query tokens are taken from.
BODY_CHARS = 6000
#: Field weights when picking the query tokens.
FIELD_WEIGHTS = {"title": 3, "tags": 3, "category": 1, "body": 1}


def query_tokens(post: Post) -> list[str]:
    """The post's most frequent index tokens; single characters are left out as noise.

    The body's plain text is read from the search index (stored there at save time), and
    only its beginning counts: choosing a post's neighbours costs the same for a long post.
    """
    body = db.session.scalar(
        select(search_documents.c.body_text).where(search_documents.c.post_id == post.id)
    )
    raw = {
        "title": post.title,
        "tags": " ".join(tag.name for tag in post.tags),
        "category": post.category.name if post.category else "",
        "body": (body or "")[:BODY_CHARS],
    }
    counts: Counter[str] = Counter()
    for name, weight in FIELD_WEIGHTS.items():
        for token in index_tokens(normalize(raw[name])):
            if len(token) > 1:
                counts[token] += weight
    return [token for token, _count in counts.most_common(QUERY_TOKENS)]


def _tag_scores(post: Post) -> dict[int, float]:
    tag_ids = [tag.id for tag in post.tags]
    if not tag_ids:
        return {}
    sizes: dict[int, int] = dict(
        db.session.execute(
            select(post_tags.c.tag_id, func.count())
            .where(post_tags.c.tag_id.in_(tag_ids))
            .group_by(post_tags.c.tag_id)
        ).all()
    )
    rows = db.session.execute(
        select(post_tags.c.post_id, post_tags.c.tag_id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(
            post_tags.c.tag_id.in_(tag_ids),
            Post.id != post.id,
            Post.kind == "post",
            Post.deleted_at.is_(None),
            Post.status.in_((PUBLISHED, SCHEDULED)),
        )
    ).all()
    scores: dict[int, float] = {}
    for post_id, tag_id in rows:
        # A tag on two posts links them strongly; one on hundreds hardly at all.
        scores[post_id] = scores.get(post_id, 0.0) + 1 / math.log2(1 + sizes.get(tag_id, 1))
    return scores


def related_ids(post: Post) -> list[int]:
    """The ids of the posts most related to ``post``, best first (at most RELATED_COUNT)."""
    if post.id is None or post.kind != "post":
        return []
    scores = {pid: TAG_WEIGHT * score for pid, score in _tag_scores(post).items()}
    tokens = query_tokens(post)
    if tokens:
        for rank, pid in enumerate(backend().similar(tokens, post.id, TEXT_CANDIDATES)):
            scores[pid] = scores.get(pid, 0.0) + 1 / (1 + rank)
    best = sorted(scores.items(), key=lambda item: (-item[1], -item[0]))
    return [pid for pid, _score in best[:RELATED_COUNT]]


def refresh_related(post: Post, neighbours: bool = True) -> None:
    """Choose ``post``'s related posts again, in the caller's transaction.

    With ``neighbours``, the posts it was and now is related to are refreshed as well
    (their own lists may now include, drop or reorder ``post``).
    """
    before = list(post.related or [])
    post.related = related_ids(post) if post.deleted_at is None else []
    if not neighbours:
        return
    db.session.flush()
    others = [pid for pid in dict.fromkeys([*before, *post.related]) if pid != post.id]
    for other in db.session.scalars(select(Post).where(Post.id.in_(others))):
        if other.deleted_at is None:
            other.related = related_ids(other)


def forget_trashed(post: Post) -> None:
    """Choose again, in the caller's transaction, the lists that show ``post`` (just trashed).

    Relatedness is not mutual, so the posts showing ``post`` are found by reading every
    live post's list (ids only: a narrow scan, and trashing is rare); each then gets its
    next best in the trashed post's place.
    """
    post.related = []
    rows = db.session.execute(
        select(Post.id, Post.related).where(Post.deleted_at.is_(None), Post.id != post.id)
    ).all()
    showing = [row.id for row in rows if post.id in (row.related or [])]
    for other in db.session.scalars(select(Post).where(Post.id.in_(showing))):
        other.related = related_ids(other)


def refresh_all(batch: int = 200) -> int:
    """Choose every post's related posts again; commit; return how many posts."""
    ids = list(db.session.scalars(select(Post.id).where(Post.deleted_at.is_(None))))
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        for post in db.session.scalars(select(Post).where(Post.id.in_(chunk))):
            post.related = related_ids(post)
        db.session.commit()
    return len(ids)
