"""Render many posts on every core: worker processes render, the caller alone writes.

Rendering is pure CPU work on the post's fields (:class:`~blog.document.PostDraft`): it
needs the plugins and the configuration but not the database. Where the system can fork,
the drafts go to the pre-forked render workers of :mod:`blog.render_budget` (through
:class:`~blog.prerender.RenderAhead`): forked from this process, they start with its app,
plugins and warm caches, where a spawned worker would import and build everything again
(about a second of CPU each, measured, before its first render). Elsewhere a pool of
spawned processes builds the application once per worker for the same instance folder.
Either way the results come back in order to the calling process, which is the only one
writing to the database (SQLite allows one writer; PostgreSQL gets one transaction per
batch as before).

Used by ``blog rerender``; ``render_all`` is the small interface another bulk writer
(``blog reindex``) can call with its own drafts.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from flask import Flask

from blog.app import create_app
from blog.document import PostDraft
from blog.prerender import RenderAhead, render_for_bulk
from blog.render import Rendered, RenderError

#: Below this many posts a pool costs more to start than it saves.
MIN_POSTS_FOR_POOL = 8

_worker_app: Flask | None = None


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _start_worker(instance_path: str) -> None:
    global _worker_app
    _worker_app = create_app(instance_path=Path(instance_path))


def _render_in_worker(draft: PostDraft) -> Rendered | RenderError:
    assert _worker_app is not None, "worker started without its app"
    with _worker_app.app_context():
        try:
            return render_for_bulk(draft)
        except RenderError as error:  # the post's own problem: reported, not fatal
            return error


def render_all(
    app: Flask,
    drafts: Iterable[PostDraft],
    workers: int | None = None,
    ahead: int | None = None,
) -> Iterator[tuple[PostDraft, Rendered | RenderError]]:
    """Render ``drafts`` and yield ``(draft, result)`` in order; a RenderError is a result.

    With one worker, or fewer than :data:`MIN_POSTS_FOR_POOL` drafts, rendering happens in
    this process. Call inside an application context of ``app``. Up to ``ahead`` renders
    (default: four per worker) are under way beyond the last one yielded: a caller that
    takes results in batches and writes each batch before taking the next passes at
    least its batch size, so the workers go on rendering while it writes.
    """
    count = default_workers() if workers is None else workers
    source = iter(drafts)
    # Only the first few are read before rendering starts; the rest are read as the
    # renders go (by the caller's own session, between its writes).
    first = list(itertools.islice(source, MIN_POSTS_FOR_POOL))
    if count <= 1 or len(first) < MIN_POSTS_FOR_POOL:
        for draft in itertools.chain(first, source):
            yield draft, _rendered_here(draft)
        return
    pending = itertools.chain(first, source)
    window = max(count * 4, ahead or 0)
    if hasattr(os, "fork"):
        yield from _on_render_workers(app, pending, count, window)
        return
    # No fork here: "spawn" is what the system offers (each worker builds the app again).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=count,
        mp_context=context,
        initializer=_start_worker,
        initargs=(str(app.instance_path),),
    ) as pool:
        # A bounded window of work in flight keeps memory flat on large sites.
        futures: list[tuple[PostDraft, Future[Any]]] = []
        for draft in pending:
            futures.append((draft, pool.submit(_render_in_worker, draft)))
            if len(futures) >= window:
                done_draft, future = futures.pop(0)
                yield done_draft, future.result()
        for done_draft, future in futures:
            yield done_draft, future.result()


def _rendered_here(draft: PostDraft) -> Rendered | RenderError:
    try:
        return render_for_bulk(draft)
    except RenderError as error:  # the post's own problem: reported, not fatal
        return error


def _on_render_workers(
    app: Flask, drafts: Iterable[PostDraft], count: int, window: int
) -> Iterator[tuple[PostDraft, Rendered | RenderError]]:
    """Render ``drafts`` on ``count`` pre-forked render workers, yielding in order, with
    at most ``window`` renders submitted and not yet yielded.

    A render not made there (see :class:`~blog.prerender.RenderAhead`: a slot busy, a
    worker lost, a render refused or stopped) is made again here, under its own budget,
    so its error is the one a save would report.
    """
    # A bounded window of work in flight keeps memory flat on large sites.
    with RenderAhead(app, count) as ahead:
        waiting: deque[tuple[PostDraft, Future[Rendered | None]]] = deque()
        for draft in drafts:
            waiting.append((draft, ahead.submit(draft)))
            if len(waiting) >= window:
                done, future = waiting.popleft()
                yield done, future.result() or _rendered_here(done)
        while waiting:
            done, future = waiting.popleft()
            yield done, future.result() or _rendered_here(done)
