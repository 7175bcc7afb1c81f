"""Full-text search: one index interface over SQLite FTS5 and PostgreSQL ``tsvector``.

Chinese has no spaces between words, so text is cut into overlapping character bigrams
in Python (``神经网络`` -> ``神经 经网 网络 络``) and both databases only store and match
those tokens; a query run becomes a phrase of its bigrams. The last character of every
run is also indexed alone, so each character begins exactly one token and a
one-character query is a prefix query. Words in other scripts are indexed whole and
case-folded. Tokenising in Python gives both backends the same recall.

Indexed text and queries both pass through the ``blog_search_text`` hook chain (script
normalisation), so a query in either script finds posts in either script.

Modules, one job each: ``tokens`` (cutting text and queries), ``backends`` (SQLite and
PostgreSQL), ``index`` (keeping the index current), ``query`` (answering a search),
``snippets`` (the passage shown with a result) and ``page`` (the ``/search`` page, not
imported here: the save path imports this package and must not load the views).
"""

from blog.search.backends import (
    Backend,
    IndexedPost,
    PostgresBackend,
    SqliteBackend,
    backend,
    search_documents,
    tsquery_literal,
    tsvector_literal,
)
from blog.search.index import (
    body_tokens,
    indexed_post,
    rebuild_index,
    stored_body_text,
    update_index,
)
from blog.search.query import SearchOutcome, SearchResult, search
from blog.search.snippets import snippet
from blog.search.tokens import Term, index_tokens, normalize, parse_query

__all__ = [
    "Backend",
    "IndexedPost",
    "PostgresBackend",
    "SearchOutcome",
    "SearchResult",
    "SqliteBackend",
    "Term",
    "backend",
    "body_tokens",
    "index_tokens",
    "indexed_post",
    "normalize",
    "parse_query",
    "rebuild_index",
    "search",
    "search_documents",
    "snippet",
    "stored_body_text",
    "tsquery_literal",
    "tsvector_literal",
    "update_index",
]
