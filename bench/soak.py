"""Soak test: a real waitress process under mixed read/write traffic, then a full audit.

``python -m bench.soak [--seconds 60] [--threads 8] [--database-url URL] [--machines 2]``

Client threads send 90% reads over every public URL variant of a seeded site (over 1,000
URLs) and 10% writes: through the JSON API (create, update, publish, trash) and readers'
comments through the public form (each with a marker ``soakc<thread>x<n>``; every one
acknowledged with a 303 must be stored).
Each post is written by one thread only and carries a marker (``soak<key>x<seq>``) in a
code span that counts its saves, so readers can tell which save a page shows. The run
fails on any 5xx, on an acknowledged save missing afterwards (version, source or revision),
and on a page older than a save acknowledged more than ``PAGE_CACHE_CHECK_MS`` before the
request. ``tests/test_reliability_load.py`` runs the same code for a shorter time.

On top of that, a share of the writes collide on purpose: every thread edits the same
few shared posts, each time with the version it just read, so simultaneous edits race
for one version. Exactly one edit per (post, version) may be acknowledged, each
acknowledged edit must be the revision numbered by the version it was answered with, and
every shared post's version must equal its newest revision's number.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import random
import re
import tempfile
import threading
import time
import tomllib
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.load import Server, blog_server
from bench.site import new_app, write_instance
from blog.admin.tokens import create_token
from blog.comments.models import Comment
from blog.importer import import_paths
from blog.models import Category, Post, Revision, Tag, User, db

VARIANT_PREFIXES = ("", "/zh-hans", "/zh-hant", "/zh-tw", "/zh-hk")
CATEGORIES = ["机器学习", "统计", "深度学习", "自然语言处理", "优化", "工程"]
TAGS = [f"标签{n}" for n in range(34)] + ["NLP", "Transformer", "PyTorch", "LaTeX", "CUDA", "RL"]
SEARCH_TERMS = [
    "注意力", "模型", "梯度", "transformer", "概率", "矩阵", "优化器", "样本", "损失函数",
    "卷积", "语言", "训练", "分布", "期望", "方差", "贝叶斯", "正则化", "采样", "编码", "向量",
    "softmax", "encoder", "decoder", "内积", "归一化", "小结", "关系", "笔记", "机制", "查询",
]  # fmt: skip
MARKER = re.compile(r"soak(t\d+p\d+)x(\d+)")
TOKENS_PER_THREAD = 4
WRITE_SHARE = 0.10
#: Of the writes, this share edits one of the :data:`SHARED_POSTS` posts every thread edits.
COLLIDE_SHARE = 0.4
SHARED_POSTS = 3
#: Edits sent at once, with one version, by each collision.
COLLIDERS = 3
STALE_CHECK_SHARE = 0.2
REQUEST_TIMEOUT = 60.0


@dataclass
class TrackedPost:
    """What the writer knows was acknowledged for one post it created."""

    key: str
    post_id: int
    slug: str
    seq: int
    version: int
    saves: int
    status: str
    trashed: bool = False
    acked_at: float = 0.0
    in_flight: bool = False
    unacknowledged: int = 0


@dataclass
class SoakReport:
    seconds: float = 0.0
    urls: int = 0
    reads: int = 0
    writes_attempted: int = 0
    writes_acknowledged: int = 0
    writes_found: int = 0
    stale_checks: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lost_writes: list[str] = field(default_factory=list)
    stale_reads: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    logged_errors: list[str] = field(default_factory=list)
    #: Collisions on the shared posts: statuses, and acknowledged edits (post, version) -> marker.
    collision_statuses: Counter[int] = field(default_factory=Counter)
    collision_saves: dict[tuple[int, int], str] = field(default_factory=dict)
    collision_doubled: list[str] = field(default_factory=list)
    comments_acknowledged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        served = sum(self.statuses.values())
        return (
            f"{served:,} requests in {self.seconds:.0f} s ({served / max(self.seconds, 1):.0f}/s) "
            f"over {self.urls:,} URLs: {self.reads:,} reads, {self.writes_attempted:,} writes "
            f"({dict(self.operations)}), {self.writes_acknowledged:,} acknowledged, "
            f"{self.writes_found:,} found afterwards; {self.stale_checks:,} freshness checks; "
            f"statuses {dict(sorted(self.statuses.items()))}; 5xx {len(self.server_errors)}, "
            f"lost {len(self.lost_writes)}, stale {len(self.stale_reads)}, "
            f"unexpected {len(self.unexpected)}, transport errors {len(self.transport_errors)}, "
            f"errors logged by the server {len(self.logged_errors)}; "
            f"colliding edits {dict(sorted(self.collision_statuses.items()))}, "
            f"a version won twice {len(self.collision_doubled)}"
        )


@dataclass
class Site:
    instance: Path
    urls: list[str]
    tokens: list[str]
    check_window: float


def seed_documents(folder: Path, count: int) -> Path:
    """Write ``count`` Markdown posts with math, code, categories and tags."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        tags = [TAGS[(number + k) % len(TAGS)] for k in range(3)]
        previous = max(number - 1, 0)
        body = (
            f"第 {number} 篇：注意力机制把查询 $q_{number % 7}$ 与键做内积，再用 softmax 归一化。"
            f"Transformer 的 encoder 与 decoder 都用到它。\n\n"
            f"$$\\mathrm{{Attention}}(Q,K,V)=\\mathrm{{softmax}}\\left(\\frac{{QK^T}}"
            f"{{\\sqrt{{d_k}}}}\\right)V$$\n\n"
            f"```python\ndef score(q, k):\n    return q @ k.T / {number + 1}\n```\n\n"
            f"## 小结\n\n梯度、概率与矩阵的关系见[上一篇](/posts/soak-seed-{previous}/)。\n"
        )
        front = (
            f"---\ntitle: 注意力笔记 {number}\nslug: soak-seed-{number}\n"
            f"date: 2025-{1 + number % 12:02d}-{1 + number % 27:02d}T10:00:00\n"
            f"categories: {CATEGORIES[number % len(CATEGORIES)]}\ntags: [{', '.join(tags)}]\n---\n"
        )
        (folder / f"seed-{number:04d}.md").write_text(front + body, encoding="utf-8")
    return folder


