"""Renders that stop: a render past its budget is killed, and renders at once are capped.

The CPU check reads ``/proc/self/task/*/stat`` for the threads that appeared since the
request began, and ``/proc/self/stat`` for the children this process has reaped: after a
refused pathological body, nothing the render started may still be working 2 s later.
Threads older than the request (left by other tests of the same session) are not counted.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from admin_support import create_user
from flask import Flask
from sqlalchemy import select

from blog.admin.tokens import create_token
from blog.models import Post, User, db
from blog.render import RenderError, render_post
from blog.render_budget import render_slots

#: The probe's input: 80 KB that Python-Markdown's link parser chews on for minutes, and
#: which none of the up-front limits catches.
LINK_FLOOD = "[a](" * 20_000

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def stat_fields(path: Path) -> list[str]:
    try:
        return path.read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # the thread ended between listing and reading
        return []


def thread_ids() -> set[str]:
    return {task.name for task in Path("/proc/self/task").iterdir()}


def reaped_children_cpu() -> float:
    """CPU time of the children this process has waited for (killed workers included)."""
    fields = stat_fields(Path("/proc/self/stat"))
    return sum(int(value) for value in fields[13:15]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(threads_before: set[str]) -> float:
    """CPU time of threads started after ``threads_before``, of reaped children, and of
    every live child: an idle pre-forked render worker that was handed the render and not
    killed would keep working in a process of its own."""
    ticks = 0
    for task in thread_ids() - threads_before:
        fields = stat_fields(Path(f"/proc/self/task/{task}/stat"))
        ticks += sum(int(value) for value in fields[11:13])
    for pid in children():
        ticks += sum(int(value) for value in stat_fields(Path(f"/proc/{pid}/stat"))[11:13])
    return reaped_children_cpu() + ticks / os.sysconf("SC_CLK_TCK")


def children() -> list[str]:
    found: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        found += (task / "children").read_text().split()
    return found


@pytest.fixture
def api_app(make_app: Callable[..., Flask]) -> tuple[Flask, Callable[..., Any]]:
    app = make_app(RENDER_TIMEOUT_SECONDS=1.5)
    create_user(app)
    with app.app_context():
        token = create_token(db.session.scalars(select(User)).one(), "probe")
    headers = {"Authorization": f"Bearer {token}"}

    def call(body: dict[str, Any]) -> Any:
        return app.test_client().post("/api/posts", json=body, headers=headers)

    return app, call


def test_pathological_body_is_refused_and_the_cpu_returns_to_idle(
    api_app: tuple[Flask, Callable[..., Any]],
) -> None:
    app, call = api_app
    older_threads = thread_ids()
    older_children = set(children())  # idle render workers forked by earlier tests
    reaped_before = reaped_children_cpu()
    started = time.monotonic()
    response = call({"title": "炸弹", "source": LINK_FLOOD})
    answered = time.monotonic() - started
    # The render ran in a pre-forked worker (the source is far above RENDER_INLINE_BYTES),
    # which was killed and reaped at the deadline: its CPU time is now the parent's to count.
    assert len(LINK_FLOOD.encode()) > app.config["RENDER_INLINE_BYTES"]
    assert reaped_children_cpu() > reaped_before
    assert response.status_code == 400
    assert response.get_json()["key"] == "source"
    assert "was stopped" in response.get_json()["error"]
    assert answered < 10
    assert set(children()) - older_children == set()
    before = cpu_seconds(older_threads)
    time.sleep(2)
    used = cpu_seconds(older_threads) - before
    print(f"answered in {answered:.1f} s; CPU used in the 2 s after: {used:.2f} s")
    assert used < 0.1  # a sleeping process: the old abandoned thread used 0.27 s here
    with app.app_context():
        assert db.session.scalars(select(Post)).all() == []


def test_a_render_after_a_killed_one_works(api_app: tuple[Flask, Callable[..., Any]]) -> None:
    app, call = api_app
    assert call({"title": "炸弹", "source": LINK_FLOOD}).status_code == 400
    response = call({"title": "正常", "source": "# 标题\n\n正文 $x^2$ 和 `code`"})
    assert response.status_code == 201
    assert "<h1" in response.get_json()["html"]
    assert render_slots(app).running == 0


def test_errors_inside_the_render_reach_the_caller(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    deep = "".join("\t" * depth + "- item\n" for depth in range(40)) + "> " * 49 + "x"
    with app.app_context():
        post = Post(title="t", source=deep, lang="zh-Hans", kind="post", meta={})
        assert "item" in render_post(post).body_html
        with pytest.raises(RenderError, match="limit"):
            render_post(Post(title="t", source="\t" * 60 + "- x", lang="en", kind="post", meta={}))


def test_renders_beyond_the_concurrency_limit_get_503_with_retry_after(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(RENDER_TIMEOUT_SECONDS=3.0, RENDER_CONCURRENCY=1, RENDER_QUEUE_SECONDS=0.3)
    create_user(app)
    with app.app_context():
        token = create_token(db.session.scalars(select(User)).one(), "probe")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    slow: list[int] = []

    def occupy() -> None:
        body = json.dumps({"title": "慢", "source": LINK_FLOOD})
        slow.append(app.test_client().post("/api/posts", data=body, headers=headers).status_code)

    holder = threading.Thread(target=occupy)
    holder.start()
    deadline = time.monotonic() + 5
    while render_slots(app).running == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert render_slots(app).running == 1
    body = json.dumps({"title": "排队", "source": "正文"})
    refused = app.test_client().post("/api/posts", data=body, headers=headers)
    holder.join(30)
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) >= 1
    assert "RENDER_CONCURRENCY" in refused.get_json()["error"]
    assert slow == [400]
    # The slot is free again: the same request now succeeds.
    assert app.test_client().post("/api/posts", data=body, headers=headers).status_code == 201
