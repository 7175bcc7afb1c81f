"""Reading-side benchmark: ``python -m bench.miss_bench [--seconds N] [--rounds N] [--profile N]``.

Under load: a Flask hello-world, the blog with its page cache off (every request is
a cache miss: queries, Jinja, response filters) and the ladder of ``bench/floor.py`` (what
a page costs as each part of a miss is added: the app factory, one select through the ORM,
Core or a raw cursor, the base theme), all real waitress processes with the same thread
count, driven by ``wrk`` in interleaved rounds. Each ratio is taken within its round, so a
machine shared with other work affects both sides alike.

Start-up: ``blog --help``, ``blog plugins`` and ``blog themes`` (with an instance, as a
user runs them) against ``flask --help``, each a fresh process, interleaved.

``--profile N``: in process, N misses of the post page under cProfile (the top functions
by own time) and the SQL statements one miss runs.

``--cpu N``: CPU milliseconds per miss (``time.process_time`` over N misses through the
test client, in a fresh process per tree and round), which a loaded machine disturbs far
less than requests per second; then the CPU of one WSGI call of each rung of the floor's
ladder beside hello-world's (5N calls each, no server), and their ratio.

``--before TREE``: also serve and start another source tree (e.g. ``git archive main |
tar -x -C /tmp/before``) in the same rounds, for a before/after ratio measured side by
side: its ``blog``, and its ``plugins`` and ``themes`` as ``blog_plugins`` and
``blog_themes`` (a page is their work as much as the core's). Its processes run with
``python -P``, so this checkout's folder (the current directory) cannot shadow them.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from sqlalchemy import event

from bench.load import REPO, LoadResult, Server, blog_server, hello_server, run_wrk
from bench.site import Site, build_site
from blog.models import db

BIN = Path(sys.executable).parent


def post_paths(site: Site) -> dict[str, str]:
    path = urllib.parse.quote(f"/posts/{site.slugs[0]}/", safe="/")
    return {"miss: post": path, "miss: post /zh-tw/": "/zh-tw" + path}


def listing_paths(site: Site) -> dict[str, str]:
    """Listing pages for the CPU figures: home, a later page, a category, a tag."""

    def quoted(path: str) -> str:
        return urllib.parse.quote(path, safe="/")

    return {
        "miss: home": "/",
        "miss: page 2": "/page/2/",
        "miss: category": quoted(f"/categories/{site.categories[0]}/"),
        "miss: tag": quoted(f"/tags/{site.tags[0]}/"),
    }


def importable(tree: Path, folder: Path) -> Path:
    """A folder in ``folder`` from which ``tree``'s core, plugins and themes are imported."""
    packages = folder / "before-packages"
    packages.mkdir(exist_ok=True)
    for package, source in (
        ("blog", "blog"),
        ("blog_plugins", "plugins"),
        ("blog_themes", "themes"),
    ):
        link = packages / package
        if not link.exists():
            link.symlink_to((tree / source).resolve(), target_is_directory=True)
    return packages


def tree_server(tree: Path, instance: Path, threads: int) -> Server:
    """The blog of source tree ``tree`` (see :func:`importable`) over ``instance``, page
    cache off."""
    command = [sys.executable, "-P", "-c", "from blog.cli import main; main()", "--instance"]
    command += [str(instance), "serve", "--port", "{port}", "--threads", str(threads)]
    env = {"PYTHONPATH": f"{tree}{os.pathsep}{REPO}", "BLOG_PAGE_CACHE_BYTES": "0"}
    return Server(f"blog-{tree.name}", command, env)


def floor_server(instance: Path, threads: int, factory: str) -> Server:
    """``bench/floor.py``'s app ``factory`` (``bare_app`` or ``ladder_app``) over
    ``instance``'s database."""
    command = [sys.executable, "-m", "waitress", "--listen=127.0.0.1:{port}"]
    command += [f"--threads={threads}", "--call", f"bench.floor:{factory}"]
    return Server(factory, command, {"BENCH_FLOOR_INSTANCE": str(instance)})