def build_site(folder: Path, database_url: str = "", posts: int = 120, threads: int = 8) -> Site:
    """Create the instance, seed posts, a user and API tokens; list every public URL."""
    settings: dict[str, Any] = {
        "SITE_URL": "http://127.0.0.1",
        # Every soak client is 127.0.0.1: the per-client limit would refuse most comments.
        "COMMENTS_RATE_PER_CLIENT": 100_000,
        "COMMENTS_RATE_PER_POST": 100_000,
        "COMMENTS_MIN_FILL_SECONDS": 0,
    }
    if database_url:
        settings["DATABASE_URL"] = database_url
    instance = write_instance(folder / "instance", **settings)
    app = new_app(instance)
    with app.app_context():
        report = import_paths([seed_documents(folder / "seed", posts)], author="soak")
        if report.failures:
            raise RuntimeError(f"seeding failed: {report.failures[:3]}")
        user = User(name="soak", password_hash="!")
        db.session.add(user)
        db.session.commit()
        tokens = [create_token(user, f"soak-{n}") for n in range(threads * TOKENS_PER_THREAD)]
        slugs = list(db.session.scalars(select(Post.slug)))
        categories = list(db.session.scalars(select(Category.name)))
        tags = list(db.session.scalars(select(Tag.name)))
        check_window = float(app.config["PAGE_CACHE_CHECK_MS"]) / 1000
        db.session.remove()
        db.engine.dispose()
    quote = urllib.parse.quote
    paths = [f"/posts/{quote(s)}/" for s in slugs]
    paths += ["/", "/archive/", "/feed.xml", "/sitemap.xml"]
    paths += [f"/page/{n}/" for n in range(2, posts // 10 + 1)]
    paths += [f"/categories/{quote(c)}/" for c in categories]
    paths += [f"/tags/{quote(t)}/" for t in tags]
    paths += [f"/search?q={quote(t)}" for t in SEARCH_TERMS]
    urls = [prefix + path for prefix in VARIANT_PREFIXES for path in paths]
    return Site(instance=instance, urls=urls, tokens=tokens, check_window=check_window)


class Ledger:
    """Every post the writers created, shared with readers for freshness checks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: dict[str, TrackedPost] = {}

    def add(self, post: TrackedPost) -> None:
        with self.lock:
            self.posts[post.key] = post

    def settled_sample(self, window: float) -> TrackedPost | None:
        """A copy of a post whose last acknowledged save is older than ``window``."""
        now = time.monotonic()
        with self.lock:
            ready = [
                p for p in self.posts.values() if not p.in_flight and now - p.acked_at > window
            ]
            if not ready:
                return None
            chosen = random.choice(ready)
            return TrackedPost(**chosen.__dict__)

    def unchanged(self, copy: TrackedPost) -> bool:
        with self.lock:
            current = self.posts[copy.key]
            return (
                not current.in_flight
                and current.seq == copy.seq
                and (
                    current.trashed,
                    current.status,
                )
                == (copy.trashed, copy.status)
            )


class Client:
    """One keep-alive HTTP connection to the server; reconnects after transport errors."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        form: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        headers = {"Accept-Language": "zh-CN,zh;q=0.9"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if form is not None:
            payload = urllib.parse.urlencode(form).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
            )
            raise


TOKEN = re.compile(r'name="token" value="([^"]+)"')


def expected_page(post: TrackedPost) -> str:
    return "absent" if post.trashed or post.status != "published" else "present"


class Worker(threading.Thread):
    def __init__(
        self,
        number: int,
        port: int,
        site: Site,
        ledger: Ledger,
        report: SoakReport,
        report_lock: threading.Lock,
        deadline: float,
        shared: list[int] | None = None,
    ) -> None:
        super().__init__(name=f"soak-{number}", daemon=True)
        self.port = port
        self.shared = shared or []
        self.collisions = 0
        self.number = number
        self.client = Client(port)
        self.site = site
        self.ledger = ledger
        self.report = report
        self.report_lock = report_lock
        self.deadline = deadline
        self.tokens = site.tokens[number * TOKENS_PER_THREAD : (number + 1) * TOKENS_PER_THREAD]
        self.owned: list[TrackedPost] = []
        self.created = 0
        self.comments = 0
        self.random = random.Random(number)

    def note(self, status: int, what: str) -> None:
        with self.report_lock:
            self.report.statuses[status] += 1
            if status >= 500:
                self.report.server_errors.append(f"{status} {what}")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        api: bool = False,
        form: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        token = self.random.choice(self.tokens) if api else None
        try:
            status, data = self.client.request(method, path, body, token, form)
        except (OSError, http.client.HTTPException) as error:
            with self.report_lock:
                self.report.transport_errors.append(f"{method} {path}: {error!r}")
            return 0, b""
        self.note(status, f"{method} {path}")
        return status, data

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                if self.random.random() < WRITE_SHARE:
                    self.write()
                elif self.random.random() < STALE_CHECK_SHARE:
                    self.check_fresh()
                else:
                    self.read()
        except Exception as error:
            with self.report_lock:
                self.report.unexpected.append(f"client thread {self.number} failed: {error!r}")
            raise

    def read(self) -> None:
        url = self.random.choice(self.site.urls)
        status, _ = self.call("GET", url)
        with self.report_lock:
            self.report.reads += 1
            if status not in (200, 0):
                self.report.unexpected.append(f"GET {url} -> {status}")

    def check_fresh(self) -> None:
        post = self.ledger.settled_sample(self.site.check_window)
        if post is None:
            self.read()
            return
        prefix = self.random.choice(VARIANT_PREFIXES)
        url = f"{prefix}/posts/{urllib.parse.quote(post.slug)}/"
        status, body = self.call("GET", url)
        with self.report_lock:
            self.report.reads += 1
        if status == 0 or not self.ledger.unchanged(post):
            return  # a new save started meanwhile: no verdict on this read
        with self.report_lock:
            self.report.stale_checks += 1
            seen = [int(seq) for key, seq in MARKER.findall(body.decode()) if key == post.key]
            if expected_page(post) == "absent":
                if status != 404:
                    self.report.stale_reads.append(f"{url}: {status}, expected 404")
            elif status != 200 or not seen or max(seen) < post.seq:
                self.report.stale_reads.append(
                    f"{url}: {status}, saw save {max(seen, default=None)}, acked {post.seq}"
                )

    def write(self) -> None:
        if self.shared and self.random.random() < COLLIDE_SHARE:
            self.collide()
            return
        live = [p for p in self.owned if not p.trashed]
        choice = self.random.random()
        if not live or choice < 0.3:
            self.create()
            return
        post = self.random.choice(live)
        if choice < 0.45:
            self.comment()
        elif choice < 0.7:
            self.update(post)
        elif choice < 0.85:
            self.publish(post)
        else:
            self.trash(post)

    def comment(self) -> None:
        """A reader's comment through the public form: an acknowledged one must be stored."""
        page_url = self.random.choice([u for u in self.site.urls if u.startswith("/posts/")])
        status, page = self.call("GET", page_url)
        token = TOKEN.search(page.decode("utf-8", "replace")) if status == 200 else None
        if token is None:
            return
        self.comments += 1
        marker = f"soakc{self.number}x{self.comments}"
        with self.report_lock:
            self.report.writes_attempted += 1
            self.report.operations["comment"] += 1
        form = {"name": f"读者{self.number}", "body": f"评论 {marker} $x^2$", "token": token[1]}
        status, _ = self.call("POST", page_url + "comments", form=form)
        with self.report_lock:
            if status == 303:
                self.report.writes_acknowledged += 1
                self.report.comments_acknowledged.append(marker)
            elif status != 0:
                self.report.unexpected.append(f"POST {page_url}comments -> {status}")

    def source(self, key: str, seq: int) -> str:
        return f"第 {seq} 次保存：`soak{key}x{seq}`，公式 $e^{{i\\pi}}+1=0$。\n"

    def attempt(self, operation: str, post: TrackedPost | None) -> None:
        with self.report_lock:
            self.report.writes_attempted += 1
            self.report.operations[operation] += 1
        if post is not None:
            with self.ledger.lock:
                post.in_flight = True

    def settle(
        self, post: TrackedPost, acknowledged: bool, http_status: int, **changes: Any
    ) -> None:
        with self.ledger.lock:
            if acknowledged:
                for name, value in changes.items():
                    setattr(post, name, value)
                post.acked_at = time.monotonic()
            elif http_status != 429:
                # Refused writes change nothing; anything else (a lost connection) might have.
                post.unacknowledged += 1
            post.in_flight = False
        if acknowledged:
            with self.report_lock:
                self.report.writes_acknowledged += 1

    def create(self) -> None:
        self.created += 1
        key = f"t{self.number}p{self.created}"
        status_choice = "published" if self.random.random() < 0.8 else "draft"
        body = {
            "title": f"压力测试 {key}",
            "source": self.source(key, 1),
            "status": status_choice,
            "category": self.random.choice(CATEGORIES),
            "tags": self.random.sample(TAGS, 2),
        }
        self.attempt("create", None)
        status, data = self.call("POST", "/api/posts", body, api=True)
        if status != 201:
            if status not in (429, 0):
                with self.report_lock:
                    self.report.unexpected.append(f"create {key} -> {status} {data[:200]!r}")
            return
        answer = json.loads(data)
        post = TrackedPost(
            key=key,
            post_id=answer["id"],
            slug=answer["slug"],
            seq=1,
            version=answer["version"],
            saves=1,
            status=answer["status"],
            acked_at=time.monotonic(),
        )
        self.owned.append(post)
        self.ledger.add(post)
        with self.report_lock:
            self.report.writes_acknowledged += 1

    def update(self, post: TrackedPost) -> None:
        self.attempt("update", post)
        seq = post.seq + 1
        body = {"source": self.source(post.key, seq), "version": post.version}
        status, data = self.call("PATCH", f"/api/posts/{post.post_id}", body, api=True)
        ok = status == 200
        changes = {}
        if ok:
            answer = json.loads(data)
            changes = {"seq": seq, "version": answer["version"], "saves": post.saves + 1}
        elif status not in (429, 0):
            with self.report_lock:
                self.report.unexpected.append(f"update {post.key} -> {status} {data[:200]!r}")
        self.settle(post, ok, status, **changes)

    def publish(self, post: TrackedPost) -> None:
        self.attempt("publish", post)
        body = {"version": post.version}
        status, data = self.call("POST", f"/api/posts/{post.post_id}/publish", body, api=True)
        ok = status == 200
        changes = {}
        if ok:
            answer = json.loads(data)
            changes = {
                "version": answer["version"],
                "saves": post.saves + 1,
                "status": answer["status"],
            }
        elif status not in (429, 0):
            with self.report_lock:
                self.report.unexpected.append(f"publish {post.key} -> {status} {data[:200]!r}")
        self.settle(post, ok, status, **changes)

    def collide(self) -> None:
        """Send :data:`COLLIDERS` edits of one shared post at once, all with the version
        just read: they race for it (and with other threads' collisions)."""
        post_id = self.random.choice(self.shared)
        status, data = self.call("GET", f"/api/posts/{post_id}", api=True)
        if status != 200:
            return
        base = json.loads(data)["version"]
        barrier = threading.Barrier(COLLIDERS)
        self.collisions += 1
        markers = [f"soakshared{self.number}x{self.collisions}y{n}" for n in range(COLLIDERS)]
        for _ in markers:
            self.attempt("collide", None)

        def edit(marker: str) -> None:
            client = Client(self.port)
            body = {"source": f"共享 `{marker}`\n", "version": base}
            barrier.wait()
            try:
                status, data = client.request(
                    "PATCH", f"/api/posts/{post_id}", body, self.random.choice(self.tokens)
                )
            except (OSError, http.client.HTTPException) as error:
                with self.report_lock:
                    self.report.transport_errors.append(f"collide {post_id}: {error!r}")
                return
            finally:
                client.connection.close()
            self.note(status, f"PATCH /api/posts/{post_id}")
            with self.report_lock:
                self.report.collision_statuses[status] += 1
                if status == 200:
                    version = json.loads(data)["version"]
                    self.report.writes_acknowledged += 1
                    if (post_id, version) in self.report.collision_saves or version != base + 1:
                        self.report.collision_doubled.append(f"post {post_id} v{base} -> {version}")
                    self.report.collision_saves[(post_id, version)] = marker
                elif status not in (409, 429):
                    self.report.unexpected.append(f"collide {post_id} -> {status} {data[:200]!r}")

        racers = [threading.Thread(target=edit, args=(marker,)) for marker in markers]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()

    def trash(self, post: TrackedPost) -> None:
        self.attempt("trash", post)
        status, data = self.call("DELETE", f"/api/posts/{post.post_id}", api=True)
        ok = status == 200
        if not ok and status not in (429, 0):
            with self.report_lock:
                self.report.unexpected.append(f"trash {post.key} -> {status} {data[:200]!r}")
        self.settle(post, ok, status, trashed=True)


def audit_pages(port: int, ledger: Ledger, report: SoakReport) -> None:
    """After the run: every tracked post's public page shows exactly its last save."""
    client = Client(port)
    for post in ledger.posts.values():
        for prefix in VARIANT_PREFIXES:
            url = f"{prefix}/posts/{urllib.parse.quote(post.slug)}/"
            status, body = client.request("GET", url)
            report.statuses[status] += 1
            report.stale_checks += 1
            seen = {int(seq) for key, seq in MARKER.findall(body.decode()) if key == post.key}
            if expected_page(post) == "absent":
                if status != 404:
                    report.stale_reads.append(f"final {url}: {status}, expected 404")
            elif status != 200 or post.seq not in seen:
                report.stale_reads.append(f"final {url}: {status}, saw {seen}, acked {post.seq}")


def audit_database(instance: Path, ledger: Ledger, report: SoakReport) -> None:
    """Every acknowledged save is stored: version, source marker, trash state, revisions."""
    app = new_app(instance)
    with app.app_context():
        for post in ledger.posts.values():
            stored = db.session.get(Post, post.post_id)
            if stored is None:
                report.lost_writes.append(f"{post.key}: post {post.post_id} is gone")
                continue
            numbers = list(
                db.session.scalars(
                    select(Revision.number)
                    .where(Revision.post_id == post.post_id)
                    .order_by(Revision.number)
                )
            )
            latest = db.session.scalar(
                select(Revision.source).where(
                    Revision.post_id == post.post_id, Revision.number == len(numbers)
                )
            )
            marker = f"soak{post.key}x{post.seq}"
            exact = post.unacknowledged == 0
            problems = []
            if (stored.version != post.version) if exact else (stored.version < post.version):
                problems.append(f"version {stored.version}, acked {post.version}")
            if marker not in stored.source and exact:
                problems.append(f"source lacks {marker}")
            if numbers != list(range(1, len(numbers) + 1)):
                problems.append(f"revision numbers {numbers}")
            if (len(numbers) != post.saves) if exact else (len(numbers) < post.saves):
                problems.append(f"{len(numbers)} revisions, {post.saves} saves acknowledged")
            if exact and (latest is None or marker not in latest):
                problems.append(f"latest revision lacks {marker}")
            if (stored.deleted_at is not None) != post.trashed and exact:
                problems.append(f"trashed={stored.deleted_at is not None}, acked {post.trashed}")
            if problems:
                report.lost_writes.append(f"{post.key}: {'; '.join(problems)}")
            else:
                report.writes_found += post.saves + (1 if post.trashed else 0)
        for (post_id, version), marker in report.collision_saves.items():
            revision = db.session.scalar(
                select(Revision.source).where(
                    Revision.post_id == post_id, Revision.number == version
                )
            )
            if revision is None or marker not in revision:
                report.lost_writes.append(f"shared post {post_id}: edit {marker} (v{version})")
            else:
                report.writes_found += 1
        for post_id in {post_id for post_id, _ in report.collision_saves}:
            stored = db.session.get(Post, post_id)
            numbers = list(
                db.session.scalars(
                    select(Revision.number)
                    .where(Revision.post_id == post_id)
                    .order_by(Revision.number)
                )
            )
            if stored is None or numbers != list(range(1, stored.version + 1)):
                report.lost_writes.append(
                    f"shared post {post_id}: version {stored and stored.version}, "
                    f"revisions {numbers}"
                )
        stored_comments = "\n".join(db.session.scalars(select(Comment.source)))
        for marker in report.comments_acknowledged:
            if f"{marker} " in stored_comments:
                report.writes_found += 1
            else:
                report.lost_writes.append(f"comment {marker} is not stored")
        db.session.remove()
        db.engine.dispose()


def second_machine(instance: Path) -> Path:
    """Another instance folder with the same configuration and database: a second machine."""
    config = tomllib.loads((instance / "config.toml").read_text(encoding="utf-8"))
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'blog.sqlite3'}"
    return write_instance(instance.parent / "machine-b", **config)


