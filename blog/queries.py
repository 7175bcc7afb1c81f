"""Read-side queries: which posts are public, and listing pages that skip body columns.

Listings page by keyset, not OFFSET: for each listing the (published_at, id) key of every
page's first post is computed once per content version (one index-only pass, kept in memory
per app), then any page is one indexed range read of ``per_page`` rows, so page 5,000 costs
what page 1 costs while readers still see numbered pages.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import Select, and_, bindparam, func, literal_column, or_, select, tuple_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import defer, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from blog.dates import to_local
from blog.models import (
    PUBLISHED,
    SCHEDULED,
    Category,
    Link,
    Post,
    SiteState,
    SlugRedirect,
    Tag,
    db,
    post_categories,
    post_tags,
    utcnow,
)

#: Listings never load these: a page of ten posts would otherwise read megabytes.
HEAVY_COLUMNS = (Post.source, Post.body_html, Post.body_text, Post.toc)
#: For posts a page only links to (previous/next, related): their categories and tags are
#: loaded if a theme asks for them, instead of two more queries on every post page.
LINKED_POST_OPTIONS = (lazyload(Post.categories), lazyload(Post.tags))
#: Where a listing page starts: the (published_at, id) key of its first post.
PageStart = tuple[datetime, int]

#: The ``SiteState`` row whose value changes whenever any public page may change.
CONTENT_VERSION_KEY = "content"

#: A post readers may see has one of these statuses. They are written into the SQL as
#: constants: a tuple of values given to ``in_`` becomes an "expanding" parameter, whose
#: statement SQLAlchemy rewrites with a regular expression on every execution, and every
#: statement of every public page has this condition (some twice or three times).
_SHOWN_STATUS = Post.status.in_(
    [literal_column(f"'{status}'") for status in (PUBLISHED, SCHEDULED)]
)


def public_condition(kind: str = "post", until: PageStart | None = None) -> Any:
    """SQL condition for posts readers may see now (scheduled ones once their time comes).

    With ``until``, a ``(published_at, id)`` key taken from a public post, the condition
    keeps posts at or before that key instead of before "now": the key is in the past, and
    a single bound lets the database walk the listing index straight from it.
    """
    if until is None:
        time_bound = Post.published_at <= utcnow()
    else:
        time_bound = tuple_(Post.published_at, Post.id) <= tuple_(*until)
    return and_(
        Post.kind == kind,
        Post.deleted_at.is_(None),
        _SHOWN_STATUS,
        time_bound,
    )


#: For posts whose categories and tags :func:`load_terms` reads: the relationships'
#: own "selectin" loading costs about twice what these two plain statements do.
TERMS_LOADED_APART = (lazyload(Post.categories), lazyload(Post.tags))
_CATEGORIES_OF = (
    select(post_categories.c.post_id, Category)
    .join(Category, Category.id == post_categories.c.category_id)
    .where(post_categories.c.post_id.in_(bindparam("post_ids", expanding=True)))
    .order_by(post_categories.c.position)
)
_TAGS_OF = (
    select(post_tags.c.post_id, Tag)
    .join(Tag, Tag.id == post_tags.c.tag_id)
    .where(post_tags.c.post_id.in_(bindparam("post_ids", expanding=True)))
    .order_by(Tag.name)
)


def load_terms(posts: list[Post]) -> None:
    """Load the categories (primary first) and tags of ``posts``, two statements in all."""
    if not posts:
        return
    values = {"post_ids": list({post.id for post in posts})}
    categories: dict[int, list[Category]] = {post.id: [] for post in posts}
    tags: dict[int, list[Tag]] = {post.id: [] for post in posts}
    for post_id, category in db.session.execute(_CATEGORIES_OF, values):
        categories[post_id].append(category)
    for post_id, tag in db.session.execute(_TAGS_OF, values):
        tags[post_id].append(tag)
    for post in posts:
        set_committed_value(post, "categories", categories[post.id])
        set_committed_value(post, "tags", tags[post.id])


def listing_query(
    category: Category | None = None, tag: Tag | None = None, until: PageStart | None = None
) -> Select[Any]:
    query = select(Post).where(public_condition(until=until))
    query = query.options(*(defer(c) for c in HEAVY_COLUMNS))
    if category is not None:
        # Every post the category is one of, not only those it is the primary one of.
        query = query.where(
            Post.id.in_(
                select(post_categories.c.post_id).where(
                    post_categories.c.category_id == category.id
                )
            )
        )
    if tag is not None:
        query = query.where(
            Post.id.in_(select(post_tags.c.post_id).where(post_tags.c.tag_id == tag.id))
        )
    return query


@dataclass
class Pagination:
    """Where one page sits among its siblings: post listings and comment threads share it."""

    number: int
    count: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count


@dataclass
class Page(Pagination):
    """One page of a listing."""

    posts: list[Post] = field(default_factory=list)


#: Listings whose page boundaries each app keeps (home, categories, tags; least recent dropped).
MAX_LISTING_INDEXES = 256


@dataclass(frozen=True)
class ListingIndex:
    """Where each page of one listing starts, valid for one content version until ``expires``."""

    starts: list[PageStart]
    total: int
    version: int
    expires: datetime | None


class ListingIndexes:
    """The page-boundary tables of one app, least recently used dropped first."""

    def __init__(self) -> None:
        self.tables: OrderedDict[tuple[Any, ...], ListingIndex] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...], version: int) -> ListingIndex | None:
        with self.lock:
            found = self.tables.get(key)
            if found is None or found.version != version:
                return None
            if found.expires is not None and utcnow() >= found.expires:
                return None
            self.tables.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], index: ListingIndex) -> None:
        with self.lock:
            self.tables[key] = index
            self.tables.move_to_end(key)
            while len(self.tables) > MAX_LISTING_INDEXES:
                self.tables.popitem(last=False)


def _indexes() -> ListingIndexes:
    indexes: ListingIndexes | None = current_app.extensions.get("blog.listing_indexes")
    if indexes is None:
        indexes = current_app.extensions.setdefault("blog.listing_indexes", ListingIndexes())
    return indexes


def next_scheduled_publish() -> datetime | None:
    """When the next scheduled post becomes public (cached pages and listings expire then)."""
    return db.session.scalar(
        select(func.min(Post.published_at)).where(
            Post.deleted_at.is_(None),
            _SHOWN_STATUS,
            Post.published_at > utcnow(),
        )
    )


def build_listing_index(per_page: int, version: int, **filters: Any) -> ListingIndex:
    """Read the key of every ``per_page``-th post of a listing in one pass over the index."""
    expires = next_scheduled_publish()
    keys = (
        listing_query(**filters)
        .with_only_columns(
            Post.published_at,
            Post.id,
            func.row_number().over(order_by=(Post.published_at.desc(), Post.id.desc())).label("rn"),
            func.count().over().label("total"),
        )
        .subquery()
    )
    rows = db.session.execute(
        select(keys.c.published_at, keys.c.id, keys.c.total)
        .where((keys.c.rn - 1) % per_page == 0)
        .order_by(keys.c.rn)
    ).all()
    starts = [(row.published_at, row.id) for row in rows]
    total = int(rows[0].total) if rows else 0
    return ListingIndex(starts=starts, total=total, version=version, expires=expires)


def listing_index(per_page: int, **filters: Any) -> ListingIndex:
    """The page boundaries of a listing, rebuilt only when the content version changed."""
    version = content_version()
    key = (
        per_page,
        *sorted((name, value.id) for name, value in filters.items() if value is not None),
    )
    indexes = _indexes()
    found = indexes.get(key, version)
    if found is None:
        found = build_listing_index(per_page, version, **filters)
        indexes.put(key, found)
    return found


def listing_page(number: int, per_page: int, **filters: Any) -> Page | None:
    """Return page ``number`` (1-based) of a listing, or ``None`` when it does not exist."""
    index = listing_index(per_page, **filters)
    count = max(1, len(index.starts))
    if number < 1 or number > count:
        return None
    if not index.starts:
        return Page(number, count, 0)
    at, first_id = index.starts[number - 1]
    given = {name: value for name, value in filters.items() if value is not None}
    if len(given) > 1:  # no page of the site lists by two subjects; built on demand
        query = (
            listing_query(**filters, until=(at, first_id))
            .options(*TERMS_LOADED_APART)
            .order_by(Post.published_at.desc(), Post.id.desc())
            .limit(per_page)
        )
        posts = list(db.session.scalars(query))
    else:
        subject, value = next(iter(given.items()), (None, None))
        values = {"until_at": at, "until_id": first_id, "per_page": per_page}
        if value is not None:
            values["subject_id"] = value.id
        posts = list(db.session.scalars(_LISTING_PAGES[subject], values))
    load_terms(posts)
    return Page(number, count, index.total, posts)


# -- a post page's statements, built once ----------------------------------------------
# SQLAlchemy builds a statement's expression tree anew on every call of ``select(...)``,
# which was a good part of a post page's miss; these are built at import and take their
# values as bound parameters (the same SQL as ``public_condition`` gives).

#: ``public_condition(kind)`` with ``kind`` and ``now`` bound at execution.
_PUBLIC_NOW = and_(
    Post.kind == bindparam("kind"),
    Post.deleted_at.is_(None),
    _SHOWN_STATUS,
    Post.published_at <= bindparam("now"),
)
#: ``public_condition(until=...)`` with the key bound at execution.
_PUBLIC_UNTIL = and_(
    Post.kind == "post",
    Post.deleted_at.is_(None),
    _SHOWN_STATUS,
    tuple_(Post.published_at, Post.id)
    <= tuple_(
        bindparam("until_at", type_=Post.published_at.type),
        bindparam("until_id", type_=Post.id.type),
    ),
)
_LISTED = select(Post).options(*(defer(c) for c in HEAVY_COLUMNS), *TERMS_LOADED_APART)
_NEWEST_FIRST = (Post.published_at.desc(), Post.id.desc())
#: A listing page (``listing_query`` with ``until``), by what it lists: every post, or the
#: posts of the category or tag ``subject_id``.
_LISTING_PAGES = {
    subject: _LISTED.where(_PUBLIC_UNTIL, *condition)
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("per_page"))
    for subject, condition in (
        (None, ()),
        (
            "category",
            (
                Post.id.in_(
                    select(post_categories.c.post_id).where(
                        post_categories.c.category_id == bindparam("subject_id")
                    )
                ),
            ),
        ),
        (
            "tag",
            (
                Post.id.in_(
                    select(post_tags.c.post_id).where(post_tags.c.tag_id == bindparam("subject_id"))
                ),
            ),
        ),
    )
}
#: The post itself with its categories joined, primary first (one row per category; a post
#: has one or two, so its columns rarely repeat), instead of a statement of their own.
_FIND_PUBLIC = (
    select(Post, Category)
    .outerjoin(post_categories, post_categories.c.post_id == Post.id)
    .outerjoin(Category, Category.id == post_categories.c.category_id)
    .where(_PUBLIC_NOW, Post.slug == bindparam("slug"))
    .order_by(post_categories.c.position)
    .options(*TERMS_LOADED_APART)
)
#: The tags of one post (what ``_TAGS_OF`` reads for many), without an expanding ``IN``.
_TAGS_OF_ONE = (
    select(Tag)
    .join(post_tags, post_tags.c.tag_id == Tag.id)
    .where(post_tags.c.post_id == bindparam("post_id"))
    .order_by(Tag.name)
)
#: What a page shows of a post it links to is its title, slug, language and date: the JSON
#: columns of the seven or so linked posts (four each, decoded on every miss) are read only
#: if a theme asks for them.
LINKED_UNREAD = (*HEAVY_COLUMNS, Post.meta, Post.render_meta, Post.render_problems, Post.related)
_LINKED = (
    select(Post)
    .where(_PUBLIC_NOW)
    .options(*(defer(c) for c in LINKED_UNREAD), *LINKED_POST_OPTIONS)
)
_OLDER = _LINKED.where(
    or_(
        Post.published_at < bindparam("at"),
        and_(Post.published_at == bindparam("at"), Post.id < bindparam("id")),
    )
).order_by(Post.published_at.desc(), Post.id.desc())
_NEWER = _LINKED.where(
    or_(
        Post.published_at > bindparam("at"),
        and_(Post.published_at == bindparam("at"), Post.id > bindparam("id")),
    )
).order_by(Post.published_at.asc(), Post.id.asc())
#: Previous and next post, by whether protected posts are passed over (``open_only``).
_NEIGHBOURS = {
    open_only: tuple(
        (query.where(Post.password_hash.is_(None)) if open_only else query).limit(1)
        for query in (_OLDER, _NEWER)
    )
    for open_only in (False, True)
}
_RELATED = _LINKED.where(Post.id.in_(bindparam("ids", expanding=True)))
#: A post page's linked posts in one statement: the related ones by id, and the previous
#: and next post as the ids the two neighbour statements above would find.
_AROUND = {
    open_only: _LINKED.where(
        or_(
            Post.id.in_(bindparam("ids", expanding=True)),
            *(
                Post.id == query.with_only_columns(Post.id).scalar_subquery()
                for query in _NEIGHBOURS[open_only]
            ),
        )
    )
    for open_only in (False, True)
}


def find_public(slug: str, kind: str = "post") -> Post | None:
    """The public post (or page) at ``slug``, with its categories and tags loaded (two
    statements, as :func:`load_terms` would load them)."""
    rows = db.session.execute(_FIND_PUBLIC, {"kind": kind, "now": utcnow(), "slug": slug}).all()
    if not rows:
        return None
    found: Post = rows[0][0]
    categories = [category for _post, category in rows if category is not None]
    set_committed_value(found, "categories", categories)
    set_committed_value(
        found, "tags", list(db.session.scalars(_TAGS_OF_ONE, {"post_id": found.id}))
    )
    return found


def neighbours(post: Post, *, open_only: bool = False) -> tuple[Post | None, Post | None]:
    """Return the previous (older) and next (newer) public posts around ``post``.

    ``open_only`` passes over password-protected posts: the static build leaves them out,
    so its previous/next links lead to the nearest post it does write.
    """
    assert post.published_at is not None
    values = {"kind": "post", "now": utcnow(), "at": post.published_at, "id": post.id}
    older_query, newer_query = _NEIGHBOURS[open_only]
    older = db.session.scalar(older_query, values)
    newer = db.session.scalar(newer_query, values)
    return older, newer


class Surroundings(NamedTuple):
    """The posts a post page links to besides itself."""

    older: Post | None
    newer: Post | None
    #: ``post.related`` readers may see now, in order (protected ones included).
    related: list[Post]


def surroundings(post: Post, *, open_only: bool = False) -> Surroundings:
    """:func:`neighbours` and :func:`related_posts` of ``post`` read in one statement."""
    assert post.published_at is not None
    wanted = _related_ids(post)
    values = {
        "kind": "post",
        "now": utcnow(),
        "at": post.published_at,
        "id": post.id,
        "ids": wanted,
    }
    found = {p.id: p for p in db.session.scalars(_AROUND[open_only], values)}
    here = (post.published_at, post.id)
    # The statement's rows are the two neighbours and the related posts; a related post
    # may lie on either side too, but a neighbour is by definition the nearest one there.
    older = newer = None
    for candidate in found.values():
        if open_only and candidate.is_protected:
            continue  # only a related post can be one here: it is no neighbour
        assert candidate.published_at is not None
        key = (candidate.published_at, candidate.id)
        if key < here and (older is None or key > (older.published_at, older.id)):
            older = candidate
        elif key > here and (newer is None or key < (newer.published_at, newer.id)):
            newer = candidate
    return Surroundings(older, newer, [found[pid] for pid in wanted if pid in found])


def archive() -> list[tuple[int, list[tuple[int, list[Post]]]]]:
    """Every public post grouped by year then month, newest first.

    The archive shows titles and dates only: categories and tags of every post are not
    read unless a theme asks for them.
    """
    posts = db.session.scalars(
        listing_query()
        .options(*LINKED_POST_OPTIONS)
        .order_by(Post.published_at.desc(), Post.id.desc())
    ).all()
    years: dict[int, dict[int, list[Post]]] = {}
    for post in posts:
        assert post.published_at is not None
        local = to_local(post.published_at)
        years.setdefault(local.year, {}).setdefault(local.month, []).append(post)
    return [(year, list(months.items())) for year, months in years.items()]


_CATEGORY_NAMED = select(Category).where(Category.name == bindparam("name"))
_TAG_NAMED = select(Tag).where(Tag.name == bindparam("name"))


def category_named(name: str) -> Category | None:
    return db.session.scalar(_CATEGORY_NAMED, {"name": name})


def tag_named(name: str) -> Tag | None:
    return db.session.scalar(_TAG_NAMED, {"name": name})


def redirect_target(old_slug: str, kind: str) -> Post | None:
    """The public post that used to be at ``old_slug`` (renamed since), if any."""
    post = db.session.scalar(
        select(Post)
        .join(SlugRedirect, SlugRedirect.post_id == Post.id)
        .where(SlugRedirect.old_slug == old_slug)
    )
    if post is None or post.kind != kind or not post.is_public:
        return None
    return post


_CONTENT_VERSION = select(SiteState.value).where(SiteState.key == CONTENT_VERSION_KEY)


def content_version() -> int:
    """The site's content version (bumped by every write, read by the page cache)."""
    value = db.session.scalar(_CONTENT_VERSION)
    return int(value or 0)


