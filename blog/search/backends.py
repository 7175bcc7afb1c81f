"""The two index backends: SQLite FTS5 and PostgreSQL ``tsvector``, behind one interface."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from blog.models import Post, db
from blog.queries import public_condition
from blog.search.tokens import Term, index_tokens

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


@dataclass
class IndexedPost:
    """A post's searchable fields after normalisation, plus its original text for snippets."""

    post_id: int
    #: Each field of :data:`FIELDS` normalised; without ``"body"`` when ``body_tokens`` is set.
    fields: dict[str, str]
    body_text: str
    #: The body's index tokens, space-separated, when the render made them (on a render
    #: worker, so a bulk writer does not normalise and cut every body itself).
    body_tokens: str | None = None

    def tokens(self, name: str) -> list[str]:
        """The index tokens of the field ``name``, in order."""
        if name == "body" and self.body_tokens is not None:
            return self.body_tokens.split()
        return index_tokens(self.fields[name])

    def token_text(self, name: str) -> str:
        """The index tokens of the field ``name``, space-separated, as FTS5 stores them."""
        if name == "body" and self.body_tokens is not None:
            return self.body_tokens
        return " ".join(index_tokens(self.fields[name]))


class Backend(Protocol):
    def store(self, entry: IndexedPost) -> None: ...
    def insert(self, entries: Sequence[IndexedPost]) -> None: ...
    def remove(self, post_id: int) -> None: ...
    def clear(self) -> None: ...
    def search(self, terms: Sequence[Term], limit: int, offset: int) -> tuple[list[int], int]: ...
    def document_count(self) -> int: ...
    def frequencies(self, tokens: Sequence[str], cap: int) -> dict[str, int]: ...
    def postings(self, tokens: Sequence[str], cap: int) -> dict[str, list[int]]: ...
    def stored_tokens(
        self, ids: Sequence[int], body_chars: int
    ) -> dict[int, dict[str, list[str]]] | None: ...


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


_FTS_INSERT = sql_text(
    "INSERT INTO search_fts (rowid, title, body, tags, category) "
    "VALUES (:id, :title, :body, :tags, :category)"
)
#: A post's row put in place of the one it had, if any: FTS5 honours ``OR REPLACE`` on the
#: rowid, so a save writes the index in one statement instead of a ``DELETE`` and an ``INSERT``.
_FTS_REPLACE = sql_text(
    "INSERT OR REPLACE INTO search_fts (rowid, title, body, tags, category) "
    "VALUES (:id, :title, :body, :tags, :category)"
)
_FTS_DELETE = sql_text("DELETE FROM search_fts WHERE rowid = :id")
_sqlite_document = sqlite_insert(search_documents).values(
    post_id=bindparam("post_id"), body_text=bindparam("body_text")
)
#: One post's ``search_documents`` row written whether or not it exists (a save), in one
#: statement instead of a ``DELETE`` and an ``INSERT``; built once, as are the three above.
_SQLITE_DOCUMENT = _sqlite_document.on_conflict_do_update(
    index_elements=["post_id"], set_={"body_text": _sqlite_document.excluded.body_text}
)


class SqliteBackend:
    """FTS5 table ``search_fts`` (columns as in :data:`FIELDS`) whose rowid is the post id."""

    def store(self, entry: IndexedPost) -> None:
        """Index ``entry`` in place of what the index held for its post (if anything)."""
        db.session.execute(
            _FTS_REPLACE, {"id": entry.post_id, **{f: entry.token_text(f) for f in FIELDS}}
        )
        db.session.execute(
            _SQLITE_DOCUMENT, {"post_id": entry.post_id, "body_text": entry.body_text}
        )

    def insert(self, entries: Sequence[IndexedPost]) -> None:
        """Add ``entries`` (not in the index yet) in one statement per table."""
        if not entries:
            return
        db.session.execute(
            _FTS_INSERT,
            [{"id": e.post_id, **{f: e.token_text(f) for f in FIELDS}} for e in entries],
        )
        db.session.execute(
            search_documents.insert(),
            [{"post_id": e.post_id, "body_text": e.body_text} for e in entries],
        )

    def remove(self, post_id: int) -> None:
        db.session.execute(_FTS_DELETE, {"id": post_id})
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

    def document_count(self) -> int:
        # FTS5 keeps one short row per document in its `_docsize` shadow table; counting
        # search_fts itself or search_documents (the bodies' text) reads far more pages:
        # 52 and 37 ms against 1 ms at 10,000 posts.
        return int(db.session.scalar(sql_text("SELECT count(*) FROM search_fts_docsize")) or 0)

    def stored_tokens(
        self, ids: Sequence[int], body_chars: int
    ) -> dict[int, dict[str, list[str]]] | None:
        """The tokens the index holds for the posts ``ids`` (those indexed), by field; of
        the body, those within its first ``body_chars`` stored characters."""
        body = func.substr(literal_column("body"), 1, body_chars + 1)
        fields: list[Any] = [literal_column(name) for name in ("title", "tags", "category")]
        rows = db.session.execute(
            select(search_fts.c.rowid, *fields, body).where(search_fts.c.rowid.in_(list(ids)))
        )
        found: dict[int, dict[str, list[str]]] = {}
        for post_id, *values, text in rows:
            # Cut inside a token: that part-token is left out.
            words = (text or "").split(" ")
            if len(text or "") > body_chars:
                words = words[:-1]
            found[post_id] = {
                name: (value or "").split()
                for name, value in zip(("title", "tags", "category"), values, strict=True)
            }
            found[post_id]["body"] = [word for word in words if word]
        return found

    def frequencies(self, tokens: Sequence[str], cap: int) -> dict[str, int]:
        """How many posts hold each token, counted up to ``cap`` (a common token stops there)."""
        # Each token a quoted phrase (tokens hold only letters and digits).
        rows = db.session.execute(
            sql_text(
                "SELECT t.value, (SELECT count(*) FROM (SELECT 1 FROM search_fts "
                "WHERE search_fts MATCH '\"' || t.value || '\"' LIMIT :cap)) "
                "FROM json_each(:tokens) AS t"
            ),
            {"tokens": json.dumps(list(tokens)), "cap": cap},
        )
        return dict(rows.all())

    def postings(self, tokens: Sequence[str], cap: int) -> dict[str, list[int]]:
        """The posts holding each token, newest first (highest id), at most ``cap`` each."""
        # SQLite has no LATERAL join: each token's newest posts come back as one list.
        rows = db.session.execute(
            sql_text(
                "SELECT t.value, (SELECT group_concat(rowid) FROM (SELECT rowid FROM search_fts "
                "WHERE search_fts MATCH '\"' || t.value || '\"' ORDER BY rowid DESC LIMIT :cap)) "
                "FROM json_each(:tokens) AS t"
            ),
            {"tokens": json.dumps(list(tokens)), "cap": cap},
        )
        return {
            token: sorted(map(int, (ids or "").split(",") if ids else ()), reverse=True)
            for token, ids in rows
        }