def create_shared_posts(port: int, token: str) -> list[int]:
    """The posts every thread edits (drafts: their pages are not audited)."""
    client = Client(port)
    ids = []
    for n in range(SHARED_POSTS):
        body = {"title": f"共享 {n}", "source": "起点", "status": "draft"}
        status, data = client.request("POST", "/api/posts", body, token)
        if status != 201:
            raise RuntimeError(f"creating a shared post answered {status}: {data[:200]!r}")
        ids.append(json.loads(data)["id"])
    return ids


def run_soak(
    folder: Path,
    seconds: float,
    threads: int = 8,
    database_url: str = "",
    machines: int = 1,
    **server_env: str,
) -> SoakReport:
    """Build a site in ``folder``, serve it from ``machines`` servers, drive it, audit it.

    With two machines, the second server runs over its own instance folder sharing the
    first one's configuration and database, and the client threads alternate between
    them: a save acknowledged by one must be visible on the other within the check window.
    """
    site = build_site(folder, database_url, threads=threads)
    instances = [site.instance] + ([second_machine(site.instance)] if machines > 1 else [])
    servers: list[Server] = [
        blog_server(f"soak-{n}", instance, threads, **server_env)
        for n, instance in enumerate(instances)
    ]
    report = SoakReport(urls=len(site.urls))
    try:
        for server in servers:
            server.wait_ready()
        ledger = Ledger()
        lock = threading.Lock()
        shared = create_shared_posts(servers[0].port, site.tokens[0])
        report.writes_acknowledged += len(shared)
        report.writes_found += len(shared)  # the audit checks them through their edits
        started = time.monotonic()
        workers = [
            Worker(
                n,
                servers[n % len(servers)].port,
                site,
                ledger,
                report,
                lock,
                started + seconds,
                shared,
            )
            for n in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        report.seconds = time.monotonic() - started
        time.sleep(site.check_window)
        for server in servers:
            audit_pages(server.port, ledger, report)
    finally:
        for server in servers:
            server.stop()
    for server in servers:
        log = Path(server.log.name).read_text(encoding="utf-8", errors="replace")
        report.logged_errors += [
            line
            for line in log.splitlines()
            # logging's default format ("ERROR:name:…"), Flask's ("[…] ERROR in app: …"), tracebacks
            if line.startswith(("ERROR", "CRITICAL", "Traceback")) or " ERROR in " in line
        ]
    audit_database(site.instance, ledger, report)
    return report


class AdminBrowser:
    """A logged-in admin over real HTTP: session cookie and the page's CSRF token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.csrf = ""

    def _csrf_from(self, html: str) -> str:
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
        if found is None:
            raise RuntimeError("no CSRF token in the page")
        return found.group(1)

    def login(self, name: str, password: str) -> None:
        with self.opener.open(self.base_url + "/admin/login", timeout=REQUEST_TIMEOUT) as page:
            token = self._csrf_from(page.read().decode())
        form = {"csrf_token": token, "username": name, "password": password}
        with self.opener.open(
            self.base_url + "/admin/login",
            urllib.parse.urlencode(form).encode(),
            timeout=REQUEST_TIMEOUT,
        ) as page:
            self.csrf = self._csrf_from(page.read().decode())

    def post_form(self, path: str, form: dict[str, str]) -> tuple[int, bytes]:
        data = urllib.parse.urlencode({"csrf_token": self.csrf, **form}).encode()
        try:
            with self.opener.open(self.base_url + path, data, timeout=REQUEST_TIMEOUT) as page:
                return page.status, page.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument(
        "--machines", type=int, choices=(1, 2), default=1, help="servers sharing the database"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        report = run_soak(
            Path(folder), options.seconds, options.threads, options.database_url, options.machines
        )
    print(f"{options.machines} machine(s), {'PostgreSQL' if options.database_url else 'SQLite'}")
    print(report.summary())
    for title, items in (
        ("5xx", report.server_errors),
        ("lost writes", report.lost_writes),
        ("stale reads", report.stale_reads),
        ("unexpected", report.unexpected),
        ("logged by the server", report.logged_errors),
    ):
        for item in items[:20]:
            print(f"  {title}: {item}")
    for item in report.collision_doubled[:20]:
        print(f"  a version won twice: {item}")
    failed = (
        report.server_errors
        or report.lost_writes
        or report.stale_reads
        or report.logged_errors
        or report.collision_doubled
    )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
