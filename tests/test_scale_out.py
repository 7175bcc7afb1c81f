"""Running on several machines: health checks, proxies, metrics, shared limits and uploads.

"Two machines" are two instance folders with the same configuration and database, each
app served by its own real waitress server; on PostgreSQL they share the test server.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import serve_support
from admin_support import create_user, csrf_token, login
from alembic import command
from alembic.script import ScriptDirectory
from browser_support import serve_in_thread
from conftest import POSTGRES_HINT, POSTGRES_URL, reset_postgres, write_config
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from test_admin_uploads import png_bytes

from blog.admin.tokens import create_token
from blog.app import close_app, create_app
from blog.db import MIGRATIONS, alembic_config, upgrade
from blog.models import User, db
from blog.posts import PostFields, save_post

METRICS_TOKEN = "scrape-secret"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def clear_of_window_edge(window: float = 60.0, needed: float = 8.0) -> None:
    """Wait until the current rate-limit window has ``needed`` seconds left.

    Limits weigh the previous window by how much of it is still in view, so a test that
    counts refusals exactly starts early in a window, where that weight cannot change a
    verdict.
    """
    left = window - time.time() % window
    if left < needed:
        time.sleep(left + 0.05)


# --- health -----------------------------------------------------------------------------


def test_healthz_answers_ok_and_is_never_stored(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_on_a_migrated_database(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_not_ready_while_migrations_are_pending(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0005_merge_heads'"))
        db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert "blog upgrade" in body["reason"]
    assert body["current"] == ["0005_merge_heads"]


def test_readyz_stays_ready_on_a_schema_newer_than_the_code(
    app: Flask, client: FlaskClient
) -> None:
    # During a rolling deploy one machine has upgraded; the others keep serving.
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["newer_schema"] is True


# --- proxies ----------------------------------------------------------------------------


def test_forged_forwarded_for_is_ignored_without_proxy_count(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    client = app.test_client()
    clear_of_window_edge()
    # Each request claims another address; the limit still counts the real one.
    statuses = [
        client.get(
            "/api/posts",
            headers={"Authorization": "Bearer wrong", "X-Forwarded-For": f"10.9.0.{n}"},
        ).status_code
        for n in range(21)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_proxy_count_makes_limits_see_the_client_address(make_app: Callable[..., Flask]) -> None:
    app = make_app(PROXY_COUNT=1)
    client = app.test_client()
    clear_of_window_edge()
    first = [
        client.get(
            "/api/posts",
            headers={"Authorization": "Bearer wrong", "X-Forwarded-For": "203.0.113.7"},
        ).status_code
        for _ in range(21)
    ]
    other = client.get(
        "/api/posts", headers={"Authorization": "Bearer wrong", "X-Forwarded-For": "203.0.113.8"}
    )
    assert first[20] == 429
    assert other.status_code == 401


def test_proxy_count_trusts_only_the_last_hop(make_app: Callable[..., Flask]) -> None:
    app = make_app(PROXY_COUNT=1)
    client = app.test_client()
    clear_of_window_edge()
    # The client prepends forged addresses; only the proxy's own (last) entry is believed.
    statuses = [
        client.get(
            "/api/posts",
            headers={
                "Authorization": "Bearer wrong",
                "X-Forwarded-For": f"10.9.0.{n}, 203.0.113.7",
            },
        ).status_code
        for n in range(21)
    ]
    assert statuses[20] == 429


# --- metrics ----------------------------------------------------------------------------


def sample(exposition: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name + (f"{{{wanted}}}" if wanted else "")) + r" ([0-9.e+-]+)"
    found = re.search(pattern, exposition)
    assert found, f"{name} {labels} not in metrics"
    return float(found.group(1))


def test_metrics_without_the_token_do_not_exist(make_app: Callable[..., Flask]) -> None:
    client = make_app(METRICS_TOKEN=METRICS_TOKEN).test_client()
    assert client.get("/metrics").status_code == 404
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 404


def test_metrics_are_off_when_no_token_is_configured(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_count_requests_cache_database_and_logins(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(METRICS_TOKEN=METRICS_TOKEN)
    with app.app_context():
        slug = save_post(
            PostFields(title="度量", source="正文", status="published"), author="t"
        ).slug
    create_user(app)
    client = app.test_client()
    for _ in range(3):
        assert client.get("/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    reader = app.test_client()
    token = csrf_token(reader)
    reader.post("/admin/login", data={"csrf_token": token, "username": "editor", "password": "x"})
    assert login(app.test_client()).status_code == 302
    # A comment post without the form's token is refused, and counted as such.
    assert client.post(f"/zh-tw/posts/{slug}/comments", data={"body": "好"}).status_code >= 400

    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert sample(body, "blog_http_requests_total", status="200") >= 3
    assert sample(body, "blog_http_requests_total", status="404") >= 1
    assert sample(body, "blog_page_cache_lookups_total", result="miss") >= 1
    assert sample(body, "blog_page_cache_lookups_total", result="hit") >= 2
    assert sample(body, "blog_page_render_seconds_count") >= 1
    assert sample(body, "blog_database_statements_total") > 0
    assert sample(body, "blog_database_seconds_total") > 0
    assert sample(body, "blog_admin_logins_total", outcome="failure") == 1
    assert sample(body, "blog_admin_logins_total", outcome="success") == 1
    assert sample(body, "blog_comments_posted_total", outcome="refused") == 1


def test_json_logs_write_one_line_per_request(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(JSON_LOGS=True).test_client()
    with caplog.at_level("INFO", logger="blog.access"):
        client.get("/healthz?probe=1")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "blog.access"]
    assert lines and lines[-1]["path"] == "/healthz"
    assert lines[-1]["status"] == 200 and lines[-1]["query"] == "probe=1"


# --- two machines -----------------------------------------------------------------------


@contextmanager
def two_machines(tmp_path: Path, database: str, **config: Any) -> Iterator[tuple[Flask, Flask]]:
    """Apps A and B over two instance folders sharing one configuration and database."""
    apps = []
    for name in ("a", "b"):
        folder = tmp_path / name
        settings = {"DATABASE_URL": database or f"sqlite:///{tmp_path / 'shared.sqlite3'}"}
        settings.update(config)
        write_config(folder, **settings)
        app = create_app(instance_path=folder)
        upgrade(app)
        apps.append(app)
    try:
        yield apps[0], apps[1]
    finally:
        for app in apps:
            close_app(app)


def upload_through(app: Flask, data: bytes) -> str:
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    token = csrf_token(client, "/admin/uploads/")
    response = client.post(
        "/admin/uploads/",
        data={"csrf_token": token, "file": (io.BytesIO(data), "图.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 302, 303)
    found = re.search(r"/uploads/([0-9a-f]{32}\.png)", client.get("/admin/uploads/").text)
    assert found
    return found.group(1)


@pytest.mark.postgres
def test_an_upload_made_on_one_machine_is_served_by_the_other(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_HINT)
    reset_postgres(POSTGRES_URL)
    data = png_bytes(5, 3)
    with two_machines(tmp_path, POSTGRES_URL) as (a, b):
        name = upload_through(a, data)
        assert not (tmp_path / "b" / "uploads" / name).exists()
        for base in serve_in_thread(b):
            status, headers, body = get(f"{base}/uploads/{name}")
            assert status == 200 and body == data
            assert "immutable" in headers["Cache-Control"]
            # B now serves its own copy from disk.
            assert (tmp_path / "b" / "uploads" / name).read_bytes() == data


def test_on_sqlite_uploads_stay_files(tmp_path: Path, make_app: Callable[..., Flask]) -> None:
    app = make_app()
    name = upload_through(app, png_bytes(3, 3))
    with app.app_context():
        stored = db.session.execute(text("SELECT count(*) FROM upload_blobs")).scalar()
    assert stored == 0
    assert (Path(app.instance_path) / "uploads" / name).is_file()


def test_uploads_migrate_copies_existing_files_into_the_database(
    instance: Path, make_app: Callable[..., Flask], run_cli: Callable[..., Any]
) -> None:
    app = make_app()
    name = upload_through(app, png_bytes(4, 4))
    refused = run_cli("uploads", "migrate")
    assert refused.exit_code != 0 and "UPLOAD_STORAGE" in refused.output
    write_config(instance, UPLOAD_STORAGE="database")
    result = run_cli("uploads", "migrate")
    assert result.exit_code == 0, result.output
    assert "Copied 1 upload(s)" in result.output
    again = run_cli("uploads", "migrate")
    assert "1 were already there" in again.output
    (Path(app.instance_path) / "uploads" / name).unlink()
    shared = make_app(UPLOAD_STORAGE="database")
    assert shared.test_client().get(f"/uploads/{name}").status_code == 200


def test_an_unknown_upload_storage_stops_start_up(make_app: Callable[..., Flask]) -> None:
    from blog.config import ConfigError

    with pytest.raises(ConfigError, match="UPLOAD_STORAGE"):
        make_app(UPLOAD_STORAGE="s3")


def test_limits_hold_once_across_machines(tmp_path: Path, database: str) -> None:
    with two_machines(tmp_path, database) as (a, b):
        with a.app_context():
            user = User(name="writer", password_hash="x")
            db.session.add(user)
            db.session.commit()
            secret = create_token(user, "laptop")
        servers = [serve_in_thread(a, threads=4), serve_in_thread(b, threads=4)]
        bases = [next(server) for server in servers]
        try:
            clear_of_window_edge(needed=20.0)
            # 20 failed authentications a minute per address: spread over both machines.
            bad = {"Authorization": "Bearer guess"}
            statuses = [get(f"{bases[n % 2]}/api/posts", bad)[0] for n in range(24)]
            assert statuses.count(401) == 20, statuses
            assert statuses.count(429) == 4
            # 120 requests a minute per token, from 8 threads across both machines at once.
            good = {"Authorization": f"Bearer {secret}"}
            results: list[int] = []
            lock = threading.Lock()

            def call(n: int) -> None:
                status = get(f"{bases[n % 2]}/api/posts", good)[0]
                with lock:
                    results.append(status)

            threads = [threading.Thread(target=call, args=(n,)) for n in range(140)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert results.count(200) == 120, sorted(results)
            assert results.count(429) == 20
        finally:
            for server in servers:
                server.close()


def test_a_publish_on_one_machine_shows_on_the_other(tmp_path: Path, database: str) -> None:
    with two_machines(tmp_path, database, PAGE_CACHE_CHECK_MS=300) as (a, b):
        servers = [serve_in_thread(b)]
        base = next(servers[0])
        try:
            assert "跨机器发布" not in get(f"{base}/")[2].decode()
            with a.app_context():
                save_post(
                    PostFields(title="跨机器发布", source="正文", status="published"), author="t"
                )
            published = time.monotonic()
            while "跨机器发布" not in get(f"{base}/")[2].decode():
                assert time.monotonic() - published < 5, "B never showed A's post"
                time.sleep(0.05)
            # PAGE_CACHE_CHECK_MS plus the time of one render and request.
            assert time.monotonic() - published < 0.3 + 1.5
        finally:
            servers[0].close()


# --- the database going away ------------------------------------------------------------


class TcpRelay:
    """A loopback relay to the PostgreSQL server that can be cut and restored.

    Stopping it closes the listening socket and every relayed connection, which is what
    the application sees when the database machine goes away.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        with socket.create_server(("127.0.0.1", 0)) as probe:
            self.port = probe.getsockname()[1]
        self.listener: socket.socket
        self._connections: list[socket.socket] = []
        self._running = False

    def start(self) -> None:
        if not self._running:
            self.listener = socket.create_server(("127.0.0.1", self.port))
            self._running = True
            threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        self._running = False
        # Wakes the thread blocked in accept(); close() alone leaves it listening.
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for connection in self._connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self._running:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.close()


