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
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import load_only
from sqlalchemy.sql.expression import ColumnElement

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


def query_tokens(post: Post, body: str | None = None) -> list[str]:
    """The post's most frequent index tokens; single characters are left out as noise.

    The body's plain text is read from the search index (stored there at save time)
    unless the caller read it already (``body``), and only its beginning counts: choosing
    a post's neighbours costs the same for a long post.
    """
    if body is None:
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


def _weight(size: int) -> float:
    # A tag on two posts links them strongly; one on hundreds hardly at all.
    return 1 / math.log2(1 + size)


def _candidate_post() -> ColumnElement[bool]:
    """Posts that may be listed as related: posts (not pages), public or scheduled."""
    return and_(
        Post.kind == "post", Post.deleted_at.is_(None), Post.status.in_((PUBLISHED, SCHEDULED))
    )


@dataclass
class TagTable:
    """Every tag's size and candidate posts, read in two queries for a whole refresh.

    Choosing for every post then costs no tag query per post; scores are summed in tag
    order, as :func:`_tag_scores` sums them, so both give the same lists.
    """

    sizes: dict[int, int]
    #: Tag id -> ids of the candidate posts carrying it.
    posts: dict[int, list[int]]

    @classmethod
    def read(cls) -> TagTable:
        sizes: dict[int, int] = dict(
            db.session.execute(
                select(post_tags.c.tag_id, func.count()).group_by(post_tags.c.tag_id)
            ).all()
        )
        posts: dict[int, list[int]] = {}
        rows = db.session.execute(
            select(post_tags.c.tag_id, post_tags.c.post_id)
            .join(Post, Post.id == post_tags.c.post_id)
            .where(_candidate_post())
        )
        for tag_id, post_id in rows:
            posts.setdefault(tag_id, []).append(post_id)
        return cls(sizes, posts)

    def scores(self, post_id: int, tag_ids: list[int]) -> dict[int, float]:
        scores: dict[int, float] = {}
        for tag_id in sorted(tag_ids):
            weight = _weight(self.sizes.get(tag_id, 1))
            for other in self.posts.get(tag_id, ()):
                if other != post_id:
                    scores[other] = scores.get(other, 0.0) + weight
        return scores


def _tag_scores(post: Post, also: Collection[int]) -> dict[int, float]:
    """Tag scores of the best-scored posts sharing a tag with ``post``, and of ``also``.

    The database adds up each candidate's weights and keeps the best
    ``RELATED_COUNT + TEXT_CANDIDATES``: enough that no post left out could have reached
    the final list (at most ``TEXT_CANDIDATES`` of those kept get a text score on top),
    and a tag shared by every post no longer makes each post read every other post's
    tags. The kept posts' scores are then summed here, in tag order, so equal tag sets
    score exactly equal.
    """
    tag_ids = sorted(tag.id for tag in post.tags)
    if not tag_ids:
        return {}
    sizes: dict[int, int] = dict(
        db.session.execute(
            select(post_tags.c.tag_id, func.count())
            .where(post_tags.c.tag_id.in_(tag_ids))
            .group_by(post_tags.c.tag_id)
        ).all()
    )
    weights = {tag_id: _weight(sizes.get(tag_id, 1)) for tag_id in tag_ids}
    candidate = and_(post_tags.c.tag_id.in_(tag_ids), Post.id != post.id, _candidate_post())
    score = func.sum(case(weights, value=post_tags.c.tag_id, else_=0.0))
    best = db.session.scalars(
        select(post_tags.c.post_id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(candidate)
        .group_by(post_tags.c.post_id)
        .order_by(score.desc(), post_tags.c.post_id.desc())
        .limit(RELATED_COUNT + TEXT_CANDIDATES)
    ).all()
    kept = sorted({*best, *also})
    rows = db.session.execute(
        select(post_tags.c.post_id, post_tags.c.tag_id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(candidate, post_tags.c.post_id.in_(kept))
        .order_by(post_tags.c.post_id, post_tags.c.tag_id)
    ).all()
    scores: dict[int, float] = {}
    for post_id, tag_id in rows:
        scores[post_id] = scores.get(post_id, 0.0) + weights[tag_id]
    return scores


def related_ids(post: Post, tags: TagTable | None = None, body: str | None = None) -> list[int]:
    """The ids of the posts most related to ``post``, best first (at most RELATED_COUNT).

    ``tags`` (see :class:`TagTable`) and ``body`` (its indexed text) save queries per
    post when choosing for many posts.
    """
    if post.id is None or post.kind != "post":
        return []
    tokens = query_tokens(post, body)
    similar = backend().similar(tokens, post.id, TEXT_CANDIDATES) if tokens else []
    tag_ids = [tag.id for tag in post.tags]
    shared = tags.scores(post.id, tag_ids) if tags else _tag_scores(post, similar)
    scores = {pid: TAG_WEIGHT * score for pid, score in shared.items()}
    for rank, pid in enumerate(similar):
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
    """Choose every post's related posts again; commit; return how many posts.

    Per batch, the posts (without their bodies) and their indexed text are read in one
    query each, and the lists are written in one bulk ``UPDATE``.
    """
    ids = list(db.session.scalars(select(Post.id).where(Post.deleted_at.is_(None))))
    # Read once: a save during the run shifts a weight a little, and refreshes its own list.
    tags = TagTable.read()
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        bodies: dict[int, str] = {
            post_id: text or ""
            for post_id, text in db.session.execute(
                select(search_documents.c.post_id, search_documents.c.body_text).where(
                    search_documents.c.post_id.in_(chunk)
                )
            ).all()
        }
        posts = db.session.scalars(
            select(Post)
            .options(load_only(Post.id, Post.kind, Post.title, Post.category_id))
            .where(Post.id.in_(chunk))
        ).all()
        with db.session.no_autoflush:
            chosen = [
                {"id": post.id, "related": related_ids(post, tags, bodies.get(post.id, ""))}
                for post in posts
            ]
        if chosen:
            db.session.execute(update(Post), chosen)
        db.session.commit()
    return len(ids)
