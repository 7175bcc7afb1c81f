"""`blog build` and its files under nginx, against a Flask hello-world, in one run.

    python -m bench.static_bench [--posts 1000] [--seconds 3] [--rounds 2] [--before TREE]

Measures: the full build of a site of ``--posts`` posts (every variant), an incremental
rebuild after editing one post, the home page's bytes on the wire (identity, gzip,
brotli: the build's siblings, which are also what the page cache sends), and requests per
second of nginx (started here on a loopback port with its own configuration, serving the
built folder with ``gzip_static``) against a Flask hello-world under waitress, rounds
interleaved so that both see the same machine load.

``--before TREE`` (e.g. ``git archive main | tar -x -C /tmp/before``) first builds the same
site with that source tree, in a subprocess, right before this tree's full build, prints
both figures, and compares the two built folders file by file (the manifest's ``shape``
differs by design: it digests the code's file sizes and times).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from sqlalchemy import select

from bench.load import REPO, blog_server, free_port, hello_server, run_wrk
from bench.miss_bench import importable
from bench.site import build_site as make_site
from blog.app import create_app
from blog.build.output import MANIFEST
from blog.build.site import BuildReport, build_site
from blog.models import Post, db
from blog.posts import fields_of, save_post
from blog.related import refresh_all
from blog.search import rebuild_index

HTTP_WRAPPER = """
daemon off;
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{server}
}}
"""
#: The nginx blocks of docs/static-site.md: the built site's, and the front server's.
DOCUMENTED_STATIC = re.compile(r"\n## nginx\s+```nginx\n(.*?)```", re.DOTALL)
DOCUMENTED_FRONT = re.compile(r"## Front-server mode.*?### nginx\s+```nginx\n(.*?)```", re.DOTALL)


def documented_block(pattern: re.Pattern[str], replacements: list[tuple[str, str]]) -> str:
    """A server block of docs/static-site.md with only its ports and paths replaced."""
    text = (REPO / "docs" / "static-site.md").read_text(encoding="utf-8")
    found = pattern.search(text)
    if found is None:
        raise RuntimeError(f"docs/static-site.md lost the nginx block {pattern.pattern!r}")
    server = found.group(1)
    for old, new in replacements:
        if old not in server:
            raise RuntimeError(f"docs/static-site.md: an nginx block lost {old!r}")
        server = server.replace(old, new)
    return server


def documented_static_config(folder: Path, root: Path) -> str:
    """The documented nginx configuration of a built site; ``{port}`` left to fill."""
    server = documented_block(
        DOCUMENTED_STATIC,
        [("listen 80;", "listen 127.0.0.1:{port};"), ("root /srv/blog/public;", f"root {root};")],
    )
    return HTTP_WRAPPER.format(folder=folder, server=server)


def documented_front_config(folder: Path, port: int, app_port: int, files: Path) -> str:
    """The documented front-server configuration with only its ports and paths replaced."""
    server = documented_block(
        DOCUMENTED_FRONT,
        [
            ("listen 80;", f"listen 127.0.0.1:{port};"),
            ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
            ("root /srv/blog/instance/page-files;", f"root {files};"),
        ],
    )
    return HTTP_WRAPPER.format(folder=folder, server=server)


class Nginx:
    def __init__(self, folder: Path, config_text: str) -> None:
        """nginx with ``config_text`` (its ``{port}`` filled) in ``folder``."""
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "nginx.conf"
        config.write_text(config_text.replace("{port}", str(self.port)), encoding="utf-8")
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


def cpu_seconds() -> float:
    """CPU of this process and of its finished children (the build's worker pool)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass
class TimedBuild:
    report: BuildReport
    #: CPU seconds of this process and of the build's worker pool.
    cpu: float
    #: CPU seconds of this process alone: crawl bookkeeping, link rewriting, search
    #: indexes, compression and writing, which the pool's workers do not share.
    main_cpu: float
    load: float

    def describe(self) -> str:
        report = self.report
        return (
            f"{report.seconds:.1f} s wall, {self.cpu:.1f} s CPU ({self.main_cpu:.1f} s of it in "
            f"the build's own process), load {self.load:.1f}; "
            f"{report.rendered} of {report.pages} pages rendered, "
            f"{len(report.written)} files written, {report.unchanged} unchanged, "
            f"{len(report.removed)} removed"
        )


def timed_build(instance: Path, out: Path, workers: int | None) -> TimedBuild:
    """Build ``instance`` into ``out``, timing it by the wall clock and by CPU seconds.

    CPU seconds too: on a shared machine the wall clock mostly measures the neighbours.
    """
    cpu = cpu_seconds()
    main = time.process_time()
    report = build_site(instance, out, workers=workers)
    return TimedBuild(report, cpu_seconds() - cpu, time.process_time() - main, os.getloadavg()[0])


#: Run by the ``--before`` tree's Python: a full build, its figures as JSON on stdout.
TREE_BUILD = """
import json, os, resource, sys, time
from pathlib import Path
import blog.build.site
from blog.build.site import build_site

def main():
    started, cpu = time.perf_counter(), time.process_time()
    workers = int(sys.argv[3]) if sys.argv[3] else None
    report = build_site(Path(sys.argv[1]), Path(sys.argv[2]), full=True, workers=workers)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "wall": time.perf_counter() - started,
        "main_cpu": time.process_time() - cpu,
        "cpu": time.process_time() - cpu + children.ru_utime + children.ru_stime,
        "pages": report.pages, "files": report.files, "load": os.getloadavg()[0],
        "source": blog.build.site.__file__,
    }))

if __name__ == "__main__":
    main()
"""


def tree_build(tree: Path, folder: Path, instance: Path, out: Path, workers: int | None) -> str:
    """A full build of ``instance`` into ``out`` by source tree ``tree``, described."""
    script = folder / "tree_build.py"
    script.write_text(TREE_BUILD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{importable(tree, folder)}{os.pathsep}{REPO}"}
    command = [sys.executable, "-P", str(script), str(instance), str(out), str(workers or "")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if not Path(figures["source"]).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"--before {tree}: the build ran {figures['source']} instead")
    return (
        f"{figures['wall']:.1f} s wall, {figures['cpu']:.1f} s CPU ({figures['main_cpu']:.1f} s "
        f"of it in the build's own process), load {figures['load']:.1f}; "
        f"{figures['pages']} pages, {figures['files']} files"
    )


def differences(first: Path, second: Path) -> list[str]:
    """Relative paths whose bytes differ between two built folders (or exist in one only);
    in the manifest, only ``files`` and the state's parts other than ``shape`` count."""
    names = {
        str(path.relative_to(root))
        for root in (first, second)
        for path in root.rglob("*")
        if path.is_file()
    }
    found = []
    for name in sorted(names):
        one, other = first / name, second / name
        if not (one.is_file() and other.is_file()):
            found.append(name)
        elif name == MANIFEST:
            left, right = (json.loads(p.read_text(encoding="utf-8")) for p in (one, other))
            for manifest in (left, right):
                manifest["state"].pop("shape", None)
            if left != right:
                found.append(name)
        elif one.read_bytes() != other.read_bytes():
            found.append(name)
    return found


def edit_one_post(instance: Path) -> None:
    """Append a sentence to one post through the real save path."""
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
    parser.add_argument("--workers", type=int, default=None, help="build processes")
    parser.add_argument("--before", type=Path, help="another source tree to compare with")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-static-"))
    folder.chmod(0o755)  # nginx workers run as an unprivileged user
    try:
        site = make_site(folder / "instance", options.posts)
        with site.app.app_context():
            # The copies are inserted as rows, carrying their template's related list; a real
            # site's lists were chosen for each post. As `blog reindex` leaves it, an edit
            # re-chooses only the lists it really changes (else the first edit rebuilds the
            # pages of every neighbour whose stale list it corrects).
            rebuild_index()
            refresh_all()
            db.session.remove()
        out = folder / "public"
        if options.before is not None:
            before_out = folder / "public-before"
            described = tree_build(
                options.before, folder, site.instance, before_out, options.workers
            )
            print(f"full build by {options.before}, {options.posts} posts, {described}")
        full = timed_build(site.instance, out, options.workers)
        print(f"full build, {options.posts} posts, {full.describe()}", flush=True)
        if options.before is not None:
            differing = differences(before_out, out)
            print(
                f"built folders: {len(differing)} files differ"
                + (f" ({', '.join(differing[:10])})" if differing else " (byte-identical)"),
                flush=True,
            )
            shutil.rmtree(before_out)
        edit_one_post(site.instance)
        again = timed_build(site.instance, out, options.workers)
        print(
            f"rebuild after editing one post: {again.describe()} "
            f"({again.cpu / full.cpu:.3f} of the full build's CPU)",
            flush=True,
        )
        same = timed_build(site.instance, out, options.workers)
        print(f"rebuild with nothing changed: {same.describe()}", flush=True)
        home = out / "index.html"
        sizes = {s: (home.with_name(home.name + s)).stat().st_size for s in (".gz", ".br")}
        print(
            f"home page bytes: {home.stat().st_size} identity, {sizes['.gz']} gzip, "
            f"{sizes['.br']} brotli"
        )
        post_path = "/posts/" + next(p.parent.name for p in (out / "posts").glob("*/index.html"))
        post_url = quote(post_path) + "/"
        # Identity as wrk asks by default, and gzip as every browser asks (gzip_static).
        targets = {"post": post_url, "home": "/", "post, gzip": post_url, "home, gzip": "/"}
        nginx_folder = folder / "nginx"
        nginx_folder.mkdir()
        nginx = Nginx(nginx_folder, documented_static_config(nginx_folder, out))
        # Front-server mode: the documented configuration before `blog serve`, which writes
        # each prefixed page it renders under instance/page-files.
        app_server = blog_server("front", site.instance, 4, PAGE_CACHE_FILES="page-files")
        front_folder = folder / "front"
        front_folder.mkdir()
        front_targets = {
            "front-server post": "/zh-tw" + post_url,
            "front-server home": "/zh-tw/",
        }
        hello = hello_server(threads=4)
        front = None
        try:
            app_server.wait_ready()
            front_config = documented_front_config(
                front_folder, 0, app_server.port, site.instance / "page-files"
            ).replace("listen 127.0.0.1:0;", "listen 127.0.0.1:{port};")
            front = Nginx(front_folder, front_config)
            for path in front_targets.values():
                urllib.request.urlopen(front.url + path, timeout=60).read()
                written = site.instance / "page-files" / path.strip("/") / "index.html"
                if not Path(unquote(str(written))).is_file():
                    raise RuntimeError(f"the app did not write {written}")
            hello.wait_ready()
            rates: dict[str, list[float]] = {
                name: [] for name in [*targets, *front_targets, "hello"]
            }
            for _round in range(options.rounds):
                for name, path in [*targets.items(), *front_targets.items()]:
                    url = (front.url if name in front_targets else nginx.url) + path
                    headers = {"Accept-Encoding": "gzip"} if name.endswith("gzip") else None
                    rates[name].append(
                        run_wrk(url, options.seconds, headers=headers).requests_per_second
                    )
                    rates["hello"].append(
                        run_wrk(hello.url + "/", options.seconds).requests_per_second
                    )
            baseline = sorted(rates["hello"])[len(rates["hello"]) // 2]
            print(f"hello-world (waitress, 4 threads): {baseline:,.0f} req/s (median)")
            for name in [*targets, *front_targets]:
                rate = sorted(rates[name])[len(rates[name]) // 2]
                label = name if name in front_targets else f"built {name}"
                print(
                    f"nginx, {label}: {rate:,.0f} req/s = {rate / baseline:.1f}x hello-world "
                    "(goal >= 10x)"
                )
        finally:
            hello.stop()
            nginx.stop()
            if front is not None:
                front.stop()
            app_server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
