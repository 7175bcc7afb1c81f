"""Run render work with a time budget that really stops it, and a cap on how much at once.

:func:`render_with_budget` is the one entry point. The work (Markdown and the render hooks)
runs in another process: at the deadline that process is killed (``SIGKILL``) and reaped,
so a refused render leaves no CPU burning behind it; a Python thread, by contrast, cannot
be stopped safely.

Work that can be pickled (a module-level function, or a ``functools.partial`` of one with
picklable arguments) goes to a pre-forked render worker (:class:`WorkerPool`): forked once
from this process, it inherits the app and its plugins, then renders one task after
another, so a save no longer pays for a fork (tens of milliseconds in a large process).
A worker is killed at the deadline like any child and replaced on the next render; idle
workers made for another app or configuration are retired, and an idle worker leaves by
itself after ``RENDER_WORKER_IDLE_SECONDS``. Work that cannot be pickled (a closure) runs
in a child forked for it, which inherits the caller's context and exits after one answer.

Neither kind of process may touch the database: they share the parent's connections'
sockets, so they leave with ``os._exit`` (no finalizers that would close them) and render
hooks only transform text.

At most :func:`render_slots` renders run at once in a process (``RENDER_CONCURRENCY``,
default: the number of CPUs). A render that finds every slot taken waits up to
``RENDER_QUEUE_SECONDS``, then :class:`RenderBusyError` asks the client to retry later
(``503`` with ``Retry-After``).
"""

from __future__ import annotations

import atexit
import contextvars
import gc
import math
import os
import pickle
import select
import signal
import stat
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify, request

T = TypeVar("T")

#: Read from the child's pipe in pieces of this size.
_CHUNK = 1 << 20

#: True in a pre-forked render worker: work it is given runs there directly.
_in_worker = False


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
    if _in_worker:  # already a render worker, which its parent kills at the deadline
        return work()
    config = current_app.config
    wait = float(config["RENDER_QUEUE_SECONDS"])
    inline = size is not None and size <= int(config["RENDER_INLINE_BYTES"])
    with render_slots().taken(wait, retry_after=max(1.0, min(seconds, 30.0))):
        if inline or not hasattr(os, "fork"):  # no fork: a POSIX system has no killable child
            return _in_thread(work, seconds)
        try:
            task = pickle.dumps(work)
        except (pickle.PicklingError, AttributeError, TypeError):  # a closure: fork for it
            return _in_child(work, seconds)
        return _POOL.run(current_app._get_current_object(), task, seconds)  # type: ignore[attr-defined]


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
            _let_go_of_sockets(keep=(writer,))
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
    result: T = _unpickle_outcome(payload)
    return result


def _let_go_of_sockets(keep: tuple[int, ...] = ()) -> None:
    """In a forked render process: point every inherited socket and pipe at ``/dev/null``.

    A fork copies the parent's descriptors: the listening socket, the connections of
    readers being answered, the database's, and the pipes to the parent's own children
    (a subprocess's stdin). A long-lived worker holding those copies keeps each
    connection open after the parent closes it, so a client waits for an end that does
    not come (for as long as the worker idles), and a child waiting for the end of its
    input (Playwright's driver, at exit) waits as long; a stray write could reach a
    reader. Standard input, output and error and the fds in ``keep`` (the worker's own
    pipes) stay. ``dup2`` rather than ``close``: the fd numbers stay taken, so an
    inherited object's finalizer can never close a file this process opens later.
    """
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:  # no /proc: nothing to enumerate, keep going
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for name in names:
            fd = int(name)
            if fd == null or fd in keep:
                continue
            with suppress(OSError):
                mode = os.fstat(fd).st_mode
                if stat.S_ISSOCK(mode) or (fd > 2 and stat.S_ISFIFO(mode)):
                    os.dup2(null, fd)
    finally:
        os.close(null)


def _report(writer: int, work: Callable[[], Any]) -> None:
    _write_all(writer, _outcome(work))
    os.close(writer)


def _outcome(work: Callable[[], Any]) -> bytes:
    """``work``'s result or exception, pickled as ``(kind, value)`` for the parent."""
    try:
        outcome: tuple[str, Any] = ("ok", work())
    except BaseException as error:
        outcome = ("error", error)
    try:
        return pickle.dumps(outcome)
    except Exception:  # an exception object that cannot cross the pipe: describe it
        return pickle.dumps(("error", RuntimeError(repr(outcome[1]))))


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _unpickle_outcome(payload: bytes) -> Any:
    # Trusted bytes: written by our own forked process, through a pipe nobody else holds.
    outcome, value = pickle.loads(payload)  # noqa: S301
    if outcome == "error":
        raise value
    return value


#: A frame on a worker's pipes: an 8-byte big-endian length, then that many pickled bytes.
_LENGTH = struct.Struct(">Q")


def _read_exactly(fd: int, count: int, deadline: float | None) -> bytes | None:
    """``count`` bytes from ``fd``, or ``None`` at end of file; past ``deadline``,
    :class:`RenderTimeoutError` (``None``: wait as long as it takes)."""
    chunks: list[bytes] = []
    missing = count
    while missing:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RenderTimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
        chunk = os.read(fd, min(missing, _CHUNK))
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None) -> bytes | None:
    header = _read_exactly(fd, _LENGTH.size, deadline)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    return _read_exactly(fd, length, deadline)


