"""`blog build` and its files under nginx, against a Flask hello-world, in one run.

    python -m bench.static_bench [--posts 1000] [--seconds 3] [--rounds 2]

Measures: the full build of a site of ``--posts`` posts (every variant), an incremental
rebuild after editing one post, the home page's bytes on the wire (identity, gzip,
brotli: the build's siblings, which are also what the page cache sends), and requests per
second of nginx (started here on a loopback port with its own configuration, serving the
built folder with ``gzip_static``) against a Flask hello-world under waitress, rounds
interleaved so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select

from bench.load import free_port, hello_server, run_wrk
from bench.site import build_site as make_site
from blog.build.site import build_site
from blog.models import Post, db
from blog.posts import fields_of, save_post

NGINX_CONFIG = """
daemon off;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        gzip_static on;
        charset utf-8;
        location / {{ try_files $uri $uri/ =404; }}
        error_page 404 /404.html;
    }}
}}
"""


class Nginx:
    def __init__(self, root: Path, folder: Path) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "nginx.conf"
        config.write_text(
            NGINX_CONFIG.format(prefix=folder, port=self.port, root=root), encoding="utf-8"
        )
        self.process = subprocess.Popen([nginx, "-c", str(config), "-p", str(folder)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not answer; see {folder / 'error.log'}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def edit_one_post(site_app: object, instance: Path) -> None:
    from blog.app import create_app

    app = create_app(instance_path=instance)
    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.kind == "post").limit(1)).one()
        fields = fields_of(post)
        fields.source += "\n\n编辑过一次。"
        save_post(fields, author="bench", post=post)
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-static-"))
    folder.chmod(0o755)  # nginx workers run as an unprivileged user
    try:
        site = make_site(folder / "instance", options.posts)
        out = folder / "public"
        # CPU seconds too: on a shared machine the wall clock mostly measures the neighbours.
        cpu = time.process_time()
        report = build_site(site.instance, out)
        print(
            f"full build, {options.posts} posts: {report.seconds:.1f} s wall, "
            f"{time.process_time() - cpu:.1f} s CPU, {report.pages} pages, {report.files} files",
            flush=True,
        )
        full_cpu = time.process_time() - cpu
        edit_one_post(site.app, site.instance)
        cpu = time.process_time()
        again = build_site(site.instance, out)
        again_cpu = time.process_time() - cpu
        print(
            f"rebuild after editing one post: {again.seconds:.1f} s wall, "
            f"{again_cpu:.1f} s CPU ({again_cpu / full_cpu:.3f} of the full build), "
            f"{again.rendered} of {again.pages} pages rendered, "
            f"{len(again.written)} files written, {again.unchanged} unchanged",
            flush=True,
        )
        cpu = time.process_time()
        same = build_site(site.instance, out)
        print(
            f"rebuild with nothing changed: {same.seconds:.1f} s wall, "
            f"{time.process_time() - cpu:.1f} s CPU, {same.rendered} pages rendered",
            flush=True,
        )
        home = out / "index.html"
        sizes = {s: (home.with_name(home.name + s)).stat().st_size for s in (".gz", ".br")}
        print(
            f"home page bytes: {home.stat().st_size} identity, {sizes['.gz']} gzip, "
            f"{sizes['.br']} brotli"
        )
        post_path = "/posts/" + next(p.parent.name for p in (out / "posts").glob("*/index.html"))
        from urllib.parse import quote

        targets = {"post": quote(post_path) + "/", "home": "/"}
        nginx_folder = folder / "nginx"
        nginx_folder.mkdir()
        nginx = Nginx(out, nginx_folder)
        hello = hello_server(threads=4)
        try:
            hello.wait_ready()
            rates: dict[str, list[float]] = {name: [] for name in [*targets, "hello"]}
            for _round in range(options.rounds):
                for name, path in targets.items():
                    rates[name].append(
                        run_wrk(nginx.url + path, options.seconds).requests_per_second
                    )
                    rates["hello"].append(
                        run_wrk(hello.url + "/", options.seconds).requests_per_second
                    )
            baseline = sorted(rates["hello"])[len(rates["hello"]) // 2]
            print(f"hello-world (waitress, 4 threads): {baseline:,.0f} req/s (median)")
            for name in targets:
                rate = sorted(rates[name])[len(rates[name]) // 2]
                print(
                    f"nginx, built {name}: {rate:,.0f} req/s = {rate / baseline:.1f}x hello-world "
                    "(goal >= 10x)"
                )
        finally:
            hello.stop()
            nginx.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
