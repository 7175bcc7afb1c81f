"""Crash safety: SIGKILL mid-save and mid-import, a full disk, a read-only instance.

After each crash the SQLite file passes ``PRAGMA integrity_check``, every post agrees with
its newest revision (no half-written post or revision), every acknowledged save is there,
and re-running the interrupted import completes it idempotently.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import Server, blog_server
from bench.site import new_app, write_instance
from blog.admin.tokens import create_token
from blog.models import User, db

pytestmark = pytest.mark.slow


def blog(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from blog.cli import main; main()",
            "--instance",
            str(instance),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def database(instance: Path) -> Path:
    return instance / "blog.sqlite3"


def integrity(instance: Path, read_only: bool = False) -> str:
    # On a read-only folder SQLite cannot create its WAL index: open the file immutable.
    target = f"file:{database(instance)}{'?mode=ro&immutable=1' if read_only else ''}"
    with sqlite3.connect(target, uri=True) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def half_written(instance: Path) -> list[str]:
    """Posts whose version, revisions and newest revision do not agree."""
    problems = []
    with sqlite3.connect(database(instance)) as connection:
        posts = connection.execute("SELECT id, version, title, source FROM posts").fetchall()
        for post_id, version, title, source in posts:
            numbers = [
                row[0]
                for row in connection.execute(
                    "SELECT number FROM revisions WHERE post_id = ? ORDER BY number", (post_id,)
                )
            ]
            newest = connection.execute(
                "SELECT title, source FROM revisions WHERE post_id = ? ORDER BY number DESC",
                (post_id,),
            ).fetchone()
            if numbers != list(range(1, version + 1)):
                problems.append(f"post {post_id}: version {version}, revisions {numbers}")
            elif newest != (title, source):
                problems.append(f"post {post_id}: newest revision differs from the post")
    return problems


def post_count(instance: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database(instance)}?mode=ro", uri=True) as connection:
            return int(connection.execute("SELECT count(*) FROM posts").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def make_instance(folder: Path) -> Path:
    instance = write_instance(folder / "instance", SITE_URL="http://127.0.0.1")
    result = blog(instance, "upgrade")
    assert result.returncode == 0, result.stderr
    return instance


def api_tokens(instance: Path, count: int) -> list[str]:
    app = new_app(instance)
    with app.app_context():
        user = User(name="crash", password_hash="!")
        db.session.add(user)
        db.session.commit()
        tokens = [create_token(user, f"crash-{n}") for n in range(count)]
        db.session.remove()
        db.engine.dispose()
    return tokens


def call(
    server: Server, method: str, path: str, token: str, body: object = None
) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


class Writer(threading.Thread):
    """Create and update posts until the server dies; remember each acknowledged save."""

    def __init__(self, server: Server, token: str, number: int) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.token = token
        self.number = number
        self.acked: dict[int, tuple[int, str]] = {}  # post id -> (version, source)

    def run(self) -> None:
        sequence = 0
        while True:
            sequence += 1
            source = f"写入 `w{self.number}s{sequence}` " + "内容" * 400
            try:
                if self.acked and sequence % 2:
                    post_id, (version, _) = next(iter(self.acked.items()))
                    body = {"source": source, "version": version}
                    status, answer = call(
                        self.server, "PATCH", f"/api/posts/{post_id}", self.token, body
                    )
                else:
                    body = {"title": f"崩溃测试 {self.number}-{sequence}", "source": source}
                    status, answer = call(self.server, "POST", "/api/posts", self.token, body)
            except OSError:
                return
            if status in (200, 201):
                self.acked[int(str(answer["id"]))] = (int(str(answer["version"])), source)


def test_server_killed_mid_save_loses_no_acknowledged_save(tmp_path: Path) -> None:
    instance = make_instance(tmp_path)
    tokens = api_tokens(instance, 4)
    server = blog_server("crash", instance, 4)
    server.wait_ready()
    writers = [Writer(server, token, n) for n, token in enumerate(tokens)]
    for writer in writers:
        writer.start()
    while sum(len(w.acked) for w in writers) < 12:
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    for writer in writers:
        writer.join(timeout=60)
    acknowledged = {k: v for w in writers for k, v in w.acked.items()}

    assert integrity(instance) == "ok"
    assert half_written(instance) == []
    with sqlite3.connect(database(instance)) as connection:
        for post_id, (version, source) in acknowledged.items():
            stored = connection.execute(
                "SELECT source FROM revisions WHERE post_id = ? AND number = ?", (post_id, version)
            ).fetchone()
            assert stored == (source,), post_id

    restarted = blog_server("crash-restarted", instance, 4)
    try:
        restarted.wait_ready()
        status, _ = call(
            restarted, "POST", "/api/posts", tokens[0], {"title": "重启后", "source": "x"}
        )
        assert status == 201
    finally:
        restarted.stop()


def write_documents(folder: Path, count: int) -> Path:
    folder.mkdir()
    for number in range(count):
        body = (
            f"第 {number} 篇 $x_{{{number}}}$\n\n```python\nprint({number})\n```\n" + "正文" * 300
        )
        (folder / f"{number:04d}.md").write_text(
            f"---\ntitle: 导入 {number}\nslug: import-{number}\ntags: [a, b]\n---\n{body}",
            encoding="utf-8",
        )
    return folder


def test_import_killed_mid_run_completes_idempotently_on_rerun(tmp_path: Path) -> None:
    instance = make_instance(tmp_path)
    documents = write_documents(tmp_path / "documents", 200)
    command = [sys.executable, "-c", "from blog.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "--instance", str(instance), "import", str(documents)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    while post_count(instance) < 10 and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_at = post_count(instance)
    assert 10 <= interrupted_at < 200

    assert integrity(instance) == "ok"
    assert half_written(instance) == []
    rerun = blog(instance, "import", str(documents))
    assert rerun.returncode == 0, rerun.stderr
    assert (
        f"imported {200 - interrupted_at}, updated 0, unchanged {interrupted_at}," in rerun.stdout
    )
    again = blog(instance, "import", str(documents))
    assert "imported 0, updated 0, unchanged 200," in again.stdout
    assert post_count(instance) == 200
    assert half_written(instance) == []


# Full disk and read-only instance: a small tmpfs of our own (needs root to mount)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_full_disk_gives_a_clear_error_while_the_server_keeps_serving(
    small_disk: Path, tmp_path: Path
) -> None:
    instance = make_instance(small_disk)
    documents = write_documents(tmp_path / "documents", 3)
    assert blog(instance, "import", str(documents)).returncode == 0
    server = blog_server("full-disk", instance, 4)
    try:
        server.wait_ready()
        assert get_status(server.url + "/posts/import-1/") == 200
        filler = fill(small_disk)
        more = tmp_path / "more"
        more.mkdir()
        (more / "new.md").write_text("---\ntitle: 新\nslug: new\n---\n" + "字" * 50_000, "utf-8")
        refused = blog(instance, "import", str(more))
        assert refused.returncode == 1
        assert "the database cannot be opened or written" in refused.stderr
        assert "check the free disk space" in refused.stderr
        assert "Traceback" not in refused.stderr
        for path in ("/", "/posts/import-0/", "/posts/import-2/", "/zh-tw/posts/import-1/"):
            assert get_status(server.url + path) == 200, path
        filler.unlink()
        assert blog(instance, "import", str(more)).returncode == 0
        assert get_status(server.url + "/posts/new/") == 200
    finally:
        server.stop()
    assert integrity(instance, read_only=True) == "ok"
    assert half_written(instance) == []


def test_read_only_instance_gives_a_clear_error_and_serves_existing_posts(
    small_disk: Path, tmp_path: Path
) -> None:
    instance = make_instance(small_disk)
    documents = write_documents(tmp_path / "documents", 3)
    assert blog(instance, "import", str(documents)).returncode == 0
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True)
    assert remounted.returncode == 0, remounted.stderr
    more = tmp_path / "more"
    more.mkdir()
    (more / "new.md").write_text("---\ntitle: 新\nslug: new\n---\n正文\n", "utf-8")
    refused = blog(instance, "import", str(more))
    assert refused.returncode == 1
    assert "the database cannot be opened or written" in refused.stderr
    assert "Traceback" not in refused.stderr
    server = blog_server("read-only", instance, 4)
    try:
        server.wait_ready()
        for path in ("/", "/posts/import-0/", "/zh-hant/posts/import-2/", "/archive/"):
            assert get_status(server.url + path) == 200, path
    finally:
        server.stop()
    assert integrity(instance, read_only=True) == "ok"
