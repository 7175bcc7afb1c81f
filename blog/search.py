"""Full-text search: one index interface over SQLite FTS5 and PostgreSQL ``tsvector``.

Chinese has no spaces between words, so text is cut into overlapping character bigrams
in Python (``神经网络`` -> ``神经 经网 网络 络``) and both databases only store and match
those tokens; a query run becomes a phrase of its bigrams. The last character of every
run is also indexed alone, so each character begins exactly one token and a
one-character query is a prefix query. Words in other scripts are indexed whole and
case-folded. Tokenising in Python gives both backends the same recall.

Indexed text and queries both pass through the ``blog_search_text`` hook chain (script
normalisation), so a query in either script finds posts in either script.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import regex
from flask import Blueprint, current_app, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import (
    Integer,
    Text,
    bindparam,
    cast,
    column,
    delete,
    func,
    literal_column,
    select,
    table,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import defer

from blog.i18n import ui_plural, ui_text
from blog.models import (
    PUBLISHED,
    SCHEDULED,
    Category,
    Post,
    Tag,
    db,
    post_categories,
    post_tags,
)
from blog.plugins import Plugins
from blog.queries import HEAVY_COLUMNS, Page, public_condition
from blog.render import html_to_text
from blog.views import pagination_urls, render_page

#: Scripts written without spaces between words: indexed as character bigrams.
_BIGRAM_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
_TOKEN_RUNS = regex.compile(
    rf"(?P<cjk>[{_BIGRAM_SCRIPTS}]+)|(?P<word>[[\p{{L}}\p{{N}}]--[{_BIGRAM_SCRIPTS}]]+)",
    regex.V1,
)
#: A longer word (a hash, base64) is cut to this length on both the index and query side.
MAX_TOKEN_CHARS = 64
MAX_QUERY_CHARS = 100
MAX_TERMS = 12
#: Latin words this long or longer also match as prefixes ("optim" finds "optimizer").
PREFIX_MIN_CHARS = 3
SNIPPET_CHARS = 120
SNIPPET_LEAD_CHARS = 30
MAX_SNIPPET_SPANS = 300
#: Snippets come from the start of long posts: scanning further costs more than it shows.
SNIPPET_SCAN_CHARS = 5_000
#: Field weights for ranking: a match in the title counts most, then tags, category, body.
FIELDS = ("title", "body", "tags", "category")
SQLITE_WEIGHTS = {"title": 10.0, "body": 1.0, "tags": 5.0, "category": 3.0}
POSTGRES_WEIGHTS = {"title": "A", "tags": "B", "category": "C", "body": "D"}
#: PostgreSQL limits: positions wrap at 16383, at most 256 per lexeme, about 1 MB per value.
PG_MAX_POSITION = 16383
PG_MAX_POSITIONS_PER_LEXEME = 256
PG_MAX_TSVECTOR_BYTES = 900_000

search_documents = table(
    "search_documents",
    column("post_id", Integer),
    column("body_text", Text),
    column("document", TSVECTOR),
)
search_fts = table("search_fts", column("rowid", Integer))


# --- Tokenising ---------------------------------------------------------------------------


def _runs(text: str) -> Iterable[tuple[bool, str]]:
    """Yield ``(is_bigram_script, run)`` for every run of letters or digits in ``text``."""
    for match in _TOKEN_RUNS.finditer(text):
        if match.group("cjk"):
            yield True, match.group("cjk")
        else:
            yield False, match.group("word").casefold()[:MAX_TOKEN_CHARS]


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_tokens(text: str) -> list[str]:
    """Return the tokens stored for ``text`` (already normalised), in order."""
    # The same tokens as ``_runs`` + ``_bigrams`` give, without a call per run: this loop
    # is most of the time ``blog reindex`` spends in Python.
    tokens: list[str] = []
    for cjk, word in _TOKEN_RUNS.findall(text):
        if cjk:
            tokens += map(operator.add, cjk, cjk[1:])
            tokens.append(cjk[-1])
        else:
            tokens.append(word.casefold()[:MAX_TOKEN_CHARS])
    return tokens


@dataclass(frozen=True)
class Term:
    """One query term: its tokens must occur consecutively (a phrase)."""

    surface: str
    tokens: tuple[str, ...]
    prefix: bool
    is_cjk: bool


def parse_query(normalized: str) -> list[Term]:
    """Turn a normalised query into terms; every term must match (AND). Syntax is not special."""
    terms: list[Term] = []
    for is_cjk, run in _runs(normalized):
        if is_cjk:
            term = (
                Term(run, (run,), prefix=True, is_cjk=True)
                if len(run) == 1
                else Term(run, tuple(_bigrams(run)), prefix=False, is_cjk=True)
            )
        else:
            term = Term(run, (run,), prefix=len(run) >= PREFIX_MIN_CHARS, is_cjk=False)
        if term not in terms:
            terms.append(term)
    return terms


def normalize(text: str) -> str:
    """Pass ``text`` through the ``blog_search_text`` chain (e.g. Traditional -> Simplified)."""
    plugins: Plugins = current_app.extensions["blog.plugins"]
    return str(plugins.chain("blog_search_text", "text", text))


# --- Backends -----------------------------------------------------------------------------


@dataclass
class IndexedPost:
    """A post's searchable fields after normalisation, plus its original text for snippets."""

    post_id: int
    fields: dict[str, str]
    body_text: str


