"""Pre-forked render workers: a large render reuses a waiting worker instead of forking,
is still killed at its deadline, and never renders with another app or an old setting.

Process ids come from :func:`blog.render_budget.worker_pool`; that a process is gone is
read from ``/proc`` (a killed worker is reaped at once, so its entry disappears).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from blog.models import Post
from blog.render import RenderError, render_post
from blog.render_budget import worker_pool

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or not Path("/proc/self/task").exists(), reason="needs fork, /proc"
)

#: Well above RENDER_INLINE_BYTES (4 KB), so it is rendered under the budget in a worker.
LARGE = "## 第一节\n\n" + "中文段落，带 **粗体** 和 `代码`。\n\n" * 400
#: Python-Markdown's link parser needs minutes for this (see test_render_budget).
LINK_FLOOD = "[a](" * 20_000


def html_of(app: Flask, source: str) -> str:
    """The body a render of ``source`` produces (in an app context, as a request has)."""
    with app.app_context():
        post = Post(title="t", source=source, lang="zh-Hans", kind="post", meta={})
        return render_post(post).body_html


def children() -> set[int]:
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def test_a_second_large_render_reuses_the_waiting_worker(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    first = html_of(app, LARGE)
    assert "<strong>粗体</strong>" in first
    workers = worker_pool().idle_pids
    assert len(workers) == 1
    assert workers[0] in children()
    second = html_of(app, LARGE + "\n\n最后一段。")
    assert worker_pool().idle_pids == workers  # the same process rendered it: no fork
    assert "最后一段。" in second and second.startswith(first.rsplit("</p>", 1)[0])


def sockets_of(pid: int) -> list[str]:
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while listing
            continue
        if target.startswith("socket:"):
            found.append(f"{fd.name} -> {target}")
    return found


def test_a_worker_holds_none_of_the_parents_sockets(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    listener = socket.create_server(("127.0.0.1", 0))  # as waitress's, when serving
    try:
        assert sockets_of(os.getpid())
        html_of(app, LARGE)
        (worker,) = worker_pool().idle_pids
        # Copies would keep a reader's connection open after the server closed it.
        assert sockets_of(worker) == []
    finally:
        listener.close()


def test_a_worker_holds_none_of_the_parents_pipes(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    reader, writer = os.pipe()  # as a subprocess's stdin, held by the serving process
    try:
        html_of(app, LARGE)
        (worker,) = worker_pool().idle_pids
        assert html_of(app, LARGE + "\n\n又一段。")  # the worker's own pipes still work
        os.close(writer)
        writer = -1
        # With a copy of the write end in the worker, this read would wait for the worker
        # to leave (RENDER_WORKER_IDLE_SECONDS): the child at the other end never sees EOF.
        os.set_blocking(reader, False)
        assert os.read(reader, 1) == b""
        assert worker in children()
    finally:
        os.close(reader)
        if writer != -1:
            os.close(writer)


def test_the_worker_is_killed_at_the_deadline_and_replaced(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    html_of(app, LARGE)
    (worker,) = worker_pool().idle_pids
    app.config["RENDER_TIMEOUT_SECONDS"] = 1.0  # the budget is the parent's: same worker
    with pytest.raises(RenderError, match="RENDER_TIMEOUT_SECONDS"):
        html_of(app, LINK_FLOOD)
    assert worker not in children()  # killed and reaped, not left burning CPU
    assert worker_pool().idle_pids == []
    app.config["RENDER_TIMEOUT_SECONDS"] = 60.0
    assert "<strong>粗体</strong>" in html_of(app, LARGE)
    (replacement,) = worker_pool().idle_pids
    assert replacement != worker


def test_a_changed_setting_retires_the_worker(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    html_of(app, LARGE)
    (worker,) = worker_pool().idle_pids
    # The worker inherited the configuration it was forked with; a render after a change
    # must not use it (the plugins read their settings from the app's configuration).
    app.config["SITE_TITLE"] = "改过的标题"
    html_of(app, LARGE)
    (replacement,) = worker_pool().idle_pids
    assert replacement != worker
    assert worker not in children()


def test_another_app_gets_its_own_worker(make_app: Callable[..., Flask]) -> None:
    first_app = make_app()
    html_of(first_app, LARGE)
    (first,) = worker_pool().idle_pids
    second_app = make_app(PLUGINS=[])  # no math, no code: a different render
    html = html_of(second_app, LARGE + "\n\n$x^2$")
    (second,) = worker_pool().idle_pids
    assert second != first and first not in children()
    assert "<math" not in html  # rendered by the second app's (plugin-less) worker
    assert "<math" in html_of(first_app, LARGE + "\n\n$x^2$")


def test_errors_in_the_worker_reach_the_caller_and_it_keeps_serving(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    html_of(app, LARGE)
    (worker,) = worker_pool().idle_pids
    deep = "> " * 49 + "x\n\n" + LARGE
    assert "<blockquote>" in html_of(app, deep)
    with pytest.raises(RenderError, match="limit"):  # refused before any process is asked
        html_of(app, "\t" * 60 + "- x\n\n" + LARGE)
    assert worker_pool().idle_pids == [worker]


def test_an_idle_worker_leaves_by_itself(make_app: Callable[..., Flask]) -> None:
    app = make_app(RENDER_WORKER_IDLE_SECONDS=0.3)
    html_of(app, LARGE)
    (worker,) = worker_pool().idle_pids
    deadline = time.monotonic() + 10
    while Path(f"/proc/{worker}/status").exists() and time.monotonic() < deadline:
        state = Path(f"/proc/{worker}/status").read_text()
        if "State:\tZ" in state:  # exited; the pool reaps it when it retires it
            break
        time.sleep(0.05)
    assert time.monotonic() < deadline
    # The next render does not hand work to the departed worker: it forks a new one.
    assert "<strong>粗体</strong>" in html_of(app, LARGE)
    (replacement,) = worker_pool().idle_pids
    assert replacement != worker
    assert worker not in children()
