"""Serving with waitress: one process, or N worker processes sharing one listening socket.

``blog serve`` binds the socket itself and hands it to waitress, so that stopping can be
graceful: on SIGTERM (or SIGINT) a process stops accepting connections, lets every request
already received finish and its response go out, closes idle keep-alive connections, and
exits. A process manager or a deploy script can therefore restart the server without a
reader seeing a reset connection.

``blog serve --workers N`` is a small supervisor: it binds the socket once, starts N
``blog serve --listen-fd`` child processes that inherit it (the kernel spreads connections
between processes blocked in ``accept`` on one socket), restarts a child that dies, and on
SIGTERM passes the signal on to every child and waits for them to drain. Children are
fresh interpreters rather than ``fork()`` copies: the parent has already opened database
connections and created threads, neither of which survives a fork safely, and each child
must start with ``PROMETHEUS_MULTIPROC_DIR`` set so its metrics are summed with the others'.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

logger = logging.getLogger("blog.serve")

#: How long a stopping process waits for requests in flight before it gives up on them.
DRAIN_SECONDS = 30.0
#: A child that dies sooner than this after starting is restarted only after a pause.
CRASH_BACKOFF_SECONDS = 1.0

WSGIApp = Callable[..., Any]


def bind(host: str, port: int) -> socket.socket:
    """Open the listening socket (address reuse on, so a restart can bind at once)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=1024)
    return sock


#: Room for form fields, multipart boundaries and JSON escaping around the largest body.
BODY_OVERHEAD_BYTES = 1024 * 1024


def waitress_options(app: WSGIApp) -> dict[str, Any]:
    """Waitress settings that follow the site's configuration.

    Waitress reads a whole request body (spilling to a temporary file) before the app sees
    it; capping it at the largest body the site accepts (an upload, or a post sent as JSON,
    whose escapes may take six bytes a character) makes waitress answer 413 from the
    headers alone, instead of first storing a body of any size.
    """
    config = app.config  # type: ignore[attr-defined]
    largest = max(int(config["UPLOAD_MAX_BYTES"]), 6 * int(config["MAX_POST_BYTES"]))
    return {"max_request_body_size": largest + BODY_OVERHEAD_BYTES}


def _busy(channel: HTTPChannel) -> bool:
    """Whether a connection has a request being received, run or written out."""
    return bool(channel.requests or channel.total_outbufs_len or channel.request is not None)


def serve_socket(
    app: WSGIApp, sock: socket.socket, threads: int, supervisor: int | None = None
) -> None:
    """Serve ``app`` on ``sock`` until SIGTERM/SIGINT, then drain and return.

    A worker passes its ``supervisor``'s process id: if the supervisor dies without
    stopping it (``kill -9``), the worker drains and exits instead of serving on alone.
    """
    server: Any = create_server(app, sockets=[sock], threads=threads, **waitress_options(app))
    stopping = threading.Event()

    def request_stop(_signum: int = 0, _frame: Any = None) -> None:
        stopping.set()
        server.pull_trigger()  # wake the loop now rather than at its next timeout

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if supervisor is not None:

        def watch_supervisor() -> None:
            while not stopping.wait(1.0):
                if os.getppid() != supervisor:
                    logger.warning("the supervisor is gone; stopping this worker")
                    request_stop()

        threading.Thread(target=watch_supervisor, name="blog-supervisor-watch", daemon=True).start()
    connections = server._map
    timeout = server.adj.asyncore_loop_timeout
    use_poll = server.adj.asyncore_use_poll
    while not stopping.is_set():
        wasyncore.loop(timeout=timeout, map=connections, use_poll=use_poll, count=1)

    # Stop accepting: close only the listening socket; the trigger stays so that worker
    # threads finishing a request can still wake the loop to write the response.
    wasyncore.dispatcher.close(server)
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        open_channels = [c for c in list(connections.values()) if isinstance(c, HTTPChannel)]
        if not open_channels:
            break
        for channel in open_channels:
            if not _busy(channel):
                channel.will_close = True
        wasyncore.loop(timeout=0.1, map=connections, use_poll=use_poll, count=1)
    else:
        logger.warning("stopped with requests still running after %.0f s", DRAIN_SECONDS)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)


def _child_command(instance: Path, fd: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "blog.cli",
        "--instance",
        str(instance),
        "serve",
        "--listen-fd",
        str(fd),
        "--supervisor",
        str(os.getpid()),
        "--threads",
        str(threads),
    ]


def supervise(instance: Path, sock: socket.socket, workers: int, threads: int) -> int:
    """Run ``workers`` child servers on ``sock`` until SIGTERM/SIGINT; return an exit code."""
    metrics_dir = tempfile.mkdtemp(prefix="blog-metrics-")
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=metrics_dir)
    fd = sock.fileno()
    os.set_inheritable(fd, True)
    stopping = threading.Event()

    def request_stop(_signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def start() -> tuple[subprocess.Popen[bytes], float]:
        command = _child_command(instance, fd, threads)  # our own interpreter and module
        child = subprocess.Popen(command, pass_fds=(fd,), env=env)  # noqa: S603
        return child, time.monotonic()

    children = [start() for _ in range(workers)]
    try:
        while not stopping.is_set():
            for index, (child, started) in enumerate(children):
                code = child.poll()
                if code is None:
                    continue
                logger.warning("worker %d exited with status %s; starting another", child.pid, code)
                if time.monotonic() - started < CRASH_BACKOFF_SECONDS:
                    time.sleep(CRASH_BACKOFF_SECONDS)
                children[index] = start()
            stopping.wait(0.5)
        for child, _started in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + DRAIN_SECONDS + 10
        for child, _started in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        return 0
    finally:
        sock.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
