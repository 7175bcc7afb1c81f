"""Tokens: how text and queries are cut for the index (see the package docstring)."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass

import regex
from flask import current_app

from blog.plugins import Plugins

#: Scripts written without spaces between words: indexed as character bigrams.
BIGRAM_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
_TOKEN_RUNS = regex.compile(
    rf"(?P<cjk>[{BIGRAM_SCRIPTS}]+)|(?P<word>[[\p{{L}}\p{{N}}]--[{BIGRAM_SCRIPTS}]]+)",
    regex.V1,
)
#: A longer word (a hash, base64) is cut to this length on both the index and query side.
MAX_TOKEN_CHARS = 64
#: Latin words this long or longer also match as prefixes ("optim" finds "optimizer").
PREFIX_MIN_CHARS = 3


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
