"""Where a save's time goes: the render process, side by side in one run.

Saves the 8,000-character bench post (10 inline and 3 display formulas, 3 code blocks;
17 KB, so above ``RENDER_INLINE_BYTES`` and rendered under the kill-on-deadline budget)
again and again, interleaving rounds of:

* ``save_post`` as shipped: the render goes to a pre-forked worker,
* ``save_post`` with a child forked for every render (the issue-23 design),
* ``save_post`` rendering in this process (no budget: the floor a budget can reach),
* bare Python-Markdown with the core's extensions on the same source,

and prints each median (wall time) and their ratios. A save is timed as the editor's
request makes it, up to the commit; the related lists it leaves to choose once the
response is sent are timed after each save and printed on their own line.
Run: ``python -m bench.save_bench``.

``--stages`` also prints where one save's time goes: the CPU time of each stage (Markdown
and the render hooks, the sanitizer, the document reader, the save-time hooks, the search
index, related posts, the SQL around them), medians over in-process saves rendered in
this thread, so that the render is counted too.
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import markdown
from flask import Flask

from bench.inprocess import save_time_post
from bench.site import new_app, write_instance
from blog import posts, render, render_budget
from blog.models import Post, db
from blog.posts import PostFields, save_post

CORE_EXTENSIONS = ["extra", "sane_lists", "admonition", "toc"]


class _ForkPerRender:
    """The issue-23 way: fork a child for this render alone (stands in for the pool)."""

    def run(self, app: Flask, task: bytes, seconds: float) -> Any:
        # Trusted bytes: pickled by this very process a moment ago.
        return render_budget._in_child(lambda: pickle.loads(task)(), seconds)


@contextmanager
def _mode(app: Flask, mode: str) -> Iterator[None]:
    pool = render_budget._POOL
    inline = app.config["RENDER_INLINE_BYTES"]
    try:
        if mode == "fork per render":
            render_budget._POOL = _ForkPerRender()  # type: ignore[assignment]
        elif mode == "in process (no budget)":
            app.config["RENDER_INLINE_BYTES"] = 1 << 30
        yield
    finally:
        render_budget._POOL = pool
        app.config["RENDER_INLINE_BYTES"] = inline


def saver(app: Flask, source: str) -> Callable[[int], None]:
    """A save as the editor's request makes it: what the writer waits for, up to the commit.

    The related lists it notes are chosen once the response is sent (``posts.py``); that
    work is timed by :func:`after_response`, separately.
    """
    post: Post | None = None

    def save(number: int) -> None:
        nonlocal post
        fields = PostFields(title="保存基准", source=f"{source}\n\n第{number}次保存。", slug="save")
        with app.test_request_context("/admin/posts/save", method="POST"):
            post = save_post(fields, author="bench", post=post)

    return save


def after_response(app: Flask) -> None:
    """What the server does once a save's response is out: choose the related lists noted."""
    with app.app_context():
        posts.choose_related_if_waiting()


#: Stages timed by ``--stages``: (module, function, label), in the order a save runs them.
STAGES = [
    (render, "check_render_limits", "input limits"),
    (render, "within_budget", "Markdown + render hooks"),
    (render, "sanitize_html", "sanitizer (nh3)"),
    (render, "read_document", "document reader"),
    (posts, "update_index", "search index"),
    (posts, "note_pending", "related posts: note"),
]
HOOKS = [("blog_excerpt", "excerpt hook"), ("blog_post_metadata", "metadata hooks")]


@contextmanager
def _timed_stages(app: Flask, spent: dict[str, list[float]]) -> Iterator[None]:
    """Record each stage's CPU time (this thread) into ``spent``, rendering in this thread."""
    originals: list[tuple[Any, str, Any]] = []

    def timed(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent.setdefault(label, []).append(time.thread_time() - started)

        return wrapper

    def replace(owner: Any, name: str, new: Any) -> None:
        originals.append((owner, name, getattr(owner, name)))
        setattr(owner, name, new)

    plugins = app.extensions["blog.plugins"]
    try:
        # The render runs here, not in a worker: its CPU time is this thread's.
        replace(render, "within_budget", lambda work, seconds, size=None: work())
        for module, name, label in STAGES:
            replace(module, name, timed(getattr(module, name), label))
        for hook, label in HOOKS:
            replace(plugins.hooks, hook, timed(getattr(plugins.hooks, hook), label))
        replace(posts, "_save_once", timed(posts._save_once, "whole save"))
        yield
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def print_stages(app: Flask, save: Callable[[int], None], first: int, rounds: int) -> None:
    spent: dict[str, list[float]] = {}
    later: list[float] = []
    with _timed_stages(app, spent):
        for number in range(first, first + rounds):
            save(number)
            started = time.thread_time()
            after_response(app)
            later.append(time.thread_time() - started)
    medians = {label: statistics.median(values) * 1000 for label, values in spent.items()}
    whole = medians.pop("whole save")
    print(f"CPU per save by stage (median of {rounds}, rendered in this thread):")
    for label, value in medians.items():
        print(f"  {label:26} {value:7.2f} ms")
    print(f"  {'SQL, revision, rest':26} {whole - sum(medians.values()):7.2f} ms")
    print(f"  {'whole save':26} {whole:7.2f} ms")
    print(f"  {'after the response:':26}")
    print(f"  {'related lists chosen':26} {statistics.median(later) * 1000:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--stages", action="store_true", help="also print CPU time per stage")
    arguments = parser.parse_args()
    source = save_time_post()
    modes = ["pre-forked worker", "fork per render", "in process (no budget)"]
    timings: dict[str, list[float]] = {name: [] for name in [*modes, "bare Markdown"]}
    later: list[float] = []
    with tempfile.TemporaryDirectory() as temporary:
        app = new_app(write_instance(Path(temporary)), PAGE_CACHE_BYTES=0)
        with app.app_context():
            save = saver(app, source)
            for name in modes:  # warm imports, converters and the worker
                with _mode(app, name):
                    save(0)
                after_response(app)
            number = 1
            for _ in range(arguments.rounds):
                for name in modes:
                    with _mode(app, name):
                        started = time.perf_counter()
                        save(number)
                        timings[name].append(time.perf_counter() - started)
                    started = time.perf_counter()
                    after_response(app)
                    later.append(time.perf_counter() - started)
                    number += 1
                started = time.perf_counter()
                markdown.Markdown(extensions=CORE_EXTENSIONS).convert(source)
                timings["bare Markdown"].append(time.perf_counter() - started)
            if arguments.stages:
                print_stages(app, save, number, arguments.rounds)
            db.session.remove()
        render_budget.worker_pool().close()
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    print(f"post: {len(source):,} characters, {len(source.encode()):,} bytes")
    print(f"rounds: {arguments.rounds} (interleaved); load average {os.getloadavg()[0]:.1f}")
    for name, value in medians.items():
        print(f"  {name:26} median {value:7.1f} ms")
    chosen = statistics.median(later) * 1000
    print(f"  {'after the response':26} median {chosen:7.1f} ms (related lists chosen)")
    pooled = medians["pre-forked worker"]
    inline = medians["in process (no budget)"]
    print(f"fork per render / pre-forked worker:  {medians['fork per render'] / pooled:.2f}x")
    print(f"pre-forked worker / in process:        {pooled / inline:.2f}x")
    print(f"pre-forked worker / bare Markdown:     {pooled / medians['bare Markdown']:.2f}x")


if __name__ == "__main__":
    main()
