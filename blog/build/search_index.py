"""The static site's search: one compact index per variant, read by the theme's script.

Tokens are exactly the server's (:func:`blog.search.index_tokens` over text passed through
the ``blog_search_text`` chain), so a query finds on the static site what the server finds.
The script cannot run the normalisation plugins, so the index carries a character map:
every character that appears on any built page and that normalisation changes (a
Traditional character, say) maps to its normalised form. Word-level normalisations
(Taiwan 記憶體 -> 内存) are not in the map; those queries find what their characters find.

Postings hold ``doc * 16 + fields`` where the field bits say where the token occurs (title
1, tags 2, category 4, body 8), so the script ranks title matches first as the server does.
A multi-character Chinese term matches documents holding all its bigrams (the server also
requires them to be adjacent; a rare extra hit is the price of a small index).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import regex
from sqlalchemy import select
from sqlalchemy.orm import defer

from blog import search
from blog.dates import format_date
from blog.models import Post, db
from blog.queries import HEAVY_COLUMNS, public_condition

INDEX_NAME = "search-index.json"
FIELD_BITS = {"title": 1, "tags": 2, "category": 4, "body": 8}
#: Characters of the scripts indexed as bigrams (the same set as the server's tokenizer).
_BIGRAM_CHAR = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")
_OG_TITLE = re.compile(r'<meta property="og:title" content="([^"]*)"')
_DESCRIPTION = re.compile(r'<meta name="description" content="([^"]*)"')
_SECTION = re.compile(r'<meta property="article:section" content="([^"]*)"')


def public_posts(light: bool = False) -> list[Post]:
    """The posts the indexes hold, newest first; ``light`` leaves the heavy columns unread.

    A rebuild tokenizes only the changed posts again, so it needs the others' bodies not at
    all (a changed post loads them when they are read).
    """
    query = (
        select(Post)
        .where(public_condition(), Post.password_hash.is_(None))
        .order_by(Post.published_at.desc(), Post.id.desc())
    )
    if light:
        query = query.options(*(defer(column) for column in HEAVY_COLUMNS))
    return list(db.session.scalars(query))


def postings(posts: Iterable[Post]) -> dict[str, list[int]]:
    """Token -> ``doc * 16 + field bits``, docs numbered in the order of ``posts``."""
    found: dict[str, dict[int, int]] = {}
    for number, post in enumerate(posts):
        fields = search.indexed_post(post).fields
        for name, bit in FIELD_BITS.items():
            for token in search.index_tokens(fields[name]):
                docs = found.setdefault(token, {})
                docs[number] = docs.get(number, 0) | bit
    return {
        token: [doc * 16 + bits for doc, bits in sorted(docs.items())]
        for token, docs in sorted(found.items())
    }


def public_postings() -> tuple[list[int], dict[str, list[int]]]:
    """The ids of :func:`public_posts` in order, and their :func:`postings`.

    A full build has a worker process run this while the pages render.
    """
    posts = public_posts()
    return [post.id for post in posts], postings(posts)


def updated_postings(
    previous: Mapping[str, list[int]], posts: list[Post], changed: set[int]
) -> dict[str, list[int]]:
    """:func:`postings` of ``posts`` from a previous index of the same posts in the same order,
    where only the documents numbered in ``changed`` are tokenized again."""
    fresh = postings(posts[number] for number in sorted(changed))
    renumbered = sorted(changed)
    found: dict[str, list[int]] = {}
    for token, entries in previous.items():
        kept = [entry for entry in entries if entry >> 4 not in changed]
        if kept:
            found[token] = kept
    for token, entries in fresh.items():
        # ``fresh`` numbers its documents 0, 1, ... in the order of ``renumbered``.
        found.setdefault(token, []).extend(
            renumbered[entry >> 4] * 16 + (entry & 15) for entry in entries
        )
    return {token: sorted(entries) for token, entries in sorted(found.items())}


def read_index(data: bytes) -> dict[str, Any] | None:
    """A variant's index as :func:`index_document` wrote it, or ``None`` if unreadable."""
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("v") != 1:
        return None
    if not all(isinstance(document.get(key), kind) for key, kind in _INDEX_PARTS.items()):
        return None
    return document


_INDEX_PARTS = {"docs": list, "map": dict, "tokens": dict}
#: How :func:`index_document` starts a file and ends its ``docs`` list. Inside a JSON
#: string every quote is escaped, so the end marker can only be the structural one.
_DOCS_START = b'{"v":1,"docs":'
_DOCS_END = b'],"map":{'