def _pg_quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(fields: dict[str, str], body_tokens: str | None = None) -> str:
    """Build a ``tsvector`` value from our own tokens, bypassing PostgreSQL's word parser.

    ``fields`` are normalised; ``body_tokens`` (see :class:`IndexedPost`) stands for the
    tokens of ``fields["body"]`` when given.

    Positions wrap at PostgreSQL's maximum (a rare false phrase match in very long posts,
    never a missed one); very long posts keep fewer positions per token to stay under the
    size limit of a ``tsvector``.
    """
    positions: dict[str, list[str]] = {}
    counter = 0
    entry = IndexedPost(0, fields, "", body_tokens)
    for name in ("title", "tags", "category", "body"):
        weight = POSTGRES_WEIGHTS[name]
        for token in entry.tokens(name):
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


_postgres_document = postgresql_insert(search_documents).values(
    post_id=bindparam("post_id"),
    body_text=bindparam("body_text"),
    document=cast(bindparam("literal", type_=Text), TSVECTOR),
)
#: One post's row written whether or not it exists (a save), in one statement, built once.
_POSTGRES_DOCUMENT = _postgres_document.on_conflict_do_update(
    index_elements=["post_id"],
    set_={
        "body_text": _postgres_document.excluded.body_text,
        "document": _postgres_document.excluded.document,
    },
)


class PostgresBackend:
    """``search_documents.document`` holds a weighted ``tsvector`` with a GIN index."""

    def store(self, entry: IndexedPost) -> None:
        """Index ``entry`` in place of what the index held for its post (if anything)."""
        db.session.execute(
            _POSTGRES_DOCUMENT,
            {
                "post_id": entry.post_id,
                "body_text": entry.body_text,
                "literal": tsvector_literal(entry.fields, entry.body_tokens),
            },
        )

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
                    "literal": tsvector_literal(e.fields, e.body_tokens),
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

    def document_count(self) -> int:
        return int(db.session.scalar(select(func.count()).select_from(search_documents)) or 0)

    def stored_tokens(
        self, ids: Sequence[int], body_chars: int
    ) -> dict[int, dict[str, list[str]]] | None:
        """``None``: a ``tsvector`` keeps no order of its tokens; the caller tokenises."""
        return None

    def frequencies(self, tokens: Sequence[str], cap: int) -> dict[str, int]:
        """How many posts hold each token, counted up to ``cap`` (a common token stops there)."""
        rows = db.session.execute(
            sql_text(
                "SELECT q.token, (SELECT count(*) FROM (SELECT 1 FROM search_documents d "
                "WHERE d.document @@ CAST(q.query AS tsquery) LIMIT :cap) AS s) "
                "FROM unnest(CAST(:tokens AS text[]), CAST(:queries AS text[])) AS q(token, query)"
            ),
            self._values(tokens, cap),
        )
        return dict(rows.all())

    def postings(self, tokens: Sequence[str], cap: int) -> dict[str, list[int]]:
        """The posts holding each token, newest first (highest id), at most ``cap`` each."""
        rows = db.session.execute(
            sql_text(
                "SELECT q.token, p.post_id "
                "FROM unnest(CAST(:tokens AS text[]), CAST(:queries AS text[])) AS q(token, query) "
                "CROSS JOIN LATERAL (SELECT d.post_id FROM search_documents d "
                "WHERE d.document @@ CAST(q.query AS tsquery) "
                "ORDER BY d.post_id DESC LIMIT :cap) AS p"
            ),
            self._values(tokens, cap),
        )
        found: dict[str, list[int]] = {token: [] for token in tokens}
        for token, post_id in rows:
            found[token].append(post_id)
        return found

    @staticmethod
    def _values(tokens: Sequence[str], cap: int) -> dict[str, Any]:
        return {"tokens": list(tokens), "queries": [_pg_quote(t) for t in tokens], "cap": cap}


def backend() -> Backend:
    if db.engine.dialect.name == "postgresql":
        return PostgresBackend()
    return SqliteBackend()
