"""Writers that collide on purpose, through real waitress threads, on SQLite and PostgreSQL.

Every request that was acknowledged (a 2xx) must be found afterwards with what it sent;
of N writers sending the same ``version`` exactly one wins and the others get 409 with the
stored post; every post's ``version`` equals its newest revision's number, and its revisions
are numbered 1..version without gaps.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from admin_support import create_user
from browser_support import serve_in_thread
from flask import Flask
from sqlalchemy import select

from blog.admin.tokens import create_token
from blog.models import Category, Post, Revision, Tag, User, db

WRITERS = 8

pytestmark = pytest.mark.slow


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


class ApiClient:
    """A JSON client for one served instance, with its own token (each has a rate budget)."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    def __call__(self, method: str, path: str, body: Any = None) -> Answer:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            f"{self.base}/api{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Answer(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                parsed = json.loads(raw or b"{}")
            except ValueError:
                parsed = {"raw": raw[:200].decode("utf-8", "replace")}
            return Answer(error.code, parsed)


@pytest.fixture
def served(app: Flask) -> Iterator[tuple[Flask, list[ApiClient]]]:
    create_user(app)
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        tokens = [create_token(user, f"writer {n}") for n in range(WRITERS)]
    for base in serve_in_thread(app, threads=WRITERS):
        yield app, [ApiClient(base, token) for token in tokens]


def all_at_once(count: int, work: Callable[[int], Answer]) -> list[Answer]:
    """Run ``work(i)`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)
    answers: list[Answer | None] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        answers[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def check_versions(app: Flask) -> None:
    """Every post: version = newest revision number, revisions 1..version, body = newest."""
    with app.app_context():
        for post in db.session.scalars(select(Post)):
            revisions = db.session.scalars(
                select(Revision).where(Revision.post_id == post.id).order_by(Revision.number)
            ).all()
            numbers = [revision.number for revision in revisions]
            assert numbers == list(range(1, post.version + 1)), (post.id, post.version, numbers)
            newest = revisions[-1]
            assert (post.title, post.source) == (newest.title, newest.source), post.id


def test_one_of_simultaneous_updates_with_one_version_wins(
    served: tuple[Flask, list[ApiClient]],
) -> None:
    app, clients = served
    created = clients[0]("POST", "/posts", {"title": "争用", "source": "原文", "status": "draft"})
    assert created.status == 201
    post_id = created.body["id"]
    tally: Counter[int] = Counter()
    for round_number in range(1, 6):
        version = round_number

        def update(index: int, version: int = version, round_number: int = round_number) -> Answer:
            body = {"version": version, "source": f"第 {round_number} 轮 写者 {index}"}
            return clients[index]("PATCH", f"/posts/{post_id}", body)

        answers = all_at_once(WRITERS, update)
        tally.update(answer.status for answer in answers)
        print(f"round {round_number}: {sorted(a.status for a in answers)}")
        winners = [a for a in answers if a.status == 200]
        assert len(winners) == 1, [a.status for a in answers]
        assert sorted(a.status for a in answers) == [200] + [409] * (WRITERS - 1)
        assert winners[0].body["version"] == version + 1
        for loser in answers:
            if loser.status == 409:
                assert loser.body["current"]["id"] == post_id
                assert loser.body["current_version"] >= version + 1
        stored = clients[0]("GET", f"/posts/{post_id}")
        assert stored.body["source"] == winners[0].body["source"]
        assert stored.body["version"] == version + 1
    print(f"statuses over 5 rounds: {dict(tally)}")
    check_versions(app)


def test_simultaneous_creates_with_shared_new_tags_all_succeed(
    served: tuple[Flask, list[ApiClient]],
) -> None:
    app, clients = served
    statuses: Counter[int] = Counter()
    for round_number in range(3):
        shared = [f"共享标签{round_number}", f"tag-{round_number}-b"]

        def create(index: int, shared: list[str] = shared, n: int = round_number) -> Answer:
            body = {
                "title": "同名文章",  # the same title: the same slug wanted by all eight
                "source": f"轮 {n} 写者 {index}",
                "status": "draft",
                "tags": [*shared, f"own-{n}-{index}"],
                "category": f"新分类{n}",
            }
            return clients[index]("POST", "/posts", body)

        answers = all_at_once(WRITERS, create)
        statuses.update(a.status for a in answers)
    print(f"create statuses: {dict(statuses)}")
    assert statuses == {201: 3 * WRITERS}
    with app.app_context():
        tag_names = db.session.scalars(select(Tag.name)).all()
        assert len(tag_names) == len(set(tag_names)) == 3 * (2 + WRITERS)
        assert len(db.session.scalars(select(Category.name)).all()) == 3
        posts = db.session.scalars(select(Post)).all()
        assert len(posts) == 3 * WRITERS
        assert len({p.slug for p in posts}) == 3 * WRITERS
        for post in posts:
            round_number = int(post.source.split()[1])
            assert {f"共享标签{round_number}", f"tag-{round_number}-b"} <= {
                t.name for t in post.tags
            }
    check_versions(app)


@dataclass
class Ledger:
    """What the mixed writers were told: saves (id, version) -> source, and all statuses."""

    saves: dict[tuple[int, int], str] = field(default_factory=dict)
    wins_per_base: Counter[tuple[int, int]] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    bad: list[tuple[str, int, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def mixed_writer(client: ApiClient, post_ids: list[int], ledger: Ledger, index: int) -> None:
    chance = random.Random(index)
    for step in range(40):
        post_id = chance.choice(post_ids)
        current = client("GET", f"/posts/{post_id}")
        base = current.body["version"]
        action = chance.choice(["edit", "edit", "publish", "trash"])
        if action == "edit":
            source = f"写者 {index} 第 {step} 步"
            answer = client("PATCH", f"/posts/{post_id}", {"version": base, "source": source})
        elif action == "publish":
            answer = client("POST", f"/posts/{post_id}/publish", {"version": base})
            source = answer.body.get("source", "")
        else:
            answer = client("DELETE", f"/posts/{post_id}")
        with ledger.lock:
            ledger.statuses[answer.status] += 1
            if answer.status not in (200, 409):
                ledger.bad.append((action, answer.status, answer.body))
            if answer.status == 200 and action != "trash":
                ledger.saves[(post_id, answer.body["version"])] = source
                ledger.wins_per_base[(post_id, base)] += 1


def test_mixed_edits_publishes_and_trash_lose_nothing_acknowledged(
    served: tuple[Flask, list[ApiClient]],
) -> None:
    app, clients = served
    post_ids = []
    for n in range(3):
        answer = clients[0]("POST", "/posts", {"title": f"混合 {n}", "source": "起点"})
        assert answer.status == 201
        post_ids.append(answer.body["id"])
    ledger = Ledger()
    threads = [
        threading.Thread(target=mixed_writer, args=(clients[i], post_ids, ledger, i))
        for i in range(WRITERS)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    acknowledged = len(ledger.saves)
    lost = []
    with app.app_context():
        for (post_id, version), source in ledger.saves.items():
            revision = db.session.scalar(
                select(Revision).where(Revision.post_id == post_id, Revision.number == version)
            )
            if revision is None or revision.source != source:
                lost.append((post_id, version))
    doubled = {key: n for key, n in ledger.wins_per_base.items() if n > 1}
    print(
        f"mixed: {dict(ledger.statuses)} in {time.monotonic() - started:.1f} s; "
        f"acknowledged saves {acknowledged}, lost {len(lost)}, "
        f"bases won more than once {len(doubled)}"
    )
    assert ledger.bad == []
    assert acknowledged > 0
    assert lost == []
    assert doubled == {}
    check_versions(app)