@dataclass
class _Worker:
    """A pre-forked render process: tasks go down one pipe, outcomes come up the other."""

    pid: int
    tasks: int  # the parent's writing end
    results: int  # the parent's reading end
    key: tuple[Any, ...]
    idle_since: float = field(default_factory=time.monotonic)

    def stop(self) -> None:
        """Kill and reap the process; close the parent's ends of its pipes."""
        for fd in (self.tasks, self.results):
            with suppress(OSError):
                os.close(fd)
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class WorkerPool:
    """Pre-forked render workers shared by the whole process, for one app at a time.

    A worker is made for an app and a *key* describing what it inherited (the app, its
    configuration, its plugins): a render whose key differs retires the idle workers and
    forks new ones, so a worker never renders with another app's or an older configuration.
    At most one worker per render slot runs, since every render holds a slot.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[int] = set()
        self._fds: set[int] = set()  # every parent-side pipe end, closed in new workers

    @property
    def idle_pids(self) -> list[int]:
        """Process ids of the workers waiting for a task (for tests and stats)."""
        with self._lock:
            return [worker.pid for worker in self._idle]

    def run(self, app: Flask, task: bytes, seconds: float) -> Any:
        """Unpickle and run ``task`` in a worker for ``app``; kill it after ``seconds``."""
        deadline = time.monotonic() + seconds
        key = _worker_key(app)
        worker = self._take(app, key)
        try:
            _write_all(worker.tasks, _LENGTH.pack(len(task)) + task)
            payload = _read_frame(worker.results, deadline)
        except BaseException:  # the deadline, a dead worker, or this thread interrupted
            self._discard(worker)
            raise
        if payload is None:
            self._discard(worker)
            raise RuntimeError("the render process ended without an answer")
        self._give_back(worker)
        return _unpickle_outcome(payload)

    def close(self) -> None:
        """Stop every idle worker (busy ones are stopped by their render)."""
        with self._lock:
            retired, self._idle = self._idle, []
            for worker in retired:
                self._fds.difference_update((worker.tasks, worker.results))
        for worker in retired:
            worker.stop()

    def _take(self, app: Flask, key: tuple[Any, ...]) -> _Worker:
        # An idle worker past half its own idle limit may be leaving: do not race it.
        fresh_for = float(app.config["RENDER_WORKER_IDLE_SECONDS"]) / 2
        now = time.monotonic()
        with self._lock:
            retired = [
                worker
                for worker in self._idle
                if worker.key != key or now - worker.idle_since > fresh_for
            ]
            self._idle = [worker for worker in self._idle if worker not in retired]
            chosen = self._idle.pop() if self._idle else None
            for worker in retired:
                self._fds.difference_update((worker.tasks, worker.results))
        for worker in retired:
            worker.stop()
        if chosen is None:
            chosen = self._fork(app, key)
        with self._lock:
            self._busy.add(chosen.pid)
        return chosen

    def _give_back(self, worker: _Worker) -> None:
        worker.idle_since = time.monotonic()
        with self._lock:
            self._busy.discard(worker.pid)
            self._idle.append(worker)

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker.pid)
            self._fds.difference_update((worker.tasks, worker.results))
        worker.stop()

    def _fork(self, app: Flask, key: tuple[Any, ...]) -> _Worker:
        task_reader, task_writer = os.pipe()
        result_reader, result_writer = os.pipe()
        idle_seconds = float(app.config["RENDER_WORKER_IDLE_SECONDS"])
        with self._lock:
            inherited = set(self._fds)
            pid = os.fork()
            if pid == 0:  # the worker: serve tasks, then leave without running finalizers
                status = 0
                try:
                    for fd in (*inherited, task_writer, result_reader):
                        with suppress(OSError):
                            os.close(fd)
                    _let_go_of_sockets(keep=(task_reader, result_writer))
                    _serve(app, task_reader, result_writer, idle_seconds)
                except BaseException:
                    status = 1
                finally:
                    os._exit(status)
            self._fds.update((task_writer, result_reader))
        os.close(task_reader)
        os.close(result_writer)
        return _Worker(pid=pid, tasks=task_writer, results=result_reader, key=key)


def _serve(app: Flask, tasks: int, results: int, idle_seconds: float) -> None:
    """The worker's loop: one task at a time until the parent closes the pipe or goes
    quiet for ``idle_seconds``."""
    global _in_worker
    _in_worker = True
    # Inherited objects move to the permanent generation: the collector would otherwise
    # walk (and so copy, page by page) the parent's whole heap.
    gc.freeze()
    while True:
        ready, _, _ = select.select([tasks], [], [], idle_seconds)
        if not ready:
            return
        payload = _read_frame(tasks, None)
        if payload is None:
            return
        # Trusted bytes: written by the process that forked this one, through our pipe.
        work = pickle.loads(payload)  # noqa: S301
        with app.app_context():
            outcome = _outcome(work)
        _write_all(results, _LENGTH.pack(len(outcome)) + outcome)


#: Settings only the parent reads (the budget itself): changing them keeps the workers.
_PARENT_SETTINGS = frozenset(
    {
        "RENDER_TIMEOUT_SECONDS",
        "RENDER_CONCURRENCY",
        "RENDER_QUEUE_SECONDS",
        "RENDER_INLINE_BYTES",
        "RENDER_WORKER_IDLE_SECONDS",
    }
)


def _worker_key(app: Flask) -> tuple[Any, ...]:
    """What a worker inherited and a render relies on: this app object, its configuration
    and its plugins. Rebuilt for every render (about 0.1 ms), so a changed setting
    retires the workers made before it."""
    config = repr(sorted(item for item in app.config.items() if item[0] not in _PARENT_SETTINGS))
    plugins = app.extensions.get("blog.plugins")
    return (id(app), weakref.ref(app), config, id(plugins))


#: The process's render workers (see :class:`WorkerPool`).
_POOL = WorkerPool()
atexit.register(_POOL.close)


def worker_pool() -> WorkerPool:
    """The process's pool of pre-forked render workers."""
    return _POOL


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
