"""Ask the app for pages: in this process, or on every core with a pool of processes.

Each page is a request through Flask's test client, tens of milliseconds of CPU (templates,
the variant filter); the pages of one crawl round do not depend on each other, so a
process pool renders them side by side. Every worker builds the same app as the caller
(:func:`build_app`) and only reads the database, which SQLite and PostgreSQL both allow
from several processes at once. Results come back in the order asked.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from sqlalchemy import event

from blog.app import create_app
from blog.build import STATIC_SITE_KEY
from blog.build.paths import BuildError
from blog.config import ConfigError
from blog.models import Post
from blog.parallel import default_workers
from blog.queries import HEAVY_COLUMNS

#: Below this many pages in a round, sending them to the pool costs more than it saves.
MIN_PAGES_FOR_POOL = 16

#: ``(status, mimetype, body, shown)`` of one requested path: ``shown`` holds the ids of
#: the posts whose body, source or TOC the page loaded (:func:`recording_bodies`).
Answer = tuple[int, str, bytes, frozenset[int]]
Fetcher = Callable[[Sequence[str]], list[Answer]]


def build_app(instance: Path, site_url: str) -> Flask:
    """The app the pages come from: no page cache, SITE_URL set to the published address.

    Comments are off: a static host cannot take a comment, and the comment form carries a
    time-limited token that would make every build differ from the last.
    """
    overrides: dict[str, Any] = {"PAGE_CACHE_BYTES": 0, "COMMENTS_ENABLED": False}
    if site_url:
        overrides["SITE_URL"] = site_url
    try:
        app = create_app(config=overrides, instance_path=instance)
    except ConfigError as error:
        raise BuildError(str(error)) from None

    @app.context_processor
    def static_site() -> dict[str, Any]:
        return {"static_site": bool(request.environ.get(STATIC_SITE_KEY))}

    return app


def reader_environ(site_url: str) -> dict[str, Any]:
    """The WSGI environ of an anonymous reader of the published site."""
    environ: dict[str, Any] = {STATIC_SITE_KEY: True}
    if site_url:
        parts = urlsplit(site_url)
        environ["HTTP_HOST"] = parts.netloc
        environ["wsgi.url_scheme"] = parts.scheme or "http"
    return environ


_HEAVY_NAMES = frozenset(column.key for column in HEAVY_COLUMNS)


@contextmanager
def recording_bodies() -> Iterator[set[int]]:
    """Collect the ids of posts whose heavy columns (body, source, TOC) get loaded.

    Listings, neighbours and related posts load posts with those columns deferred
    (:data:`blog.queries.HEAVY_COLUMNS`), so a page that loads them is one that can show a
    post's body: its own page, a feed, or a theme's full-text listing. The build counts such
    a page as showing everything of that post; a page that only links to a post shows what
    a card shows (:mod:`blog.build.plan`).
    """
    loaded: set[int] = set()

    def on_load(target: Post, _context: object) -> None:
        # What is in the instance's dict, not the attribute names the event reports: a
        # query that meets a post already loaded without them lists the deferred columns
        # as "to load" and still leaves them deferred.
        if not _HEAVY_NAMES.isdisjoint(target.__dict__):
            loaded.add(target.id)

    def on_refresh(target: Post, context: object, _attributes: object) -> None:
        on_load(target, context)

    event.listen(Post, "load", on_load)
    event.listen(Post, "refresh", on_refresh)
    try:
        yield loaded
    finally:
        event.remove(Post, "load", on_load)
        event.remove(Post, "refresh", on_refresh)


def local_fetcher(app: Flask, site_url: str) -> Fetcher:
    client = app.test_client()
    environ = reader_environ(site_url)

    def fetch(paths: Sequence[str]) -> list[Answer]:
        answers: list[Answer] = []
        with recording_bodies() as loaded:
            for path in paths:
                loaded.clear()
                response = client.get(path, environ_base=environ)
                answers.append(
                    (
                        response.status_code,
                        response.mimetype or "",
                        response.get_data(),
                        frozenset(loaded),
                    )
                )
        return answers

    return fetch


_worker_fetch: Fetcher | None = None


def _start_worker(instance: str, site_url: str) -> None:
    global _worker_fetch
    _worker_fetch = local_fetcher(build_app(Path(instance), site_url), site_url)


def _fetch_in_worker(paths: list[str]) -> list[Answer]:
    assert _worker_fetch is not None, "worker started without its app"
    return _worker_fetch(paths)


class PoolFetcher:
    """Fetches rounds of pages on ``workers`` processes; small rounds stay in this process."""

    def __init__(self, app: Flask, instance: Path, site_url: str, workers: int) -> None:
        self.local = local_fetcher(app, site_url)
        self.workers = workers
        # "spawn": a forked worker would inherit the parent's database connections and locks.
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(str(instance), site_url),
        )

    def __call__(self, paths: Sequence[str]) -> list[Answer]:
        if len(paths) < MIN_PAGES_FOR_POOL:
            return self.local(paths)
        # A few chunks per worker: even when pages differ in cost, no worker idles long.
        size = max(1, -(-len(paths) // (self.workers * 4)))
        chunks = [list(paths[start : start + size]) for start in range(0, len(paths), size)]
        answers: list[Answer] = []
        for part in self.pool.map(_fetch_in_worker, chunks):
            answers.extend(part)
        return answers

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def workers_for(requested: int | None) -> int:
    """``requested`` worker processes, or one per core this process may use."""
    return max(1, requested if requested is not None else default_workers())