def read_docs(data: bytes) -> list[Any] | None:
    """Only the ``docs`` of an index :func:`index_document` wrote, or ``None``.

    Every variant's index holds the same tokens and character map, megabytes at a
    thousand posts; a rebuild needs them once (:func:`read_index` of one variant) and
    only the docs of the others, which this reads without parsing the rest.
    """
    end = data.find(_DOCS_END)
    if data.startswith(_DOCS_START) and end > 0:
        try:
            docs = json.loads(data[len(_DOCS_START) : end + 1])
        except ValueError:
            docs = None
        if isinstance(docs, list):
            return docs
    document = read_index(data)
    return None if document is None else document["docs"]


def character_map(texts: Iterable[str]) -> dict[str, str]:
    """Every bigram-script character in ``texts`` that normalisation changes -> its result."""
    # The distinct characters of a page first (a C loop), then the pattern on those few
    # hundred: a third faster than the pattern over every character of 7,500 pages.
    distinct: set[str] = set()
    for text in texts:
        distinct.update(text)
    characters = sorted(c for c in distinct if _BIGRAM_CHAR.match(c))
    if not characters:
        return {}
    normalized = search.normalize("\n".join(characters)).split("\n")
    if len(normalized) != len(characters):
        normalized = [search.normalize(c) for c in characters]
    return {c: n for c, n in zip(characters, normalized, strict=True) if n != c}


def page_facts(page_html: str) -> tuple[str, str, str]:
    """The title, description and category of a built post page, in that page's script."""
    found = [pattern.search(page_html) for pattern in (_OG_TITLE, _DESCRIPTION, _SECTION)]
    title, description, category = (html.unescape(m.group(1)) if m else "" for m in found)
    return title, description, category


_POST_META = re.compile(r'<p class="post-meta">(.*?)</p>', re.S)
_CATEGORY_LINK = re.compile(r'<a class="category[^"]*" href="[^"]*">(.*?)</a>', re.S)
_TAG = re.compile(r"<[^>]+>")


def page_categories(page_html: str) -> list[str]:
    """The names of a built post page's categories as its header shows them (primary
    first, in that page's script and spacing)."""
    meta = _POST_META.search(page_html)
    if meta is None:
        return []
    return [html.unescape(_TAG.sub("", m.group(1))) for m in _CATEGORY_LINK.finditer(meta[1])]


def categories_of(post: Post, page_html: str) -> list[list[str]]:
    """``[shown name, path]`` of every category of ``post``, primary first, as the server's
    search page links them."""
    names = [category.name for category in post.categories]
    shown = page_categories(page_html)
    if len(shown) != len(names):
        shown = names
    return [
        [text, f"categories/{quote(name, safe='')}/"]
        for text, name in zip(shown, names, strict=True)
    ]


def post_path(post: Post) -> str:
    return f"posts/{quote(post.slug, safe='')}/"


def _encoded(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def shared_parts(tokens: dict[str, list[int]], characters: dict[str, str]) -> bytes:
    """The end of every variant's index: its character map and tokens, encoded once."""
    return b',"map":' + _encoded(characters) + b',"tokens":' + _encoded(tokens) + b"}"


def _dates(post: Post) -> dict[str, str]:
    """The publication date in the site's time zone: ``d`` for ``<time datetime>``, ``f`` as
    the site's pages print it (``DATE_FORMAT``). Call inside an application context."""
    if post.published_at is None:
        return {"d": "", "f": ""}
    return {"d": format_date(post.published_at, "iso"), "f": format_date(post.published_at)}


def index_document(
    posts: list[Post],
    shared: bytes,
    pages: dict[str, str],
    previous: list[dict[str, Any]] | None = None,
) -> bytes:
    """The index of one variant; ``pages`` maps each post's path to its built HTML.

    ``shared`` is :func:`shared_parts`, the same in every variant. A post whose page is not
    in ``pages`` keeps its entry from ``previous`` (the docs of the previous build's index,
    when the page was not rendered again).
    """
    docs: list[dict[str, Any]] = []
    earlier = {str(doc.get("u")): doc for doc in previous or [] if isinstance(doc, dict)}
    for post in posts:
        path = post_path(post)
        if path not in pages and path in earlier:
            # Dates are recomputed: an older build wrote them in UTC, not the site's zone.
            docs.append({**earlier[path], **_dates(post)})
            continue
        page = pages.get(path, "")
        title, description, category = page_facts(page)
        docs.append(
            {
                "u": path,
                "t": title or post.title,
                **_dates(post),
                "c": category or (post.category.name if post.category else ""),
                # Every category with its listing's path ("c" alone: an older build's entry).
                "k": categories_of(post, page),
                "e": description,
            }
        )
    # The bytes json.dumps gives {"v": 1, "docs": ..., "map": ..., "tokens": ...}.
    return _DOCS_START + _encoded(docs) + shared