class Backend(Protocol):
    def store(self, entry: IndexedPost) -> None: ...
    def insert(self, entries: Sequence[IndexedPost]) -> None: ...
    def remove(self, post_id: int) -> None: ...
    def clear(self) -> None: ...
    def search(self, terms: Sequence[Term], limit: int, offset: int) -> tuple[list[int], int]: ...
    def similar(self, tokens: Sequence[str], exclude_id: int, limit: int) -> list[int]: ...


def _similar_ids(matches: Any, exclude_id: int, limit: int) -> list[int]:
    """Posts (not pages) among ``matches`` that are or will be public, best score first.

    Scheduled posts count: the list is chosen at save time and filtered again when shown.
    """
    found = matches.cte("similar").prefix_with("MATERIALIZED")
    query = (
        select(Post.id)
        .join(found, found.c.post_id == Post.id)
        .where(
            Post.id != exclude_id,
            Post.kind == "post",
            Post.deleted_at.is_(None),
            Post.status.in_((PUBLISHED, SCHEDULED)),
        )
        .order_by(found.c.score, Post.published_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def _ranked_ids(matches: Any, limit: int, offset: int) -> tuple[list[int], int]:
    """Keep the public posts among ``matches`` (``post_id``, ``score``: lower is better).

    The matches are materialised first: otherwise SQLite may walk the posts and run the
    full-text query once per post, which takes seconds for a common word.
    """
    found = matches.cte("matches").prefix_with("MATERIALIZED")
    public = (
        select(Post.id, found.c.score)
        .join(found, found.c.post_id == Post.id)
        .where(public_condition(), Post.password_hash.is_(None))
    )
    total = db.session.scalar(select(func.count()).select_from(public.subquery())) or 0
    ids = db.session.scalars(
        public.order_by(found.c.score, Post.published_at.desc(), Post.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(ids), int(total)


class SqliteBackend:
    """FTS5 table ``search_fts`` (columns as in :data:`FIELDS`) whose rowid is the post id."""

    def store(self, entry: IndexedPost) -> None:
        self.remove(entry.post_id)
        self.insert([entry])

    def insert(self, entries: Sequence[IndexedPost]) -> None:
        """Add ``entries`` (not in the index yet) in one statement per table."""
        if not entries:
            return
        db.session.execute(
            sql_text(
                "INSERT INTO search_fts (rowid, title, body, tags, category) "
                "VALUES (:id, :title, :body, :tags, :category)"
            ),
            [
                {"id": e.post_id, **{f: " ".join(index_tokens(e.fields[f])) for f in FIELDS}}
                for e in entries
            ],
        )
        db.session.execute(
            search_documents.insert(),
            [{"post_id": e.post_id, "body_text": e.body_text} for e in entries],
        )

    def remove(self, post_id: int) -> None:
        db.session.execute(sql_text("DELETE FROM search_fts WHERE rowid = :id"), {"id": post_id})
        db.session.execute(delete(search_documents).where(search_documents.c.post_id == post_id))

    def clear(self) -> None:
        db.session.execute(sql_text("DELETE FROM search_fts"))
        db.session.execute(delete(search_documents))

    @staticmethod
    def match_expression(terms: Sequence[Term]) -> str:
        """FTS5 query: every term a quoted phrase, so ``"``, ``*``, ``NEAR``, ``-`` are just text.

        Tokens hold only letters and digits (see :func:`parse_query`), so quoting is total.
        """
        return " AND ".join(
            '"' + " ".join(term.tokens) + '"' + ("*" if term.prefix else "") for term in terms
        )

    def search(self, terms: Sequence[Term], limit: int, offset: int) -> tuple[list[int], int]:
        expression = self.match_expression(terms)
        fts: Any = literal_column("search_fts")
        weights = [SQLITE_WEIGHTS[f] for f in FIELDS]
        matches = select(
            search_fts.c.rowid.label("post_id"), func.bm25(fts, *weights).label("score")
        ).where(fts.op("MATCH")(bindparam("expression", expression)))
        return _ranked_ids(matches, limit, offset)

    def similar(self, tokens: Sequence[str], exclude_id: int, limit: int) -> list[int]:
        # Any of the tokens, each quoted (tokens hold only letters and digits); bm25 weighs
        # rare shared tokens above common ones.
        expression = " OR ".join(f'"{token}"' for token in tokens)
        fts: Any = literal_column("search_fts")
        weights = [SQLITE_WEIGHTS[f] for f in FIELDS]
        matches = select(
            search_fts.c.rowid.label("post_id"), func.bm25(fts, *weights).label("score")
        ).where(fts.op("MATCH")(bindparam("expression", expression)))
        return _similar_ids(matches, exclude_id, limit)


def _pg_quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(fields: dict[str, str]) -> str:
    """Build a ``tsvector`` value from our own tokens, bypassing PostgreSQL's word parser.

    Positions wrap at PostgreSQL's maximum (a rare false phrase match in very long posts,
    never a missed one); very long posts keep fewer positions per token to stay under the
    size limit of a ``tsvector``.
    """
    positions: dict[str, list[str]] = {}
    counter = 0
    for name in ("title", "tags", "category", "body"):
        weight = POSTGRES_WEIGHTS[name]
        for token in index_tokens(fields[name]):
            positions.setdefault(token, []).append(f"{counter % PG_MAX_POSITION + 1}{weight}")
            counter += 1
    keep = PG_MAX_POSITIONS_PER_LEXEME
    while True:
        parts = [
            f"{_pg_quote(token)}:{','.join(dict.fromkeys(places[:keep]))}"
            for token, places in positions.items()
        ]
        literal = " ".join(parts)
        if len(literal.encode("utf-8")) <= PG_MAX_TSVECTOR_BYTES or keep == 1:
            return literal
        keep = max(1, keep // 2)


def tsquery_literal(terms: Sequence[Term]) -> str:
    parts = []
    for term in terms:
        lexemes = [_pg_quote(token) + (":*" if term.prefix else "") for token in term.tokens]
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)


class PostgresBackend:
    """``search_documents.document`` holds a weighted ``tsvector`` with a GIN index."""

    def store(self, entry: IndexedPost) -> None:
        self.remove(entry.post_id)
        self.insert([entry])

    def insert(self, entries: Sequence[IndexedPost]) -> None:
        """Add ``entries`` (not in the index yet) in one statement."""
        if not entries:
            return
        db.session.execute(
            search_documents.insert().values(
                document=cast(bindparam("literal", type_=Text), TSVECTOR)
            ),
            [
                {
                    "post_id": e.post_id,
                    "body_text": e.body_text,
                    "literal": tsvector_literal(e.fields),
                }
                for e in entries
            ],
        )

    def remove(self, post_id: int) -> None:
        db.session.execute(delete(search_documents).where(search_documents.c.post_id == post_id))

    def clear(self) -> None:
        db.session.execute(delete(search_documents))

    def search(self, terms: Sequence[Term], limit: int, offset: int) -> tuple[list[int], int]:
        query = cast(bindparam("expression", tsquery_literal(terms)), TSQUERY)
        document = search_documents.c.document
        matches = select(
            search_documents.c.post_id, (-func.ts_rank(document, query)).label("score")
        ).where(document.op("@@")(query))
        return _ranked_ids(matches, limit, offset)

    def similar(self, tokens: Sequence[str], exclude_id: int, limit: int) -> list[int]:
        query = cast(bindparam("expression", " | ".join(map(_pg_quote, tokens))), TSQUERY)
        document = search_documents.c.document
        matches = select(
            search_documents.c.post_id, (-func.ts_rank(document, query)).label("score")
        ).where(document.op("@@")(query))
        return _similar_ids(matches, exclude_id, limit)


def backend() -> Backend:
    if db.engine.dialect.name == "postgresql":
        return PostgresBackend()
    return SqliteBackend()


# --- Keeping the index current ------------------------------------------------------------


def indexed_post(post: Post, body_text: str | None = None) -> IndexedPost:
    """Extract and normalise the searchable text of ``post`` (math and code as plain text).

    ``body_text`` is the plain text of ``post.body_html`` when the caller has just rendered
    it (the save path hands it over); otherwise the text stored with the body is used, and
    only a row saved before that column existed has its HTML read here.
    """
    if body_text is None:
        body_text = stored_body_text(post.body_text, post.body_html)
    return _indexed(
        post.id,
        post.title,
        body_text,
        [tag.name for tag in post.tags],
        " ".join(_category_names(post)),
    )


def _category_names(post: Post) -> list[str]:
    """Every category of ``post``, primary first (a row saved before they were kept: its one)."""
    names = [category.name for category in post.categories]
    if not names and post.category is not None:
        names = [post.category.name]
    return names


def stored_body_text(body_text: str | None, body_html: str | None) -> str:
    return body_text if body_text is not None else html_to_text(body_html or "")


def _indexed(
    post_id: int, title: str, body_text: str, tags: Sequence[str], category: str
) -> IndexedPost:
    raw = {"title": title, "body": body_text, "tags": " ".join(tags), "category": category}
    return IndexedPost(post_id, {name: normalize(value) for name, value in raw.items()}, body_text)


def update_index(post: Post, action: str, body_text: str | None = None) -> None:
    """Reflect a save/trash/restore/purge of ``post`` in the index, in the caller's transaction."""
    # A protected post is never found by search: its words would be its text.
    if action in ("trashed", "purged") or post.deleted_at is not None or post.is_protected:
        backend().remove(post.id)
    else:
        backend().store(indexed_post(post, body_text))


def rebuild_index(batch: int = 500) -> int:
    """Index every post that is not in the trash from scratch; commit; return how many.

    Reads only the columns the index needs, in batches of ``batch`` posts, and writes each
    batch in one statement per table. The body's text comes from ``posts.body_text``; a row
    saved before that column existed has its HTML read once and the text stored, so the
    next rebuild reads no HTML.
    """
    engine = backend()
    engine.clear()
    ids = list(
        db.session.scalars(
            select(Post.id)
            .where(Post.deleted_at.is_(None), Post.password_hash.is_(None))
            .order_by(Post.id)
        )
    )
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        tags: dict[int, list[str]] = {}
        for post_id, name in db.session.execute(
            select(post_tags.c.post_id, Tag.name)
            .join(Tag, Tag.id == post_tags.c.tag_id)
            .where(post_tags.c.post_id.in_(chunk))
            .order_by(Tag.name)
        ):
            tags.setdefault(post_id, []).append(name)
        categories: dict[int, list[str]] = {}
        for post_id, name in db.session.execute(
            select(post_categories.c.post_id, Category.name)
            .join(Category, Category.id == post_categories.c.category_id)
            .where(post_categories.c.post_id.in_(chunk))
            .order_by(post_categories.c.post_id, post_categories.c.position)
        ):
            categories.setdefault(post_id, []).append(name)
        rows = db.session.execute(
            select(Post.id, Post.title, Post.body_text, Category.name)
            .outerjoin(Category, Category.id == Post.category_id)
            .where(Post.id.in_(chunk))
            .order_by(Post.id)
        ).all()
        missing = [row.id for row in rows if row.body_text is None]
        texts: dict[int, str] = {}
        if missing:
            for post_id, html in db.session.execute(
                select(Post.id, Post.body_html).where(Post.id.in_(missing))
            ):
                texts[post_id] = html_to_text(html or "")
            db.session.execute(
                update(Post.__table__).where(Post.__table__.c.id == bindparam("post_id")),
                [{"post_id": k, "body_text": v} for k, v in texts.items()],
            )
        engine.insert(
            [
                _indexed(
                    row.id,
                    row.title,
                    texts[row.id] if row.body_text is None else row.body_text,
                    tags.get(row.id, []),
                    " ".join(categories.get(row.id) or ([row.name] if row.name else [])),
                )
                for row in rows
            ]
        )
    db.session.commit()
    return len(ids)


# --- Querying -----------------------------------------------------------------------------


@dataclass
class SearchResult:
    slug: str
    title: str
    snippet: Markup
    published_at: datetime | None
    #: The primary category (``categories[0]``), kept for themes written before there were more.
    category: str | None
    tags: list[str]
    #: Every category, primary first.
    categories: list[str] = field(default_factory=list)


@dataclass
class SearchOutcome:
    """One page of results; ``message`` explains an empty, shortened or unusable query."""

    query: str
    results: list[SearchResult] = field(default_factory=list)
    total: int = 0
    number: int = 1
    count: int = 1
    message: str = ""


def search(query: str, number: int = 1, per_page: int = 10) -> SearchOutcome:
    """Search public posts for ``query``; never raises for any user input."""
    cleaned = " ".join(query.split())
    outcome = SearchOutcome(query=cleaned, number=number)
    if not cleaned:
        outcome.message = ui_text("Please enter something to search for.")
        return outcome
    notes = []
    if len(cleaned) > MAX_QUERY_CHARS:
        cleaned = cleaned[:MAX_QUERY_CHARS]
        notes.append(
            ui_text(
                "The search is too long; only its first %(limit)d characters were used.",
                limit=MAX_QUERY_CHARS,
            )
        )
    terms = parse_query(normalize(cleaned))
    if not terms:
        outcome.message = ui_text(
            "The search has no words to look for (punctuation and symbols are ignored)."
        )
        return outcome
    if len(terms) > MAX_TERMS:
        terms = terms[:MAX_TERMS]
        notes.append(
            ui_text(
                "The search has too many words; only the first %(limit)d were used.",
                limit=MAX_TERMS,
            )
        )
    number = max(1, number)
    ids, total = backend().search(terms, per_page, (number - 1) * per_page)
    outcome.total, outcome.number = total, number
    outcome.count = max(1, math.ceil(total / per_page))
    outcome.results = _results(ids, terms, cleaned)
    if total == 0:
        notes.append(ui_text("No posts found for “%(query)s”.", query=cleaned))
    elif number > outcome.count:
        notes.append(
            ui_plural(
                "The results have only %(num)d page.",
                "The results have only %(num)d pages.",
                outcome.count,
            )
        )
    outcome.message = " ".join(notes)
    return outcome


def _results(ids: list[int], terms: Sequence[Term], raw_query: str) -> list[SearchResult]:
    if not ids:
        return []
    posts = {
        post.id: post
        for post in db.session.scalars(
            select(Post).where(Post.id.in_(ids)).options(*(defer(c) for c in HEAVY_COLUMNS))
        )
    }
    texts = dict(
        db.session.execute(
            select(search_documents.c.post_id, search_documents.c.body_text).where(
                search_documents.c.post_id.in_(ids)
            )
        ).all()
    )
    raw_terms = parse_query(raw_query)
    results = []
    for post_id in ids:
        post = posts.get(post_id)
        if post is None:
            continue
        results.append(
            SearchResult(
                slug=post.slug,
                title=post.title,
                snippet=snippet(texts.get(post_id) or post.excerpt, terms, raw_terms),
                published_at=post.published_at,
                category=post.category.name if post.category else None,
                tags=[tag.name for tag in post.tags],
                categories=_category_names(post),
            )
        )
    return results


# --- Snippets -----------------------------------------------------------------------------

_CLAUSE_END = regex.compile(r"(?<=[。！？；!?;.])\s*|\s+")


def _clauses(text: str) -> list[tuple[int, str]]:
    """Split ``text`` into short pieces with their offsets; no piece contains a newline."""
    pieces = []
    start = 0
    for match in _CLAUSE_END.finditer(text):
        if match.end() > start and match.start() > start:
            pieces.append((start, text[start : match.end()]))
            start = match.end()
    if start < len(text):
        pieces.append((start, text[start:]))
    return pieces


_WORD_TAIL = rf"[[\p{{L}}\p{{N}}]--[{_BIGRAM_SCRIPTS}]]*"


def _pattern(term: Term) -> Any:
    """Regex for ``term`` in text; a prefix word is marked up to its end."""
    source = regex.escape(term.surface) + (_WORD_TAIL if term.prefix and not term.is_cjk else "")
    return regex.compile(source, regex.IGNORECASE | regex.V1)


def _match_spans(
    text: str, terms: Sequence[Term], raw_terms: Sequence[Term]
) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, term)`` of query matches in the original ``text``.

    Matching happens on the normalised text. Clauses whose length normalisation kept map
    position for position; in a clause it changed (a vocabulary change such as 記憶體 ->
    内存) the raw query words are looked for instead.
    """
    clauses = _clauses(text)
    normalized = normalize("\n".join(piece for _start, piece in clauses)).split("\n")
    if len(normalized) != len(clauses):
        normalized = [piece for _start, piece in clauses]
    pieces = []
    misaligned = []
    for (offset, piece), normal in zip(clauses, normalized, strict=True):
        if len(normal) == len(piece):
            pieces.append(normal)
        else:
            pieces.append(" " * len(piece))
            misaligned.append((offset, piece))
    haystack = "".join(pieces)
    spans = [
        (*match.span(), term.surface)
        for term in terms
        for match in _pattern(term).finditer(haystack)
    ]
    for term in raw_terms if misaligned else ():
        pattern = _pattern(term)
        for offset, piece in misaligned:
            spans += [
                (offset + m.start(), offset + m.end(), term.surface)
                for m in pattern.finditer(piece)
            ]
    spans.sort()
    return spans[:MAX_SNIPPET_SPANS]


def snippet(text: str, terms: Sequence[Term], raw_terms: Sequence[Term] = ()) -> Markup:
    """An escaped extract of ``text`` around the densest group of matches, marked up.

    ``text`` is plain text (never HTML), so a ``<mark>`` can never land inside math or
    code markup; everything else is escaped.
    """
    text = text[:SNIPPET_SCAN_CHARS]
    spans = _match_spans(text, terms, raw_terms)
    if not spans:
        extract = text[:SNIPPET_CHARS]
        return escape(extract) + (Markup("…") if len(text) > SNIPPET_CHARS else Markup(""))
    best_start, best_score = spans[0][0], 0
    for first, _end, _term in spans:
        covered = {
            term for start, end, term in spans if first <= start and end <= first + SNIPPET_CHARS
        }
        if len(covered) > best_score:
            best_start, best_score = first, len(covered)
    window_start = max(0, best_start - SNIPPET_LEAD_CHARS)
    window_end = min(len(text), window_start + SNIPPET_CHARS)
    parts: list[str] = [Markup("…")] if window_start > 0 else []
    cursor = window_start
    for start, end, _term in spans:
        if start < cursor or end > window_end:
            continue
        parts.append(escape(text[cursor:start]))
        parts.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        cursor = end
    parts.append(escape(text[cursor:window_end]))
    if window_end < len(text):
        parts.append(Markup("…"))
    return Markup("").join(parts)


# --- The page -----------------------------------------------------------------------------

pages = Blueprint("search", __name__)


@pages.route("/search")
def search_page() -> tuple[str, int]:
    query = request.args.get("q", "")
    number = request.args.get("page", 1, type=int) or 1
    per_page = max(1, int(current_app.config["POSTS_PER_PAGE"]))
    outcome = search(query, number, per_page)

    def url_for_page(n: int) -> str:
        return url_for("search.search_page", q=outcome.query, page=n if n > 1 else None)

    page = Page(outcome.number, outcome.count, outcome.total)
    return render_page(
        "search.html",
        query=outcome.query,
        results=outcome.results,
        message=outcome.message,
        total=outcome.total,
        **pagination_urls(page, url_for_page),
    )
