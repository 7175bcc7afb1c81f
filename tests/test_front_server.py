"""The documented nginx front-server configuration for ``PAGE_CACHE_FILES``, run for real.

The ``server`` block is read from ``docs/static-site.md`` (only the ports and paths are
replaced), nginx runs it on a loopback port in front of ``blog serve`` (waitress), and the
test checks what the documentation promises: prefixed pages come from the files once the
app has written them (even with the app stopped), unprefixed pages and signed-in readers
always reach the app, and a content change removes the files before readers see it.
Caddy is not installed on this machine, so its configuration is not run.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from bench.static_bench import documented_front_config
from blog.app import create_app
from blog.db import upgrade
from blog.models import Post, db
from blog.posts import PostFields, fields_of, save_post
from tests.conftest import REPO, write_config

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
PAGE = "/zh-tw/posts/front/"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return (
                response.status,
                response.read(),
                {k.lower(): v for k, v in response.headers.items()},
            )
    except urllib.error.HTTPError as error:
        return error.code, error.read(), {k.lower(): v for k, v in error.headers.items()}


def wait_for(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Front:
    writer: Flask
    files: Path
    url: str
    app: subprocess.Popen[bytes]


@pytest.fixture
def front() -> Iterator[Front]:
    if NGINX is None:
        pytest.skip("nginx is not installed")
    # nginx's workers run as an unprivileged user: the folders must be readable by others.
    folder = Path(tempfile.mkdtemp(prefix="front-server-"))
    folder.chmod(0o755)
    instance = folder / "instance"
    write_config(instance, PAGE_CACHE_FILES="page-files", PAGE_CACHE_CHECK_MS=100)
    instance.chmod(0o755)
    writer = create_app(config={"PAGE_CACHE_BYTES": 0}, instance_path=instance)
    upgrade(writer)
    with writer.app_context():
        save_post(PostFields(title="前端伺服器", source="软件与内存。", slug="front"), author="t")
        db.session.remove()
    app_port, port = free_port(), free_port()
    command = [sys.executable, "-c", "from blog.cli import main; main()", "--instance"]
    app = subprocess.Popen(
        [*command, str(instance), "serve", "--port", str(app_port), "--threads", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    nginx_folder = folder / "nginx"
    nginx_folder.mkdir()
    config = nginx_folder / "nginx.conf"
    files = instance / "page-files"
    config.write_text(
        documented_front_config(nginx_folder, port, app_port, files), encoding="utf-8"
    )
    proxy = subprocess.Popen(
        [NGINX, "-c", str(config), "-p", str(nginx_folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def app_answers() -> bool:
            try:
                return fetch(f"http://127.0.0.1:{app_port}/healthz")[0] == 200
            except OSError:
                return False

        wait_for(app_answers, "blog serve to answer", timeout=120)
        yield Front(writer, files, url, app)
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        if app.poll() is None:
            app.terminate()
            try:
                app.wait(timeout=30)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
        with writer.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def test_documented_nginx_config_serves_page_files_and_falls_back_to_the_app(
    front: Front,
) -> None:
    page_file = front.files / "zh-tw" / "posts" / "front" / "index.html"
    status, body, _ = fetch(front.url + PAGE)
    assert status == 200 and "前端伺服器" in body.decode()
    assert page_file.is_file()  # the app wrote it while answering through the proxy
    assert "軟體" in page_file.read_text("utf-8")

    # A change: the files go first, then the new page is what the proxy serves.
    with front.writer.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == "front")).one()
        fields = fields_of(post)
        fields.title = "第二版標題"
        save_post(fields, author="t", post=post)
        db.session.remove()
    wait_for(lambda: not page_file.exists(), "the app to remove the page files", timeout=30)
    status, body, _ = fetch(front.url + PAGE)
    assert status == 200 and "第二版標題" in body.decode()
    assert "第二版標題" in page_file.read_text("utf-8")

    # With the app stopped, nginx alone answers the prefixed page from its file, compressed
    # from the gzip sibling; what must reach the app gets nginx's 502.
    front.app.kill()  # gone at once, whatever the machine's load
    front.app.wait(timeout=60)
    status, body, headers = fetch(front.url + PAGE, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert "第二版標題" in gzip.decompress(body).decode()
    assert headers["content-type"].startswith("text/html")
    assert fetch(front.url + PAGE)[0] == 200
    assert fetch(front.url + "/posts/front/")[0] == 502  # unprefixed: the reader's variant
    assert fetch(front.url + PAGE, Cookie="session=abc")[0] == 502  # signed in: the app
    assert fetch(front.url + "/zh-tw/posts/never-written/")[0] == 502  # no file: the app
