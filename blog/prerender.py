"""Render a batch of posts ahead of saving them, on every core.

A bulk writer (``blog import``) first settles each post's fields (slug, images), then asks
:class:`RenderAhead` for their renders, made at once on the pre-forked render workers of
:mod:`blog.render_budget`, and saves each post with its render (``save_post(rendered=)``);
the database writes stay in the calling process, one transaction a post. Workers are
forked from this process, so they render with exactly its configuration and plugins,
unlike the spawned pool of :mod:`blog.parallel`, which rebuilds the app from the
instance folder.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask

from blog.document import PostDraft
from blog.render import Rendered, render_post, within_budget
from blog.search import body_tokens


def render_for_bulk(draft: PostDraft) -> Rendered:
    """:func:`~blog.render.render_post` of ``draft`` with the body's search-index tokens.

    Run on a render worker: normalising (script conversion) and cutting the body for the
    index is per-post CPU work that the single writing process would otherwise do in turn.
    The :class:`~blog.document.Document` the render read is left out: no writer reads it,
    and the writing process took five times as long to unpickle a render with it (0.25 ms
    against 0.05 ms a demo post, measured).
    """
    rendered = render_post(draft)
    return dataclasses.replace(rendered, index_tokens=body_tokens(rendered.text), document=None)


def default_workers() -> int:
    """One render at a time per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class RenderAhead:
    """Renders made at once on pre-forked render workers, while the caller goes on.

    Use as a context manager; :meth:`submit` returns a future of a whole
    :func:`~blog.render.render_post` of the draft, made under the same time budget and
    render slots as a save. Its result is ``None`` for a render not made ahead (one
    worker only, every slot busy, a worker lost, a render refused or stopped): the save
    renders that post itself, and reports its error as before.
    """

    def __init__(self, app: Flask, workers: int | None = None) -> None:
        self.app = app
        self.workers = default_workers() if workers is None else workers
        self._seconds = float(app.config["RENDER_TIMEOUT_SECONDS"])
        self._pool = (
            ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="blog-render-ahead")
            if self.workers > 1
            else None
        )

    def __enter__(self) -> RenderAhead:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, draft: PostDraft) -> Future[Rendered | None]:
        if self._pool is None:
            done: Future[Rendered | None] = Future()
            done.set_result(None)
            return done
        return self._pool.submit(self._render, draft)

    def _render(self, draft: PostDraft) -> Rendered | None:
        with self.app.app_context():
            try:
                rendered: Rendered = within_budget(
                    functools.partial(render_for_bulk, draft), self._seconds, size=None
                )
            # Made again, and reported, by the save itself. A RenderError too: a render
            # stopped at its deadline while every core was busy deserves its own budget.
            except Exception:
                return None
            return rendered