def relayed_postgres() -> tuple[TcpRelay, str]:
    """A fresh test database reached through a started :class:`TcpRelay`, and its URL."""
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_HINT)
    reset_postgres(POSTGRES_URL)
    found = re.match(r"postgresql://([^@]+)@([^/:]+)(?::(\d+))?/(.+)", POSTGRES_URL)
    assert found
    credentials, host, port, name = found.groups()
    relay = TcpRelay(host, int(port or 5432))
    relay.start()
    return relay, f"postgresql://{credentials}@127.0.0.1:{relay.port}/{name}"


@pytest.mark.postgres
def test_readyz_follows_the_database_going_away_and_coming_back(tmp_path: Path) -> None:
    relay, url = relayed_postgres()
    with two_machines(tmp_path, url) as (a, _b):
        with a.app_context():
            save_post(PostFields(title="在线", source="正文", status="published"), author="t")
        server = serve_in_thread(a, threads=4)
        base = next(server)
        try:
            assert get(f"{base}/readyz")[0] == 200
            relay.stop()
            status, _headers, body = get(f"{base}/readyz")
            assert status == 503
            assert json.loads(body)["reason"] == "database unreachable"
            assert get(f"{base}/healthz")[0] == 200
            page_status, _headers, page = get(f"{base}/posts/no-such-post/")
            assert page_status == 503
            assert b"Traceback" not in page  # no traceback, and the reader is told to retry
            relay.start()
            deadline = time.monotonic() + 10
            while get(f"{base}/readyz")[0] != 200:
                assert time.monotonic() < deadline, "never ready again"
                time.sleep(0.2)
            assert get(f"{base}/")[0] == 200
        finally:
            server.close()
            relay.stop()