def ladder_targets(site: Site, bare: Server, ladder: Server) -> dict[str, str]:
    """The floor's rungs, in the order each adds one part of a miss (``bench/floor.py``)."""
    post = post_paths(site)["miss: post"]
    slug = post.removeprefix("/posts/")
    return {
        "bare Flask, no DB, 1-line page": bare.url + "/memory/" + slug,
        "bare Flask + ORM, s6 floor": bare.url + post,
        "bare Flask + ORM, compiled": bare.url + "/compiled/" + slug,
        "app, no DB, 1-line page": ladder.url + "/floor/memory/" + slug,
        "app + ORM select": ladder.url + "/floor/orm/" + slug,
        "app + Core select": ladder.url + "/floor/core/" + slug,
        "app + DB-API cursor": ladder.url + "/floor/dbapi/" + slug,
        "app + Core + base theme": ladder.url + "/floor/theme/" + slug,
        "app: the real post page": ladder.url + post,
    }


def measure_load(
    site: Site, seconds: float, rounds: int, threads: int, before: Path | None
) -> None:
    hello = hello_server(threads)
    blog = blog_server("uncached", site.instance, threads, PAGE_CACHE_BYTES="0")
    bare = floor_server(site.instance, threads, "bare_app")
    ladder = floor_server(site.instance, threads, "ladder_app")
    servers = [hello, blog, bare, ladder]
    targets = ladder_targets(site, bare, ladder)
    targets.update({name: blog.url + path for name, path in post_paths(site).items()})
    if before is not None:
        old = tree_server(before, site.instance, threads)
        servers.append(old)
        targets.update(
            {f"{name} (before)": old.url + path for name, path in post_paths(site).items()}
        )
    try:
        for server in servers:
            server.wait_ready()

        # One connection per server thread: a miss takes long enough on a loaded machine
        # that 16 queued connections would pass wrk's 2 s timeout and count nothing.
        def load(url: str) -> LoadResult:
            return run_wrk(url, seconds, connections=threads)

        for url in targets.values():
            run_wrk(url, 1, connections=threads)  # warm: imports, converters, templates
        rates: dict[str, list[float]] = {"hello-world": [], **{name: [] for name in targets}}
        ratios: dict[str, list[float]] = {name: [] for name in targets}
        for _round in range(rounds):
            first = load(hello.url + "/").requests_per_second
            measured = {name: load(url) for name, url in targets.items()}
            last = load(hello.url + "/").requests_per_second
            baseline = (first + last) / 2
            rates["hello-world"] += [first, last]
            for name, result in measured.items():
                if result.non_2xx:
                    raise RuntimeError(f"{name}: {result.non_2xx} non-2xx responses")
                rates[name].append(result.requests_per_second)
                ratios[name].append(result.requests_per_second / baseline)
    finally:
        for server in servers:
            server.stop()
    print(
        f"wrk -t2 -c{threads} -d{seconds:g}s; waitress --threads {threads}; medians of {rounds} "
        f"interleaved rounds; load average now {os.getloadavg()[0]:.1f}"
    )
    print(f"  {'hello-world':<31} {statistics.median(rates['hello-world']):8.0f} req/s")
    for name, values in ratios.items():
        print(
            f"  {name:<31} {statistics.median(rates[name]):8.0f} req/s   "
            f"{statistics.median(values):.3f}x hello-world "
            f"(rounds: {', '.join(f'{v:.3f}' for v in values)})"
        )


#: Run in a fresh interpreter: CPU time per miss of each path given, page cache off.
CPU_PROBE = """
import sys, time
from blog.app import create_app
app = create_app(config={"PAGE_CACHE_BYTES": 0}, instance_path=sys.argv[1])
client = app.test_client()
count = int(sys.argv[2])
for path in sys.argv[3:]:
    assert client.get(path).status_code == 200  # warm: converters, templates
    started = time.process_time()
    for _ in range(count):
        client.get(path)
    print((time.process_time() - started) / count * 1000)
"""