#: At most this many pinned posts head the home page (the rest stay in their place by date).
MAX_PINNED = 10


_PINNED = (
    _LISTED.where(_PUBLIC_NOW, Post.pinned > 0)
    .order_by(Post.pinned.desc(), *_NEWEST_FIRST)
    .limit(MAX_PINNED)
)


def pinned_posts() -> list[Post]:
    """Public posts pinned to the top of the home page, highest rank, then newest, first."""
    posts = list(db.session.scalars(_PINNED, {"kind": "post", "now": utcnow()}))
    load_terms(posts)
    return posts


def _series_order() -> tuple[Any, ...]:
    # Numbered parts first by number, then unnumbered ones by date (works on both databases,
    # which disagree on where NULLs sort).
    return (
        Post.series_order.is_(None),
        Post.series_order,
        Post.published_at,
        Post.id,
    )


def series_parts(name: str) -> list[Post]:
    """Every public part of the series ``name`` in reading order (no body columns)."""
    return list(
        db.session.scalars(listing_query().where(Post.series == name).order_by(*_series_order()))
    )


class SeriesLink(NamedTuple):
    """A neighbouring part in a series' navigation."""

    slug: str
    title: str
    #: Password-protected: the static build, which leaves it out, shows it unlinked.
    protected: bool


