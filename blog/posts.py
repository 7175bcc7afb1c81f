"""Writing posts: save (render, revision, version check), trash, restore, purge.

Every change goes through here so that each save renders once, appends exactly one
revision, bumps the site's content version and tells plugins, in one transaction. The
related-post lists a save changes are chosen right after that transaction commits (see
:func:`choose_related_later`): the writer does not wait for them, and a note written in
the transaction makes sure they are chosen even if the process stops first.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response, after_this_request, current_app, has_request_context
from sqlalchemy import Select, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from blog.document import PostDraft
from blog.frontmatter import KNOWN_KEYS, LANGS, UPDATED_KEYS, Document, as_list, json_safe
from blog.models import (
    DRAFT,
    PUBLISHED,
    SCHEDULED,
    STATUSES,
    Category,
    Post,
    Revision,
    SiteState,
    SlugRedirect,
    Tag,
    db,
    post_categories,
    utcnow,
)
from blog.plugins import Plugins
from blog.queries import CONTENT_VERSION_KEY
from blog.related import (
    ONE_BY_ONE,
    forget_notes,
    forget_trashed,
    is_deferred,
    lists_with_neighbours,
    note_pending,
    pending_notes,
    refresh_noted,
    store_lists,
)
from blog.render import Rendered, render_post, store_render
from blog.search import update_index
from blog.slugs import check_slug, slug_from_title, unique_slug
from blog.validation import FIRST_YEAR, LAST_YEAR, FieldError, check_moment, check_text, check_texts

logger = logging.getLogger("blog.posts")


class ConflictError(Exception):
    """The post changed since the editor loaded it; ``current`` is what is stored now."""

    def __init__(self, current: Post) -> None:
        super().__init__(
            f"post {current.slug!r} was changed by someone else (version {current.version})"
        )
        self.current = current


#: The longest series name (it is a URL segment and a column of that width).
MAX_SERIES_NAME = 200


def pinned_rank(meta: dict[str, Any]) -> int:
    """How high ``meta["pinned"]`` puts a post on the home page (0: not pinned).

    ``true`` is rank 1; Hexo's ``sticky: N`` / ``top: N`` (mapped to ``pinned: N`` on import)
    keep their number, higher first, as Hexo orders them.
    """
    value = meta.get("pinned")
    if value is True:
        return 1
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 0


def series_of(meta: dict[str, Any]) -> tuple[str | None, int | None]:
    """The series name and part number set in ``meta``, checked.

    A list (Hugo's ``series: [name]``) names its first entry. The name becomes a URL path
    segment and, in the static build, a folder name, so a ``/``, a ``\\`` or a name made
    only of dots (``..``) is refused rather than rewritten.
    """
    name, order = meta.get("series"), meta.get("series_order")
    if isinstance(name, list) and name:
        name = name[0]
    elif isinstance(name, list):
        name = None
    if name is not None:
        if not isinstance(name, str):
            raise FieldError("series", "must be text, such as `series: 从零写编译器`")
        name = name.strip()
        if any(c in name for c in "/\\"):
            raise FieldError("series", f"{name!r} must not contain '/' or '\\'")
        if name and not name.strip("."):
            raise FieldError("series", f"{name!r} is not a usable name")
        if len(name) > MAX_SERIES_NAME:
            raise FieldError("series", f"is longer than {MAX_SERIES_NAME} characters")
    if order is not None and (
        isinstance(order, bool) or not isinstance(order, int) or not 0 <= order < 2**31
    ):
        raise FieldError("series_order", f"must be a whole number such as 1, 2, 3, got {order!r}")
    return name or None, order


#: The longest post password (it is hashed; the bound only keeps hashing cheap).
MAX_PASSWORD = 200


#: A sanity bound, not a style rule: real blogs tag posts with 100+ keywords (the importer
#: warns past ``blog.migrate.draft.TAG_WARNING``).
MAX_TAGS = 1000

#: Also a sanity bound: categories are a post's few main subjects.
MAX_CATEGORIES = 100


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
    #: Every category, the primary one first; :meth:`category_names` merges the two fields,
    #: so a caller may set either (``category`` alone keeps working).
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    kind: str = "post"
    #: A new password for the post: ``None`` keeps the current one, ``""`` removes it.
    password: str | None = None

    def category_names(self) -> list[str]:
        """Every category, primary first, each once."""
        names = [self.category] if self.category else []
        return [n for n in dict.fromkeys([*names, *self.categories]) if n]

    def validate(self) -> None:
        # The slug has its own, stricter check (`check_slug`), with its own error.
        for key in ("title", "source", "lang", "status", "kind", "category"):
            value = getattr(self, key)
            if isinstance(value, str):
                check_text(key, value)
        check_texts("tags", self.tags)
        check_texts("categories", self.categories)
        check_texts("meta", self.meta)
        for key in ("published_at", "updated_at"):
            moment = getattr(self, key)
            if moment is not None and not FIRST_YEAR <= moment.year <= LAST_YEAR:
                raise FieldError(key, f"must lie in the years {FIRST_YEAR}-{LAST_YEAR}")
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
        for name in self.tags:
            if len(name) > 200:
                raise FieldError("tags", "a tag or category name is longer than 200 characters")
        if len(self.category_names()) > MAX_CATEGORIES:
            raise FieldError("categories", f"at most {MAX_CATEGORIES} categories per post")
        for name in self.category_names():
            if len(name) > 200:
                raise FieldError("tags", "a tag or category name is longer than 200 characters")
        series_of(self.meta)
        if self.password is not None:
            check_text("password", self.password)
            if len(self.password) > MAX_PASSWORD:
                raise FieldError("password", f"is longer than {MAX_PASSWORD} characters")


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
        if not isinstance(value, date):
            raise FieldError(key, f"{value!r} is not a date")
        return check_moment(key, value, zone)

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
        updated_at=when(next((k for k in UPDATED_KEYS if k in data), "updated")),
        category=categories[0] if categories else None,
        categories=list(dict.fromkeys(categories)),
        tags=list(dict.fromkeys(as_list(data.get("tags")))),
        meta={k: json_safe(v) for k, v in data.items() if k not in KNOWN_KEYS},
        kind=str(data.get("kind", "post")),
        password=_password(data),
    )


def _password(data: dict[str, Any]) -> str | None:
    # `password:` (Hexo's hexo-blog-encrypt, Hugo themes): a number or empty means what it
    # shows; absent means "leave the post as it is".
    if "password" not in data:
        return None
    value = data["password"]
    return "" if value is None or value is False else str(value)


#: Per taxonomy model: its rows among some names. The names are one expanding parameter,
#: so the statement is compiled once whatever their number.
_NAMED: dict[type[Category] | type[Tag], Select[Any]] = {
    model: select(model).where(model.name.in_(bindparam("names", expanding=True)))
    for model in (Category, Tag)
}
#: Per dialect and taxonomy table: the insert of one name that skips a name already there
#: (see :func:`_insert_missing_names`); built once, in Core, and run once for all the names.
_INSERT_NAME = {
    (dialect, model): make_insert(model.__table__).on_conflict_do_nothing()
    for dialect, make_insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
    for model in (Category, Tag)
}


def _insert_missing_names(model: type[Category] | type[Tag], names: list[str]) -> None:
    """Insert the ``names`` ``model`` lacks, ignoring ones another transaction inserts first.

    ``INSERT … ON CONFLICT DO NOTHING`` waits for a concurrent insert of the same name and
    then skips it, so simultaneous saves sharing a new tag never fail on the unique name.
    Names are inserted sorted, so two saves never wait for each other's names in a cycle.
    """
    rows = [{"name": name} for name in sorted(set(names))]
    statement = _INSERT_NAME.get((db.session.get_bind().dialect.name, model))
    if statement is not None:
        db.session.execute(statement, rows)
        return
    # Another database: one savepoint per name, an integrity error means "exists".
    for row in rows:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(model.__table__).values(row))
        except IntegrityError:
            pass


def _named(model: type[Category] | type[Tag], names: list[str]) -> dict[str, Any]:
    """The rows of ``model`` (``Category`` or ``Tag``) named ``names``, by name, each
    inserted if the site lacks it.

    Most names of a save are already there (a site has far fewer categories and tags than
    posts): they are read first, and only the missing ones inserted and then read.
    """
    if not names:
        return {}
    found = {row.name: row for row in db.session.scalars(_NAMED[model], {"names": names})}
    missing = [name for name in names if name not in found]
    if missing:
        _insert_missing_names(model, missing)
        found.update(
            (row.name, row) for row in db.session.scalars(_NAMED[model], {"names": missing})
        )
    return found


def _set_taxonomy(post: Post, fields: PostFields) -> list[Category]:
    """Give ``post`` the primary category and the tags of ``fields`` (each inserted if the
    site lacks it); return every category of ``fields``, primary first."""
    names = fields.category_names()
    found = _named(Category, names)
    categories = [found[name] for name in names]
    post.category = categories[0] if categories else None
    tag_names = sorted(set(fields.tags))
    tags = _named(Tag, tag_names)
    post.tags = [tags[name] for name in tag_names]
    return categories


def _set_categories(post: Post, categories: list[Category], new: bool = False) -> None:
    """Make ``categories`` (primary first) the categories of the flushed ``post``
    (``new``: just inserted, so it has none yet)."""
    if not new:
        db.session.execute(delete(post_categories).where(post_categories.c.post_id == post.id))
    if categories:
        db.session.execute(
            insert(post_categories),
            [
                {"post_id": post.id, "category_id": category.id, "position": i}
                for i, category in enumerate(categories)
            ],
        )
    # What was just written, so reading them (the revision's snapshot) needs no query.
    set_committed_value(post, "categories", categories)


_POSTS = Post.__table__
#: The claim of :func:`_claim_version`, by whether the post was in the trash. Built once,
#: in Core: an ORM ``UPDATE`` costs several times the statement itself in Python.
_CLAIMS = {
    trashed: update(_POSTS)
    .where(
        _POSTS.c.id == bindparam("post_id"),
        _POSTS.c.version == bindparam("base_version"),
        _POSTS.c.deleted_at.is_not(None) if trashed else _POSTS.c.deleted_at.is_(None),
    )
    .values(version=_POSTS.c.version + 1)
    for trashed in (False, True)
}


def _claim_version(post: Post, base_version: int, was_trashed: bool) -> int:
    """Move the stored post from ``base_version`` to the next version, or raise a conflict.

    One conditional ``UPDATE`` decides between simultaneous writers: the row lock it takes
    (PostgreSQL) or the database write lock (SQLite) makes the others wait, then match no
    row because the version moved on. The trash state is part of the condition, so a save
    prepared before the post was trashed cannot silently bring it back.
    """
    claimed = db.session.execute(
        _CLAIMS[was_trashed], {"post_id": post.id, "base_version": base_version}
    )
    if getattr(claimed, "rowcount", 0) != 1:
        db.session.rollback()  # also expires ``post``: the conflict carries what is stored now
        raise ConflictError(post)
    return base_version + 1


_ADD_REVISION = insert(Revision.__table__)

_SITE_STATE = SiteState.__table__
#: See :func:`bump_content_version`; built once, in Core, as the claims above.
_BUMP = (
    update(_SITE_STATE)
    .where(_SITE_STATE.c.key == CONTENT_VERSION_KEY)
    .values(value=_SITE_STATE.c.value + 1)
)


def bump_content_version() -> None:
    """Mark every cached public page as possibly stale (read by the page cache)."""
    changed = db.session.execute(_BUMP)
    if getattr(changed, "rowcount", 1) == 0:
        db.session.add(SiteState(key=CONTENT_VERSION_KEY, value=1))


def notify(post: Post, action: str, rendered: Rendered | None = None) -> None:
    """Update the search index, note the related lists to choose, tell plugins, in the
    caller's transaction.

    ``rendered`` is the render just stored on ``post``: the index takes its text (and its
    tokens, when a render worker made them) instead of reading the stored HTML again.
    """
    # Called directly, not as a guarded hook: an index update that failed silently would
    # leave search out of step with the posts; here a failure rolls the change back.
    if rendered is None:
        update_index(post, action)
    else:
        update_index(post, action, rendered.text, rendered.index_tokens)
    if action in ("saved", "restored"):
        # Noted here, chosen once the change is committed (see `choose_related_later`): the
        # writer does not wait for the similarity queries. A re-render changes no text a
        # reader chose by; `blog rerender` refreshes all lists.
        note_pending(post.id)
    elif action == "trashed":
        # The index no longer has it: the posts that listed it get their next best.
        forget_trashed(post)
    plugins: Plugins = current_app.extensions["blog.plugins"]
    plugins.hooks.blog_post_changed(post=post, action=action)


#: ``app.extensions`` key of an event set when a save in this process left related lists
#: to choose after its response; the app's next request chooses them first if the
#: response's close has not yet (a client that never closes it, such as Werkzeug's test
#: client).
RELATED_WAITING = "blog.related_waiting"


def init_app(app: Flask) -> None:
    """Give ``app`` the event saves set and its requests check (see :data:`RELATED_WAITING`)."""
    app.extensions[RELATED_WAITING] = threading.Event()
    app.before_request(choose_related_if_waiting)


def choose_pending_related() -> int:
    """Choose the related lists saves noted (and their neighbours'); commit; return how
    many notes there were.

    The lists are computed first, reading only; then, in one short transaction that takes
    the content-version lock first as a save does, the changed lists are written, the
    page cache told, and the notes forgotten (a post saved again meanwhile stays noted).
    """
    notes = pending_notes()
    if len(notes) > ONE_BY_ONE:
        refresh_noted(notes)
        bump_content_version()
        db.session.commit()
        return len(notes)
    if not notes:
        return 0
    lists = lists_with_neighbours(notes)
    if lists:
        bump_content_version()
        store_lists(lists)
    forget_notes(notes)
    db.session.commit()
    return len(notes)


def choose_related_later() -> None:
    """After a commit that noted related lists: choose them once the response is sent, or
    at once outside a request (a script, the CLI). Inside ``related.deferred`` the block's
    end chooses them."""
    if is_deferred():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.extensions[RELATED_WAITING].set()
    if not has_request_context():
        _choose_in_own_context(app)
        return

    def after_sending(response: Response) -> Response:
        # The server closes the response once its bytes are out: the writer does not wait.
        response.call_on_close(lambda: _choose_in_own_context(app))
        return response

    after_this_request(after_sending)


def _choose_in_own_context(app: Flask) -> None:
    # An app context of its own has a session of its own: the caller's objects stay loaded
    # as committed, and after a response the request's context is gone.
    with app.app_context():
        choose_related_if_waiting()


def choose_related_if_waiting() -> None:
    """Choose the lists a save in this process left, unless already under way or done.

    A failure is logged and leaves the notes for the next choice: the save is committed.
    """
    waiting: threading.Event = current_app.extensions[RELATED_WAITING]
    if not waiting.is_set():
        return
    waiting.clear()  # before reading the notes: a save after this sets it again
    try:
        choose_pending_related()
    except Exception:
        db.session.rollback()
        logger.exception("choosing related posts failed; the notes stay for the next save")


def snapshot(post: Post) -> dict[str, Any]:
    """The author-set fields of ``post`` as JSON, as kept in each revision."""
    return {
        "slug": post.slug,
        "lang": post.lang,
        "status": post.status,
        "kind": post.kind,
        "published_at": post.published_at.isoformat() if post.published_at else None,
        "category": post.category.name if post.category else None,
        "categories": [c.name for c in post.categories],
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
        and current["categories"] == fields.category_names()
        and current["tags"] == sorted(fields.tags)
        and current["meta"] == fields.meta
        and current["published_at"] == published
        and (post.status == DRAFT) == (fields.status == DRAFT)
        and post.deleted_at is None
        and (fields.password is None or password_is(post, fields.password))
    )


def password_is(post: Post, password: str) -> bool:
    """Whether ``password`` is what currently protects ``post`` (``""``: not protected)."""
    if post.password_hash is None:
        return password == ""
    return password != "" and check_password_hash(post.password_hash, password)


def _set_password(post: Post, fields: PostFields) -> None:
    """Apply ``fields.password`` (or a WordPress import's ``meta["password"]``) to ``post``."""
    legacy = post.meta.pop("password", None)  # never kept in clear, nor in revisions
    wanted = fields.password if fields.password is not None else legacy
    if wanted is None:
        return
    wanted = str(wanted)
    if not password_is(post, wanted):
        post.password_hash = generate_password_hash(wanted) if wanted else None


#: A save that lost a race for a unique value (a slug chosen at the same moment, a deadlock
#: PostgreSQL broke) is rendered and written again this many times in all.
SAVE_ATTEMPTS = 3
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def _retryable(error: DBAPIError) -> bool:
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def save_post(
    fields: PostFields,
    *,
    author: str,
    post: Post | None = None,
    expected_version: int | None = None,
    change_slug: bool = False,
    rendered: Rendered | None = None,
) -> Post:
    """Create or update a post, render it, append a revision; commit.

    ``rendered`` is a render made ahead (see :func:`draft_to_render`); it is used only if
    it was made from exactly the post being saved, else the post is rendered here.

    An update is based on ``expected_version`` (the version the author saw) or, without
    it, on the version of ``post`` as loaded; if the stored post moved on meanwhile, or was
    trashed or restored, nothing is written and :class:`ConflictError` carries the stored
    post. The new version is the new revision's number. An existing slug changes only with
    ``change_slug``; the old slug then redirects to the new one (in the same transaction).
    """
    fields.validate()
    if post is None:
        base_version, was_trashed = None, False
    else:
        base_version = post.version if expected_version is None else expected_version
        was_trashed = post.deleted_at is not None
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        try:
            return _save_once(
                fields, author, post, base_version, was_trashed, change_slug, rendered
            )
        except DBAPIError as error:
            db.session.rollback()
            if attempt == SAVE_ATTEMPTS or not _retryable(error):
                raise
    raise AssertionError("unreachable")


def _assign(post: Any, fields: PostFields, now: datetime) -> None:
    """Set the author's ``fields`` on ``post`` (a ``Post``, or a stand-in to predict one)."""
    post.title = fields.title
    post.source = fields.source
    post.lang = fields.lang
    post.kind = fields.kind
    post.meta = dict(fields.meta)
    if fields.status == DRAFT:
        post.status = DRAFT
        post.published_at = fields.published_at or post.published_at
    else:
        post.published_at = fields.published_at or post.published_at or now
        post.status = SCHEDULED if post.published_at > now else PUBLISHED
    post.updated_at = fields.updated_at or now
    post.deleted_at = None


def draft_to_render(fields: PostFields, post: Post | None = None) -> PostDraft:
    """What :func:`save_post` of ``fields`` onto ``post`` (``None``: a new post) will render.

    A bulk writer renders this ahead, on several processes, and hands the result to
    ``save_post(rendered=...)``; a save whose post turned out different renders again.
    """
    stand_in = SimpleNamespace(
        slug=(
            post.slug
            if post is not None
            else check_slug(fields.slug)
            if fields.slug
            else slug_from_title(fields.title, str(current_app.config["SLUG_STYLE"]))
        ),
        id=post.id if post is not None else None,
        published_at=post.published_at if post is not None else None,
        category=post.category if post is not None else None,
        tags=list(post.tags) if post is not None else [],
    )
    _assign(stand_in, fields, utcnow())
    return _with_taxonomy(PostDraft.of(stand_in), fields)


def _with_taxonomy(draft: PostDraft, fields: PostFields) -> PostDraft:
    """``draft`` with the category and tags ``fields`` give: the post's own are assigned
    only after the render, so a draft copied from it would show the previous version's."""
    names = fields.category_names()
    return replace(
        draft, category=names[0] if names else None, tags=tuple(sorted(set(fields.tags)))
    )


def _save_once(
    fields: PostFields,
    author: str,
    post: Post | None,
    base_version: int | None,
    was_trashed: bool,
    change_slug: bool,
    rendered: Rendered | None,
) -> Post:
    style = str(current_app.config["SLUG_STYLE"])
    now = utcnow()
    wanted_slug = check_slug(fields.slug) if fields.slug else None
    # Nothing is written until the render is done: no lock is held while it runs.
    with db.session.no_autoflush:
        if post is None or base_version is None:
            wanted_slug = wanted_slug or slug_from_title(fields.title, style)
            post = Post(slug=wanted_slug, created_at=now, version=0, meta={})
        elif base_version != post.version:
            db.session.rollback()
            raise ConflictError(post)
        _assign(post, fields, now)
        post.pinned = pinned_rank(post.meta)
        post.series, post.series_order = series_of(post.meta)
        _set_password(post, fields)
        draft = _with_taxonomy(PostDraft.of(post), fields)
        if rendered is None or rendered.draft != draft:
            rendered = render_post(draft)
        store_render(post, rendered)

        # The first write: the content-version row (PostgreSQL) or the database (SQLite) is
        # locked until commit, so saves run their write phase one at a time; the slug
        # chosen below and the version claimed cannot be taken by another save meanwhile.
        bump_content_version()
        if base_version is None:
            assert wanted_slug is not None
            post.slug = unique_slug(wanted_slug)
            # Set before the post is added: its row is inserted with its category, and its
            # tags are given without first reading the (empty) collection of a stored post.
            categories = _set_taxonomy(post, fields)
            db.session.add(post)
            version = 1
        else:
            version = _claim_version(post, base_version, was_trashed)
            if change_slug and wanted_slug and wanted_slug != post.slug:
                old_slug = post.slug
                post.slug = unique_slug(wanted_slug, exclude_id=post.id)
                _redirect_old_slug(old_slug, post)
    if base_version is None:
        post.version = version
    else:
        categories = _set_taxonomy(post, fields)
        set_committed_value(post, "version", version)  # the claim already wrote it
    db.session.flush()
    _set_categories(post, categories, new=base_version is None)
    # In Core: nothing reads the revision back in this transaction, and an ORM object
    # costs a bulk import a flush of its own.
    db.session.execute(
        _ADD_REVISION,
        {
            "post_id": post.id,
            "number": version,
            "title": post.title,
            "source": post.source,
            "fields": snapshot(post),
            "author": author,
            "created_at": now,
        },
    )
    notify(post, "saved", rendered)
    render_meta = post.render_meta
    db.session.commit()
    # Kept loaded as just committed: a bulk import reads every saved post's warnings and
    # notices, and would otherwise reload the whole row (and its tags and categories).
    set_committed_value(post, "render_meta", render_meta)
    choose_related_later()
    return post


def _redirect_old_slug(old_slug: str, post: Post) -> None:
    """Send ``old_slug`` to the renamed ``post``, in the save's transaction: a rename is
    never stored without the redirect that keeps its old URL working, nor the reverse."""
    if post.slug == old_slug:
        return
    existing = db.session.get(SlugRedirect, old_slug)
    if existing is None:
        db.session.add(SlugRedirect(old_slug=old_slug, post_id=post.id))
    else:
        existing.post_id = post.id
    # A post renamed back to an earlier slug must not redirect away from itself.
    stale = db.session.get(SlugRedirect, post.slug)
    if stale is not None:
        db.session.delete(stale)


def trash_post(post: Post) -> bool:
    """Move ``post`` to the trash: hidden everywhere, restorable. ``False`` if it already was."""
    return _set_trashed(post, utcnow(), "trashed")


def restore_post(post: Post) -> bool:
    """Bring ``post`` back from the trash with its previous status. ``False`` if it was not."""
    return _set_trashed(post, None, "restored")


def _set_trashed(post: Post, moment: datetime | None, action: str) -> bool:
    # Conditional on the opposite state, so that of a trash racing an edit (or a restore)
    # the later one sees the earlier's result instead of writing over it.
    currently = Post.deleted_at.is_(None) if moment is not None else Post.deleted_at.is_not(None)
    bump_content_version()  # first, like a save: the same lock, taken in the same order
    changed = db.session.execute(
        update(Post)
        .where(Post.id == post.id, currently)
        .values(deleted_at=moment)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:
        db.session.rollback()
        return False
    set_committed_value(post, "deleted_at", moment)
    notify(post, action)
    db.session.commit()
    if action == "restored":
        choose_related_later()
    return True


def purge_trash() -> int:
    """Delete every trashed post and its revisions for good; return how many."""
    # First, as every save and trash does: once this lock is held, no save can restore a
    # post between choosing the trashed ones and deleting them.
    bump_content_version()
    trashed = db.session.scalars(select(Post).where(Post.deleted_at.is_not(None))).all()
    for post in trashed:
        notify(post, "purged")
        db.session.delete(post)
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
        categories=data["categories"],
        tags=data["tags"],
        meta=dict(post.meta),
        kind=post.kind,
    )