def measure_cpu(site: Site, count: int, rounds: int, before: Path | None) -> None:
    posts = post_paths(site)
    # Hong Kong beside Taiwan: the other variant with corner quotes (CPU figures only).
    posts["miss: post /zh-hk/"] = "/zh-hk" + posts["miss: post"]
    paths = {**posts, **listing_paths(site)}
    trees = {"": str(REPO)}
    if before is not None:
        trees[" (before)"] = f"{before}{os.pathsep}{REPO}"
    samples: dict[str, list[float]] = {}
    for _round in range(rounds):
        for suffix, pythonpath in trees.items():
            output = subprocess.run(
                [
                    sys.executable,
                    "-P",
                    "-c",
                    CPU_PROBE,
                    str(site.instance),
                    str(count),
                    *paths.values(),
                ],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": pythonpath},
            ).stdout.split()
            for name, value in zip(paths, output, strict=True):
                samples.setdefault(name + suffix, []).append(float(value))
    print(f"CPU per miss, median of {rounds} rounds of {count}; load {os.getloadavg()[0]:.1f}")
    for name, values in samples.items():
        rounds_text = ", ".join(f"{value:.1f}" for value in values)
        print(f"  {name:<26} {statistics.median(values):7.1f} ms   ({rounds_text})")
    if before is not None:
        for name in paths:
            old, new = samples[name + " (before)"], samples[name]
            ratio = statistics.median(old) / statistics.median(new)
            print(f"  {name}: before ÷ after = {ratio:.2f}")


#: Run in a fresh interpreter: CPU time of one WSGI call of each rung of the floor's ladder
#: and of hello-world, called directly (no server, no test client) with a prepared environ.
LADDER_PROBE = """
import sys, time
from werkzeug.test import EnvironBuilder
from bench.floor import bare_app, ladder_app
from bench.hello import app as hello
apps = {"hello": hello, "bare": bare_app(), "ladder": ladder_app()}
count = int(sys.argv[1])
def start_response(status, headers, exc_info=None):
    assert status.startswith("200"), status
for spec in sys.argv[2:]:
    app = apps[spec.split(" ", 1)[0]]
    environ = EnvironBuilder(path=spec.split(" ", 1)[1]).get_environ()
    def call():
        response = app(dict(environ), start_response)
        b"".join(response)
        getattr(response, "close", lambda: None)()
    for _ in range(20):
        call()  # warm: imports, templates, statement caches, converters
    started = time.process_time()
    for _ in range(count):
        call()
    print((time.process_time() - started) / count * 1000)
"""