#: The next release's migration, as ``blog upgrade`` of that release would apply it: a new
#: table and a nullable column, the additive kind ``docs/deploy.md`` asks for.
NEXT_RELEASE_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "9999_next_release"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("next_release_notes", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("posts", sa.Column("next_release_flag", sa.Boolean, nullable=True))


def downgrade():
    op.drop_column("posts", "next_release_flag")
    op.drop_table("next_release_notes")
"""


def upgrade_to_next_release(app: Flask, folder: Path) -> None:
    """Run the next release's ``blog upgrade`` from ``app``'s machine."""
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
        config = alembic_config(url)
        head = ScriptDirectory.from_config(config).get_current_head()
        folder.mkdir()
        (folder / "9999_next_release.py").write_text(NEXT_RELEASE_MIGRATION.format(head=head))
        config.set_main_option("path_separator", "os")
        config.set_main_option(
            "version_locations", os.pathsep.join([str(MIGRATIONS / "versions"), str(folder)])
        )
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


@pytest.mark.postgres
def test_an_additive_upgrade_from_one_machine_leaves_the_other_serving(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_HINT)
    reset_postgres(POSTGRES_URL)
    with two_machines(tmp_path, POSTGRES_URL) as (a, b):
        with a.app_context():
            user = User(name="writer", password_hash="x")
            db.session.add(user)
            db.session.commit()
            secret = create_token(user, "deploy")
            save_post(
                PostFields(title="在线", source="正文", slug="live", status="published"), author="t"
            )
        server = serve_in_thread(a, threads=4)
        base = next(server)
        stop = threading.Event()
        answers: list[tuple[str, int]] = []
        lock = threading.Lock()

        def keep_reading() -> None:
            while not stop.is_set():
                for path in ("/posts/live/", "/", "/readyz"):
                    status = get(f"{base}{path}", {"Cache-Control": "no-cache"})[0]
                    with lock:
                        answers.append((path, status))

        def keep_writing() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                body = json.dumps({"title": f"部署中 {n}", "source": "正文", "status": "published"})
                request = urllib.request.Request(
                    f"{base}/api/posts",
                    data=body.encode(),
                    method="POST",
                    headers={
                        "Authorization": f"Bearer {secret}",
                        "Content-Type": "application/json",
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status = response.status
                except urllib.error.HTTPError as error:
                    status = error.code
                with lock:
                    answers.append(("POST /api/posts", status))

        workers = [threading.Thread(target=keep_reading) for _ in range(2)]
        workers.append(threading.Thread(target=keep_writing))
        try:
            for worker in workers:
                worker.start()
            time.sleep(0.5)
            upgrade_to_next_release(b, tmp_path / "next-release")
            time.sleep(0.5)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=60)
            server.close()
        refused = [answer for answer in answers if answer[1] not in (200, 201)]
        assert refused == []
        assert {path for path, _ in answers} == {"/posts/live/", "/", "/readyz", "POST /api/posts"}
        status, _headers, body = get_ready(a)
        assert status == 200 and json.loads(body)["newer_schema"] is True
        with a.app_context():
            columns = db.session.execute(
                text("SELECT column_name FROM information_schema.columns WHERE table_name='posts'")
            ).scalars()
            assert "next_release_flag" in set(columns)
            written = db.session.execute(text("SELECT count(*) FROM posts")).scalar_one()
        assert written == 1 + sum(1 for path, _ in answers if path == "POST /api/posts")


def get_ready(app: Flask) -> tuple[int, dict[str, str], bytes]:
    response = app.test_client().get("/readyz")
    return response.status_code, dict(response.headers), response.data


# --- worker processes and graceful stops ------------------------------------------------


@contextmanager
def blog_serve(instance: Path, *options: str) -> Iterator[tuple[str, Any]]:
    """``blog serve`` as a real process with the slow-route fixture plugin; yields its URL."""
    import shutil

    folder = instance / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__).parent / "plugins_fixtures" / "slow_route.py", folder)
    write_config(instance, PLUGINS=["slow_route"])
    upgrade(create_app(instance_path=instance))
    with serve_support.blog_serve(instance, *options) as server:
        # With --workers the supervisor listens before its children run; a first answer
        # (the request waits in the backlog, no polling) shows one of them is serving.
        urllib.request.urlopen(
            f"{server.base}/healthz", timeout=serve_support.ANSWER_SECONDS
        ).close()
        yield server.base, server.process


@pytest.mark.slow
def test_serve_workers_share_one_port(instance: Path) -> None:
    with blog_serve(instance, "--workers", "2", "--threads", "2") as (base, server):
        # Every request is a new connection; the kernel wakes whichever worker is
        # waiting in accept(), so both answer within a few requests once both are up.
        pids: set[str] = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(get(f"{base}/pid")[2].decode())
        assert len(pids) == 2
        assert str(server.pid) not in pids
        server.terminate()
        assert server.wait(timeout=60) == 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_finishes_requests_in_flight(instance: Path, workers: str) -> None:
    with blog_serve(instance, "--workers", workers) as (base, server):
        answers: list[tuple[int, bytes]] = []

        def slow() -> None:
            status, _headers, body = get(f"{base}/slow")
            answers.append((status, body))

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.5)  # the request is now inside the handler
        server.terminate()
        thread.join(timeout=30)
        assert answers and answers[0][0] == 200
        assert answers[0][1].startswith(b"done by ")
        assert server.wait(timeout=60) == 0
        with pytest.raises(OSError):
            get(f"{base}/healthz")


@pytest.mark.slow
def test_workers_stop_when_their_supervisor_is_killed(instance: Path) -> None:
    import os
    import signal

    def workers() -> list[int]:
        # Every process serving this instance, whoever its parent is now; zombies waiting
        # for init to reap them are not serving and do not count.
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                command = (proc / "cmdline").read_bytes().split(b"\0")
                state = (proc / "stat").read_text().split(") ")[1][0]
            except OSError:
                continue
            if str(instance).encode() in command and b"--listen-fd" in command and state != "Z":
                found.append(int(proc.name))
        return found

    with blog_serve(instance, "--workers", "2") as (_base, server):
        deadline = time.monotonic() + 60
        while len(workers()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers()) == 2
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        deadline = time.monotonic() + 60
        while workers() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert workers() == []


@pytest.mark.slow
def test_a_worker_that_dies_is_replaced(instance: Path) -> None:
    import os
    import signal

    with blog_serve(instance, "--workers", "2") as (base, server):
        victim = int(get(f"{base}/pid")[2])
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        seen: set[int] = set()
        while len(seen) < 2:
            assert time.monotonic() < deadline, seen
            try:
                seen.add(int(get(f"{base}/pid")[2]))
            except (OSError, ValueError):
                time.sleep(0.1)
        assert victim not in seen
        server.terminate()
        assert server.wait(timeout=60) == 0


@pytest.mark.postgres
def test_an_upload_while_the_database_is_away_stores_nothing(tmp_path: Path) -> None:
    relay, url = relayed_postgres()
    data = png_bytes(7, 7)
    with two_machines(tmp_path, url) as (a, _b):
        create_user(a)
        client = a.test_client()
        assert login(client).status_code == 302
        token = csrf_token(client, "/admin/uploads/")
        relay.stop()
        try:
            response = client.post(
                "/admin/uploads/",
                data={"csrf_token": token, "file": (io.BytesIO(data), "图.png")},
                content_type="multipart/form-data",
            )
            assert response.status_code == 503
            assert b"Traceback" not in response.data
        finally:
            relay.start()
        with a.app_context():
            rows = db.session.execute(text("SELECT count(*) FROM uploads")).scalar()
            blobs = db.session.execute(text("SELECT count(*) FROM upload_blobs")).scalar()
        assert (rows, blobs) == (0, 0)
        assert not any((tmp_path / "a" / "uploads").glob("*.png"))
        relay.stop()


@pytest.mark.postgres
def test_an_upload_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_HINT)
    reset_postgres(POSTGRES_URL)
    import http.client

    with two_machines(tmp_path, POSTGRES_URL, UPLOAD_MAX_BYTES=1_000_000) as (a, _b):
        create_user(a)
        client = a.test_client()
        assert login(client).status_code == 302
        cookie = client.get_cookie("session")
        assert cookie is not None
        token = csrf_token(client, "/admin/uploads/")
        from waitress.server import create_server

        from blog.workers import waitress_options

        server = create_server(a, host="127.0.0.1", port=0, threads=2, **waitress_options(a))
        threading.Thread(target=server.run, daemon=True).start()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=30)
            body_size = 200 * 1024 * 1024  # announced; only a little is ever sent
            connection.putrequest("POST", "/admin/uploads/")
            connection.putheader("Content-Type", "multipart/form-data; boundary=x")
            connection.putheader("Content-Length", str(body_size))
            connection.putheader("Cookie", f"session={cookie.value}")
            connection.putheader("X-CSRFToken", token)
            connection.endheaders()
            with suppress(OSError):
                connection.send(b"--x\r\n" + b"\0" * 65536)
            response = connection.getresponse()
            assert response.status == 413
            connection.close()
        finally:
            server.close()
        with a.app_context():
            assert db.session.execute(text("SELECT count(*) FROM upload_blobs")).scalar() == 0
