"""Ask the app for pages: in this process, or on every core with a pool of processes.

Each page is a request through Flask's test client, tens of milliseconds of CPU (templates,
the variant filter); the pages of one crawl round do not depend on each other, so a
process pool renders them side by side. Every worker builds the same app as the caller
(:func:`build_app`) and only reads the database, which SQLite and PostgreSQL both allow
from several processes at once. Results come back in the order asked.

What the caller does with each answer (find its links, point them below the site's
sub-path, compress it) is given as a ``finish`` function that runs where the page was
rendered: in the workers, side by side, not one page after another in the caller.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar
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
#: What the caller receives for each path: ``finish(path, answer)``, run where the page
#: was rendered.
Result = TypeVar("Result")
Finish = Callable[[str, Answer], Result]
Task = TypeVar("Task")


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


class LocalFetcher(Generic[Result]):
    """Fetches pages in this process."""

    workers = 1

    def __init__(self, app: Flask, site_url: str, finish: Finish[Result]) -> None:
        self.app = app
        self.client = app.test_client()
        self.environ = reader_environ(site_url)
        self.finish = finish

    def __call__(self, paths: Sequence[str]) -> list[Result]:
        results: list[Result] = []
        with recording_bodies() as loaded:
            for path in paths:
                loaded.clear()
                response = self.client.get(path, environ_base=self.environ)
                answer = (
                    response.status_code,
                    response.mimetype or "",
                    response.get_data(),
                    frozenset(loaded),
                )
                results.append(self.finish(path, answer))
        return results

    def submit(self, paths: Sequence[str]) -> Future[list[Result]]:
        """``self(paths)`` as a future, already done: the interface of :class:`PoolFetcher`."""
        done: Future[list[Result]] = Future()
        done.set_result(self(paths))
        return done

    def run(self, task: Callable[[], Task]) -> Future[Task]:
        """``task()`` inside an application context, as a future already done."""
        done: Future[Task] = Future()
        with self.app.app_context():
            done.set_result(task())
        return done

    def close(self) -> None:
        pass


_worker_fetch: LocalFetcher[Any] | None = None


def _start_worker(instance: str, site_url: str, finish: Finish[Any]) -> None:
    global _worker_fetch
    _worker_fetch = LocalFetcher(build_app(Path(instance), site_url), site_url, finish)


def _fetch_in_worker(paths: list[str]) -> list[Any]:
    assert _worker_fetch is not None, "worker started without its app"
    return _worker_fetch(paths)


def _run_in_worker(task: Callable[[], Task]) -> Task:
    assert _worker_fetch is not None, "worker started without its app"
    return _worker_fetch.run(task).result()


class PoolFetcher(Generic[Result]):
    """Fetches pages on ``workers`` processes; small lists stay in this process."""

    def __init__(
        self, app: Flask, instance: Path, site_url: str, workers: int, finish: Finish[Result]
    ) -> None:
        self.local = LocalFetcher(app, site_url, finish)
        self.workers = workers
        # "spawn": a forked worker would inherit the parent's database connections and locks.
        # ``finish`` goes to the workers by reference: a module-level function (or a
        # functools.partial of one) that pickle can name.
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(str(instance), site_url, finish),
        )

    def __call__(self, paths: Sequence[str]) -> list[Result]:
        if len(paths) < MIN_PAGES_FOR_POOL:
            return self.local(paths)
        # A few chunks per worker: even when pages differ in cost, no worker idles long.
        size = max(1, -(-len(paths) // (self.workers * 4)))
        chunks = [list(paths[start : start + size]) for start in range(0, len(paths), size)]
        results: list[Result] = []
        for part in self.pool.map(_fetch_in_worker, chunks):
            results.extend(part)
        return results

    def submit(self, paths: Sequence[str]) -> Future[list[Result]]:
        """Start fetching ``paths`` on the next free worker."""
        return self.pool.submit(_fetch_in_worker, list(paths))

    def run(self, task: Callable[[], Task]) -> Future[Task]:
        """Run ``task()`` (a module-level function) on a worker, in an application context."""
        return self.pool.submit(_run_in_worker, task)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


#: Either kind of fetcher: what :mod:`blog.build.pages` asks for pages.
Fetcher = LocalFetcher[Result] | PoolFetcher[Result]


def workers_for(requested: int | None) -> int:
    """``requested`` worker processes, or one per core this process may use."""
    return max(1, requested if requested is not None else default_workers())