@dataclass
class SeriesPlace:
    """Where a post stands in its series: part ``number`` of ``count``, with its neighbours."""

    name: str
    number: int
    count: int
    previous: SeriesLink | None
    next: SeriesLink | None


def series_place(post: Post) -> SeriesPlace | None:
    """The series navigation of ``post``, or ``None`` when it belongs to no public series.

    Reads only (id, slug, title) of the parts, so a series of thousands costs one narrow
    indexed read.
    """
    if not post.series:
        return None
    rows = db.session.execute(
        listing_query()
        .where(Post.series == post.series)
        .with_only_columns(Post.id, Post.slug, Post.title, Post.password_hash.is_not(None))
        .order_by(*_series_order())
    ).all()
    ids = [row.id for row in rows]
    if post.id not in ids:
        return None
    at = ids.index(post.id)
    return SeriesPlace(
        name=post.series,
        number=at + 1,
        count=len(rows),
        previous=SeriesLink(*rows[at - 1][1:]) if at > 0 else None,
        next=SeriesLink(*rows[at + 1][1:]) if at + 1 < len(rows) else None,
    )


def links() -> list[Link]:
    """The links page's entries in the author's order."""
    return list(db.session.scalars(select(Link).order_by(Link.position, Link.id)))


#: Written with the table's column, not the mapped attribute: a statement naming no mapped
#: class skips the ORM's execution path (about half of this one's CPU), and every page
#: asks it. The difference: it does not flush pending changes first (none on a page).
_ANY_LINK = select(Link.__table__.c.id).limit(1)


def has_links() -> bool:
    """Whether the links page has anything to show (the site menu links to it only then)."""
    try:
        return db.session.scalar(_ANY_LINK) is not None
    except SQLAlchemyError:
        # Asked while drawing any page, the error pages included: a database that is away
        # (or not yet upgraded) must not turn a themed 404 or 500 into a bare one.
        try:
            db.session.rollback()
        except SQLAlchemyError:
            db.session.remove()
        return False


def _related_ids(post: Post) -> list[int]:
    return [pid for pid in (post.related or []) if isinstance(pid, int)]


def related_posts(post: Post) -> list[Post]:
    """``post``'s stored related posts (``blog/related.py``) readers may see now, in order."""
    wanted = _related_ids(post)
    if not wanted:
        return []
    values = {"kind": "post", "now": utcnow(), "ids": wanted}
    found = {p.id: p for p in db.session.scalars(_RELATED, values)}
    return [found[pid] for pid in wanted if pid in found]
