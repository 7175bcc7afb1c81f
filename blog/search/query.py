"""Answering a search: parse, rank in the backend, load the posts and their snippets."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import defer

from blog.i18n import ui_plural, ui_text
from blog.models import Post, db
from blog.queries import HEAVY_COLUMNS
from blog.search.backends import backend, search_documents
from blog.search.index import category_names
from blog.search.snippets import snippet
from blog.search.tokens import Term, normalize, parse_query

MAX_QUERY_CHARS = 100
MAX_TERMS = 12


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
                categories=category_names(post),
            )
        )
    return results
