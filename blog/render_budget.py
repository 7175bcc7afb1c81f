"""Run render work with a time budget that really stops it, and a cap on how much at once.

:func:`render_with_budget` is the one entry point. The work (Markdown and the render hooks)
runs in a child process forked for it: the child inherits the app, its plugins and the
caller's context without pickling anything, sends the HTML back through a pipe and exits.
At the deadline the child is killed (``SIGKILL``) and reaped, so a refused render leaves
no CPU burning behind it; a Python thread, by contrast, cannot be stopped safely.

The child must not touch the database: it shares the parent's connections' sockets, so it
leaves with ``os._exit`` (no finalizers that would close them) and render hooks only
transform text.

At most :func:`render_slots` renders run at once in a process (``RENDER_CONCURRENCY``,
default: the number of CPUs). A render that finds every slot taken waits up to
``RENDER_QUEUE_SECONDS``, then :class:`RenderBusyError` asks the client to retry later
(``503`` with ``Retry-After``).
"""

from __future__ import annotations

import contextvars
import gc
import math
import os
import pickle
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify, request

T = TypeVar("T")

#: Read from the child's pipe in pieces of this size.
_CHUNK = 1 << 20


class RenderTimeoutError(Exception):
    """The render outlived its budget and was stopped (the child process is gone)."""


class RenderBusyError(Exception):
    """Every render slot stayed taken for ``RENDER_QUEUE_SECONDS``; retry after ``retry_after``."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            "the server is busy rendering other posts; try again in a few seconds "
            "(RENDER_CONCURRENCY)"
        )
        self.retry_after = retry_after


class _Slots:
    """A counting semaphore that can say how many renders are running (for tests, stats)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.running = 0

    @contextmanager
    def taken(self, wait: float, retry_after: float) -> Iterator[None]:
        if not self._free.acquire(timeout=wait):
            raise RenderBusyError(retry_after)
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            self._free.release()


def render_slots(app: Flask | None = None) -> _Slots:
    """The app's render slots, created on first use from ``RENDER_CONCURRENCY``."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    slots = app.extensions.get("blog.render_slots")
    if slots is None:
        size = int(app.config["RENDER_CONCURRENCY"]) or (os.cpu_count() or 1)
        slots = app.extensions.setdefault("blog.render_slots", _Slots(max(1, size)))
    assert isinstance(slots, _Slots)
    return slots


def render_with_budget(work: Callable[[], T], seconds: float, size: int | None = None) -> T:
    """Return ``work()`` computed in a child process killed after ``seconds``.

    ``size`` is the byte length of the source being rendered. A source of at most
    ``RENDER_INLINE_BYTES`` is rendered in this process instead: a fork costs tens of
    milliseconds in a large process, and the slowest Markdown inputs known (quadratic ones
    such as ``[a](`` repeated) take well under a second at that size (0.6 s at 4 KB,
    measured), so the fork would cost more than the worst case it guards against. The
    render still takes a slot, so the concurrency cap holds for both.

    Raises :class:`RenderTimeoutError` at the deadline, :class:`RenderBusyError` when no
    render slot frees up in time, and whatever ``work`` raised (re-raised here when it can
    be pickled, else a ``RuntimeError`` describing it).
    """
    config = current_app.config
    wait = float(config["RENDER_QUEUE_SECONDS"])
    inline = size is not None and size <= int(config["RENDER_INLINE_BYTES"])
    with render_slots().taken(wait, retry_after=max(1.0, min(seconds, 30.0))):
        if inline or not hasattr(os, "fork"):  # no fork: a POSIX system has no killable child
            return _in_thread(work, seconds)
        return _in_child(work, seconds)


def _in_thread(work: Callable[[], T], seconds: float) -> T:
    """Run ``work`` in a thread and stop waiting at the deadline.

    A thread cannot be stopped, so a render past its budget finishes in the background;
    only sources within ``RENDER_INLINE_BYTES`` come here, which bounds that leftover work
    to under a second of one core.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    outcome: dict[str, Any] = {}

    def run() -> None:
        with app.app_context():
            try:
                outcome["value"] = work()
            except BaseException as error:  # handed to the waiting thread as it is
                outcome["error"] = error

    # A copy of this context: plugin failures the render meets are collected for the
    # render waiting on it (see blog.plugins.collecting_problems).
    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(run,), name="blog-render", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise RenderTimeoutError
    if "error" in outcome:
        raise outcome["error"]
    result: T = outcome["value"]
    return result


def _in_child(work: Callable[[], T], seconds: float) -> T:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, report, leave without running any finalizer
        status = 0
        try:
            # Inherited objects move to the permanent generation: the collector would
            # otherwise walk (and so copy, page by page) the parent's whole heap.
            gc.freeze()
            os.close(reader)
            _report(writer, work)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(writer)
    try:
        payload = _read_until(reader, time.monotonic() + seconds)
    except BaseException:  # the deadline, or this thread interrupted: the child goes too
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(reader)
        os.waitpid(pid, 0)  # reap now: a killed child is gone at once
    if not payload:
        raise RuntimeError("the render process ended without an answer")
    # Trusted bytes: written by our own forked child, through a pipe nobody else holds.
    outcome, value = pickle.loads(payload)  # noqa: S301
    if outcome == "error":
        raise value
    result: T = value
    return result


def _report(writer: int, work: Callable[[], Any]) -> None:
    try:
        outcome: tuple[str, Any] = ("ok", work())
    except BaseException as error:
        outcome = ("error", error)
    try:
        payload = pickle.dumps(outcome)
    except Exception:  # an exception object that cannot cross the pipe: describe it
        payload = pickle.dumps(("error", RuntimeError(repr(outcome[1]))))
    view = memoryview(payload)
    while view:
        written = os.write(writer, view)
        view = view[written:]
    os.close(writer)


def _read_until(reader: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RenderTimeoutError
        ready, _, _ = select.select([reader], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(reader, _CHUNK)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def busy_response(error: RenderBusyError) -> Response:
    """``503`` with ``Retry-After``: JSON for the API, a short text page elsewhere."""
    if request.blueprint == "api":
        response = jsonify(error=str(error))
    else:
        response = Response(str(error), mimetype="text/plain")
    response.status_code = 503
    response.headers["Retry-After"] = str(math.ceil(error.retry_after))
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(RenderBusyError, busy_response)