def measure_ladder_cpu(site: Site, count: int, rounds: int) -> None:
    """CPU per request of each rung of ``bench/floor.py`` and of hello-world, and the ratio
    hello-world ÷ rung: the share of hello-world's rate a rung could reach if CPU were all
    a request costs (waitress's own share, the same for every rung, is left out)."""
    post = post_paths(site)["miss: post"]
    slug = post.removeprefix("/posts/")
    rungs = {
        "hello-world": "hello /",
        "bare Flask, no DB, 1-line page": f"bare /memory/{slug}",
        "bare Flask + ORM, s6 floor": f"bare {post}",
        "bare Flask + ORM, compiled": f"bare /compiled/{slug}",
        "app, no DB, 1-line page": f"ladder /floor/memory/{slug}",
        "app + ORM select": f"ladder /floor/orm/{slug}",
        "app + Core select": f"ladder /floor/core/{slug}",
        "app + DB-API cursor": f"ladder /floor/dbapi/{slug}",
        "app + Core + base theme": f"ladder /floor/theme/{slug}",
        "app: the real post page": f"ladder {post}",
    }
    samples: dict[str, list[float]] = {name: [] for name in rungs}
    for _round in range(rounds):
        output = subprocess.run(
            [sys.executable, "-c", LADDER_PROBE, str(count), *rungs.values()],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "BENCH_FLOOR_INSTANCE": str(site.instance)},
        ).stdout.split()
        for name, value in zip(rungs, output, strict=True):
            samples[name].append(float(value))
    hello = statistics.median(samples["hello-world"])
    print(
        f"CPU per request (one WSGI call), median of {rounds} rounds of {count}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    for name, values in samples.items():
        median = statistics.median(values)
        rounds_text = ", ".join(f"{value:.3f}" for value in values)
        print(f"  {name:<31} {median:7.3f} ms  {hello / median:.3f}x  ({rounds_text})")


def measure_startup(instance: Path, repeat: int, before: Path | None) -> None:
    commands = {
        "flask --help": [str(BIN / "flask"), "--help"],
        "blog --help": [str(BIN / "blog"), "--instance", str(instance), "--help"],
        "blog --help (no instance)": [str(BIN / "blog"), "--instance", "/nonexistent", "--help"],
        "blog plugins": [str(BIN / "blog"), "--instance", str(instance), "plugins"],
        "blog themes": [str(BIN / "blog"), "--instance", str(instance), "themes"],
    }
    envs = {name: dict(os.environ) for name in commands}
    if before is not None:
        old = {**os.environ, "PYTHONPATH": f"{before}{os.pathsep}{REPO}"}
        run_old = [sys.executable, "-P", "-c", "from blog.cli import main; main()"]
        for args in (["--help"], ["plugins"], ["themes"]):
            name = f"blog {args[0]} (before)"
            commands[name] = [*run_old, "--instance", str(instance), *args]
            envs[name] = old
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _round in range(repeat):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(
                command, check=True, capture_output=True, cwd=tempfile.gettempdir(), env=envs[name]
            )
            times[name].append(time.perf_counter() - started)
    flask = statistics.median(times["flask --help"])
    print(f"start-up, median of {repeat} interleaved runs; load average {os.getloadavg()[0]:.1f}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<26} {median * 1000:7.0f} ms   {median / flask:.2f}x flask --help")


def profile_misses(site: Site, count: int, top: int) -> None:
    app = site.app
    app.config["PAGE_CACHE_BYTES"] = 0
    client = app.test_client()
    paths = post_paths(site)
    for path in paths.values():
        assert client.get(path).status_code == 200  # warm
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        for name, path in paths.items():
            statements.clear()
            client.get(path)
            print(f"{name}: {len(statements)} SQL statements per miss")
            for statement in statements:
                print("   ", " ".join(statement.split())[:150])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    for name, path in paths.items():
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(count):
            client.get(path)
        profiler.disable()
        elapsed = (time.perf_counter() - started) / count * 1000
        print(f"\n{name}: {elapsed:.1f} ms a miss under cProfile ({count} misses)")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--posts", type=int, default=200, help="posts in the served site")
    parser.add_argument("--startup-runs", type=int, default=7)
    parser.add_argument("--profile", type=int, default=0, help="profile N misses in process")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-load", action="store_true", help="skip the wrk part")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up part")
    parser.add_argument("--cpu", type=int, default=0, help="CPU time of N misses per round")
    parser.add_argument("--before", type=Path, help="another source tree to compare with")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="miss-bench-") as folder:
        site = build_site(Path(folder) / "site", options.posts)
        before = importable(options.before, Path(folder)) if options.before else None
        print(f"site: {len(site.slugs)} posts; post page {site.slugs[0]}")
        if options.profile:
            profile_misses(site, options.profile, options.top)
        if options.cpu:
            measure_cpu(site, options.cpu, options.rounds, before)
            measure_ladder_cpu(site, options.cpu * 5, options.rounds)
        if not options.no_load:
            measure_load(site, options.seconds, options.rounds, options.threads, before)
        if not options.no_startup:
            measure_startup(site.instance, options.startup_runs, before)


if __name__ == "__main__":
    main()
