"""Related posts: chosen when a post is saved, from shared tags and the search index.

A post's list is stored in ``Post.related`` (ids, best first) so a page view only loads
those posts. Each candidate scores by the tags it shares (a rare tag counts more than
one on every post) plus its rank among the posts sharing the post's distinctive words:
of the post's most frequent tokens (title and tags counted three times), the few that
the fewest other posts hold are looked up in the search index, and each post holding
one scores by how rare it is (see :class:`TextIndex`). Looking up only rare tokens keeps
the cost of a choice flat as the site grows.

A save does not choose lists itself: it notes the post in ``related_pending``, in its own
transaction, and the lists are chosen right after it commits (``blog/posts.py``: after
the response is sent, or at once outside a request). That choice refreshes the post's own
list and those of the posts it was and now is related to, so a new or changed post shows
up beside its neighbours; until it runs, pages show the lists as they were. A note left
by a crash between the commit and the choice is chosen by the next save's choice, by
``blog serve`` at start, and by ``blog rerender``/``blog reindex``, which choose every list.
Inside :func:`deferred` (a bulk import) the notes are chosen once, at the end, for every
post saved and its neighbours. Trashing a post chooses again, in its own transaction, the
lists that showed it. Lists are filtered again when shown (unpublished, scheduled, trash).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, lazyload, load_only, selectinload
from sqlalchemy.sql.expression import ColumnElement

from blog.models import PUBLISHED, SCHEDULED, Post, db, post_tags, related_pending
from blog.search import backend, index_tokens, normalize, search_documents

#: Posts shown under "related posts".
RELATED_COUNT = 5
#: Tokens of the post that make up its similarity query.
QUERY_TOKENS = 40
#: Of those, the ones other posts hold least, whose posts become text candidates.
RARE_TOKENS = 24
#: A token's posts are counted, and read, up to this many: a token that common says
#: little, and stops there (the newest of its posts are the candidates it brings).
COMMON_POSTS = 100
#: Candidates kept from the text match.
TEXT_CANDIDATES = 30
#: Tag sets whose scores a refresh keeps (see :class:`TagTable`).
TAG_SETS_KEPT = 256
#: How much one shared tag weighs against the best text match (which scores 1).
TAG_WEIGHT = 1.5
#: Characters of the body's text that the query tokens are taken from.
BODY_CHARS = 6000
#: The same, in the index's stored tokens (a Chinese character begins one token of two
#: characters and a space, so this is about BODY_CHARS characters of Chinese text).
STORED_BODY_CHARS = 3 * BODY_CHARS
#: Field weights when picking the query tokens.
FIELD_WEIGHTS = {"title": 3, "tags": 3, "category": 1, "body": 1}


def query_tokens(post: Post, body: str) -> dict[str, int]:
    """The most frequent index tokens of ``post`` whose indexed text is ``body``, weighted.

    Tokenises as the index does; only the body's first BODY_CHARS characters count.
    """
    raw = {
        "title": post.title,
        "tags": " ".join(tag.name for tag in post.tags),
        "category": post.category.name if post.category else "",
        "body": body[:BODY_CHARS],
    }
    return _weighted({name: index_tokens(normalize(text)) for name, text in raw.items()})


def _weighted(fields: dict[str, list[str]]) -> dict[str, int]:
    """The QUERY_TOKENS most frequent tokens of ``fields``, with their weighted counts, most
    frequent first; single characters are left out as noise."""
    counts: Counter[str] = Counter()
    for name, weight in FIELD_WEIGHTS.items():
        found = Counter(fields[name])  # counted in C: a body has thousands of tokens
        if weight > 1:
            found = Counter({token: n * weight for token, n in found.items()})
        counts = _added(counts, found)
    for token in [token for token in counts if len(token) < 2]:
        del counts[token]
    return dict(counts.most_common(QUERY_TOKENS))


def _added(counts: Counter[str], more: Counter[str]) -> Counter[str]:
    """``counts`` with ``more`` added, in ``Counter.update``'s order (``counts``' tokens, then
    the new ones of ``more`` in its order): the ties of ``most_common`` keep that order.

    The two are merged in C and only the tokens both hold are summed in Python;
    ``Counter.update`` would add a body's thousands of tokens one at a time.
    """
    merged = Counter({**counts, **more})
    for token in counts.keys() & more.keys():
        merged[token] = counts[token] + more[token]
    return merged


def post_queries(posts: Sequence[Post]) -> dict[int, tuple[dict[str, int], bool]]:
    """Each post's query tokens (see :func:`query_tokens`), and whether it is indexed.

    Where the index keeps each post's tokens (SQLite), they are read from it, the body's
    within its first STORED_BODY_CHARS characters: nothing is tokenised again. Otherwise
    the post's indexed text is read and tokenised. A post not in the index (protected)
    is known by its title, tags and category.
    """
    ids = [post.id for post in posts]
    stored = backend().stored_tokens(ids, STORED_BODY_CHARS) if ids else {}
    found = {pid: (_weighted(fields), True) for pid, fields in (stored or {}).items()}
    bodies: dict[int, str] = {}
    if stored is None:
        bodies = dict(
            db.session.execute(
                select(search_documents.c.post_id, search_documents.c.body_text).where(
                    search_documents.c.post_id.in_(ids)
                )
            ).all()
        )
    for post in posts:
        if post.id not in found:
            found[post.id] = (query_tokens(post, bodies.get(post.id) or ""), post.id in bodies)
    return found


@dataclass
class TextIndex:
    """What the search index knows about tokens, read as needed and kept for a batch.

    A post's text candidates are the posts holding one of its :data:`RARE_TOKENS` rarest
    query tokens held by another post; each scores the sum, over the rare tokens it
    holds, of the token's weight in the post times its inverse document frequency
    (BM25's). Counting and reading stop at :data:`COMMON_POSTS` posts a token, so one
    choice reads at most ``RARE_TOKENS * COMMON_POSTS`` ids whatever the site's size.
    Used for one post at save time, or kept across a whole refresh (``batch``), where
    the same tokens' counts and posts are read once for every post.
    """

    batch: bool = False
    #: Token -> posts holding it, counted up to COMMON_POSTS.
    counts: dict[str, int] = field(default_factory=dict)
    #: Token -> the posts holding it, newest first, at most COMMON_POSTS.
    posts: dict[str, list[int]] = field(default_factory=dict)
    _documents: int | None = None
    #: Candidate posts (see ``_candidate_post``) -> when published, read once for a batch.
    _eligible: dict[int, datetime | None] | None = None

    def prefetch(self, queries: Iterable[dict[str, int]]) -> None:
        """Read, in one query each, the counts of every token in ``queries`` not known yet."""
        wanted = list(dict.fromkeys(t for query in queries for t in query if t not in self.counts))
        if wanted:
            self.counts.update(backend().frequencies(wanted, COMMON_POSTS))

    def rare(self, query: dict[str, int], indexed: bool) -> list[str]:
        """The query's tokens another post holds, fewest holders first (then most weight).

        ``indexed``: the post itself is in the search index, so it is one of the holders.
        """
        self.prefetch([query])
        own = 1 if indexed else 0
        held = [t for t in query if self.counts.get(t, 0) > own]
        return sorted(held, key=lambda t: self.counts[t])[:RARE_TOKENS]

    def similar(self, query: dict[str, int], post_id: int, indexed: bool) -> list[int]:
        """Up to TEXT_CANDIDATES candidate posts sharing the query's rare tokens, best first."""
        tokens = self.rare(query, indexed)
        missing = [t for t in tokens if t not in self.posts]
        if missing:
            self.posts.update(backend().postings(missing, COMMON_POSTS))
        documents = self._document_count()
        shared: dict[int, float] = {}
        so_far = shared.get
        for token in tokens:
            count = self.counts[token]
            weight = query[token] * math.log(1 + (documents - count + 0.5) / (count + 0.5))
            for other in self.posts[token]:
                shared[other] = so_far(other, 0.0) + weight
        shared.pop(post_id, None)
        published = self._published(shared)

        def order(pid: int) -> tuple[float, datetime, int]:
            # As the search page orders equal scores: newest first.
            return shared[pid], published[pid] or datetime.min, pid

        return heapq.nlargest(TEXT_CANDIDATES, published, key=order)

    def _document_count(self) -> int:
        if self._documents is None or not self.batch:
            self._documents = backend().document_count()
        return self._documents

    def _published(self, ids: Collection[int]) -> dict[int, datetime | None]:
        """The candidate posts among ``ids``, with when each was published."""
        if self.batch:
            if self._eligible is None:
                self._eligible = _candidates_published(None)
            return {pid: self._eligible[pid] for pid in ids if pid in self._eligible}
        return _candidates_published(ids) if ids else {}


def _candidates_published(ids: Collection[int] | None) -> dict[int, datetime | None]:
    """Candidate posts (all, or those among ``ids``) and when each was published."""
    query = select(Post.id, Post.published_at).where(_candidate_post())
    if ids is not None:
        query = query.where(Post.id.in_(list(ids)))
    return dict(db.session.execute(query).all())


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
    #: Tag set -> every candidate's score and the best-scored ids (see :meth:`scores`);
    #: posts with the same tags share them, and a tag on thousands of posts is summed once.
    _sets: dict[tuple[int, ...], tuple[dict[int, float], list[int]]] = field(default_factory=dict)

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

    def scores(self, post_id: int, tag_ids: list[int], also: Collection[int]) -> dict[int, float]:
        """What :func:`_tag_scores` gives, from the table: the best-scored posts sharing a
        tag with the post, and the posts ``also``."""
        key = tuple(sorted(tag_ids))
        if key not in self._sets:
            if len(self._sets) >= TAG_SETS_KEPT:
                self._sets.clear()
            every: dict[int, float] = {}
            for tag_id in key:
                weight = _weight(self.sizes.get(tag_id, 1))
                for other in self.posts.get(tag_id, ()):
                    every[other] = every.get(other, 0.0) + weight
            # One more than kept: the post itself may be among them.
            best = heapq.nsmallest(
                RELATED_COUNT + TEXT_CANDIDATES + 1, every, key=lambda pid: (-every[pid], -pid)
            )
            self._sets[key] = every, best
        every, best = self._sets[key]
        kept = [pid for pid in best if pid != post_id][: RELATED_COUNT + TEXT_CANDIDATES]
        return {pid: every[pid] for pid in (*kept, *also) if pid in every and pid != post_id}


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


def related_ids(
    post: Post, tags: TagTable | None = None, text: TextIndex | None = None
) -> list[int]:
    """The ids of the posts most related to ``post``, best first (at most RELATED_COUNT).

    ``tags`` (see :class:`TagTable`) and ``text`` (a :class:`TextIndex` kept for a batch)
    save queries when choosing for many posts.
    """
    if post.id is None or post.kind != "post":
        return []
    query, indexed = post_queries([post])[post.id]
    return _choose(post, query, indexed, tags, text)


def _choose(
    post: Post,
    query: dict[str, int],
    indexed: bool,
    tags: TagTable | None,
    text: TextIndex | None,
) -> list[int]:
    """:func:`related_ids` of ``post`` whose query tokens are ``query`` (``indexed``: the
    post is in the search index)."""
    text = text or TextIndex()
    similar = text.similar(query, post.id, indexed) if query else []
    tag_ids = [tag.id for tag in post.tags]
    shared = tags.scores(post.id, tag_ids, similar) if tags else _tag_scores(post, similar)
    scores = {pid: TAG_WEIGHT * score for pid, score in shared.items()}
    for rank, pid in enumerate(similar):
        scores[pid] = scores.get(pid, 0.0) + 1 / (1 + rank)
    return heapq.nsmallest(RELATED_COUNT, scores, key=lambda pid: (-scores[pid], -pid))


#: Posts noted at most this many are chosen one by one, each with its own queries; more (a
#: crash's leftovers after a bulk import) in batches, as ``blog rerender`` does.
ONE_BY_ONE = 20

#: Set inside :func:`deferred`: the notes are chosen at the block's end, not after each save.
_deferring: ContextVar[bool] = ContextVar("related_deferring", default=False)


def is_deferred() -> bool:
    """Whether a :func:`deferred` block is running (its saves' lists wait for its end)."""
    return _deferring.get()


#: What :func:`note_pending` runs, by dialect, built once (an upsert built per save costs
#: more than running it).
_NOTES = {
    dialect: upsert(related_pending)
    .values(post_id=bindparam("post_id"), generation=0)
    .on_conflict_do_update(
        index_elements=[related_pending.c.post_id],
        set_={"generation": related_pending.c.generation + 1},
    )
    for dialect, upsert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


def note_pending(post_id: int) -> None:
    """Note, in the caller's transaction, that the lists around ``post_id`` are to be chosen.

    A post noted already has its ``generation`` counted up, so a choice under way from the
    earlier text keeps the note (see :func:`forget_notes`).
    """
    statement = _NOTES.get(db.session.get_bind().dialect.name)
    if statement is not None:
        db.session.execute(statement, {"post_id": post_id})
        return
    changed = db.session.execute(
        update(related_pending)
        .where(related_pending.c.post_id == post_id)
        .values(generation=related_pending.c.generation + 1)
    )
    if getattr(changed, "rowcount", 0) == 0:
        db.session.execute(related_pending.insert().values(post_id=post_id, generation=0))


def pending_notes() -> dict[int, int]:
    """Every noted post id, with the generation noted."""
    return dict(
        db.session.execute(select(related_pending.c.post_id, related_pending.c.generation)).all()
    )


def forget_notes(notes: dict[int, int]) -> None:
    """Delete the ``notes`` whose lists were chosen, in the caller's transaction; a post
    saved again since (its generation moved on) stays noted."""
    if notes:
        db.session.execute(
            delete(related_pending).where(
                related_pending.c.post_id == bindparam("id"),
                related_pending.c.generation == bindparam("noted"),
            ),
            [{"id": pid, "noted": generation} for pid, generation in notes.items()],
        )


def lists_with_neighbours(ids: Collection[int]) -> dict[int, list[int]]:
    """The new lists of the posts ``ids`` and of the posts each was and now is related to,
    for those whose list changes; reads only (the caller writes them, see :func:`store_lists`).

    A trashed post's list is empty; a neighbour in the trash keeps its own.
    """
    text = TextIndex()
    chosen: dict[int, list[int]] = {}
    stored: dict[int, list[int]] = {}
    others: dict[int, None] = {}
    with db.session.no_autoflush:
        for post in db.session.scalars(_light_posts(sorted(ids))):
            stored[post.id] = list(post.related or [])
            chosen[post.id] = related_ids(post, text=text) if post.deleted_at is None else []
            others.update(dict.fromkeys([*stored[post.id], *chosen[post.id]]))
        wanted = [pid for pid in others if pid not in chosen]
        for other in db.session.scalars(_light_posts(wanted)) if wanted else ():
            if other.deleted_at is None:
                stored[other.id] = list(other.related or [])
                chosen[other.id] = related_ids(other, text=text)
    return {pid: new for pid, new in chosen.items() if new != stored[pid]}


def _light_posts(ids: list[int]) -> Select[Any]:
    """The posts ``ids`` with what a choice reads (not their bodies), tags and category."""
    return (
        select(Post)
        .options(
            load_only(
                Post.id, Post.kind, Post.title, Post.category_id, Post.deleted_at, Post.related
            ),
            selectinload(Post.tags),
            joinedload(Post.category),
            lazyload(Post.categories),  # a choice reads the primary category alone
        )
        .where(Post.id.in_(ids))
    )


def store_lists(lists: dict[int, list[int]]) -> None:
    """Write ``lists`` (post id -> related ids) in one statement, in the caller's transaction."""
    if lists:
        db.session.execute(
            update(Post), [{"id": pid, "related": related} for pid, related in lists.items()]
        )


def refresh_noted(notes: dict[int, int]) -> None:
    """Choose in batches the lists of the noted posts, then of every post they were or now
    are related to; forget the notes; commit (a bulk import's end, a crash's leftovers)."""
    saved = sorted(notes)
    before = _listed(saved)
    refresh_lists(saved)
    refresh_lists(sorted((before | _listed(saved)) - set(saved)))
    forget_notes(notes)
    db.session.commit()


def _listed(ids: list[int]) -> set[int]:
    """Every post id the posts ``ids`` list as related."""
    return {
        pid
        for listed in db.session.scalars(select(Post.related).where(Post.id.in_(ids)))
        for pid in listed or []
    }


@contextmanager
def deferred() -> Iterator[None]:
    """Choose the related lists of the block's saves at its end (a bulk import).

    Each save inside notes its post as usual (see :func:`note_pending`) but chooses no
    list; at the end every noted post's list is chosen (in batches, see
    :func:`refresh_lists`), then those of every post they were or now are related to, as
    a save would have done one by one. The block's own transactions are committed by then;
    the lists are committed too. A block left by an exception chooses no list: its notes
    stay, for the next save's choice, ``blog serve`` at start or ``blog rerender``.
    """
    if _deferring.get():  # already deferred by an outer block
        yield
        return
    token = _deferring.set(True)
    try:
        yield
    finally:
        _deferring.reset(token)
    notes = pending_notes()
    if notes:
        refresh_noted(notes)


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
    text = TextIndex()
    for other in db.session.scalars(select(Post).where(Post.id.in_(showing))):
        other.related = related_ids(other, text=text)


def refresh_all(batch: int = 200) -> int:
    """Choose every post's related posts again, and forget the notes saves left (see
    :func:`note_pending`); commit; return how many posts."""
    notes = pending_notes()  # chosen by this run: every list is
    ids = list(db.session.scalars(select(Post.id).where(Post.deleted_at.is_(None))))
    refresh_lists(ids, batch)
    forget_notes(notes)
    db.session.commit()
    return len(ids)


def refresh_lists(ids: Collection[int], batch: int = 200) -> None:
    """Choose the related posts of the posts ``ids`` (trashed ones: none) again; commit.

    The tag table and the search index's counts are read once for the whole run. Per
    batch, the posts (without their bodies, with their tags and category), their indexed
    text and the counts of their tokens are read in one query each, and the lists are
    written in one bulk ``UPDATE``.
    """
    ids = sorted(ids)
    if not ids:
        return
    # Read once: a save during the run shifts a weight a little, and refreshes its own list.
    tags = TagTable.read()
    text = TextIndex(batch=True)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        posts = db.session.scalars(_light_posts(chunk)).all()
        with db.session.no_autoflush:
            chosen: dict[int, list[int]] = {post.id: [] for post in posts}
            live = [p for p in posts if p.kind == "post" and p.deleted_at is None]
            found = post_queries(live)
            text.prefetch(query for query, _indexed in found.values())
            for post in live:
                query, indexed = found[post.id]
                chosen[post.id] = _choose(post, query, indexed, tags, text)
        if chosen:
            rows = [{"id": pid, "related": related} for pid, related in chosen.items()]
            db.session.execute(update(Post), rows)
        db.session.commit()
