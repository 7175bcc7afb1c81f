"""Hexo beside us on the same posts: ``python -m bench --peers [--posts 1000] [--rounds 3]``.

Also ``python -m bench.peers [--posts N] [--rounds N] [--keep]``.

Writes ``--posts`` demo-size posts (``bench.site.demo_sized_documents``) once, as Hexo source
posts: YAML front matter with the keys Hexo reads (``title``, ``date``, ``updated``, ``lang``,
``excerpt``, ``categories``, ``tags``; a draft becomes ``published: false``) and ``slug`` for
``blog import``, other keys left out, the bodies unchanged. Installs a pinned Hexo with its
default theme (landscape) into a temporary folder with ``npm install``, then interleaves
rounds of:

* ``hexo clean`` (not timed), then ``hexo generate``: cold, every round;
* plain Python-Markdown converting the same bodies in this process (the reference
  ``bench/import_bench.py`` divides by);
* ``blog import`` of the same files into a fresh instance (render processes: every core);
* ``blog build`` of that instance into an empty folder (a full build, every variant).

Each command runs in a subprocess, timed by the wall clock and by CPU seconds (the command
and every process it waited for). Prints medians, their ratios to Hexo, what each produced
and the CPU a generated HTML page costs, since the outputs differ: Hexo writes one language
with no math rendering (``$…$`` stays text), no feeds and no search index; ``blog build``
writes every page in five variants with MathML, feeds, search indexes and ``.gz``/``.br``
siblings.

Without npm on ``PATH``, or when the npm registry cannot be reached, it prints why it
skipped and exits 0. Nothing is installed outside the temporary folder except what npm
keeps in its own cache.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.import_bench import plain_markdown
from bench.site import demo_sized_documents, write_instance

#: Exact versions, so every run generates with the same code. The set is what ``hexo init``
#: puts in a new site (hexo-cli 4.3.2's starter) less ``hexo-server``, at their newest
#: releases on 2026-12-02.
HEXO_PACKAGES = {
    "hexo": "8.1.2",
    "hexo-cli": "4.3.2",
    "hexo-generator-archive": "2.0.0",
    "hexo-generator-category": "2.0.0",
    "hexo-generator-index": "4.0.0",
    "hexo-generator-tag": "2.0.0",
    "hexo-renderer-ejs": "2.0.0",
    "hexo-renderer-marked": "7.0.1",
    "hexo-renderer-stylus": "3.0.1",
    "hexo-theme-landscape": "1.1.0",
}
#: Hexo's defaults fill in the rest (10 posts a page, as our POSTS_PER_PAGE).
HEXO_CONFIG = {
    "title": "Hexo beside blog",
    "language": "zh-CN",
    "url": "http://127.0.0.1",
    "theme": "landscape",
    "per_page": 10,
}
#: Hexo runs Nunjucks over every post body before Markdown: ``{{``, ``{%`` or ``{#`` in a
#: body (a formula, a template in a code span) would be read as a tag or fail the post.
NUNJUCKS_MARKERS = re.compile(r"\{[{%#]")
FRONT_MATTER = re.compile(r"\A(---|\+\+\+)\n(.*?)\n\1\n", re.DOTALL)
NPM_MISSING = "--peers skipped: npm is not on PATH (install Node.js and npm to compare with Hexo)"
PLAIN_MARKDOWN = "plain Python-Markdown"
#: The rows of the table, in the order each round runs them.
COMMANDS = ("hexo generate", PLAIN_MARKDOWN, "blog import", "blog build")


def hexo_front_matter(front: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a post's front matter that Hexo reads, in Hexo's form."""
    hexo: dict[str, Any] = {"title": front["title"], "date": front["date"]}
    if "slug" in front:  # for `blog import`; Hexo takes the slug from the file's name
        hexo["slug"] = str(front["slug"])
    for key in ("updated", "lang", "excerpt"):  # Hexo: dates, page language, listing excerpt
        if key in front:
            hexo[key] = front[key]
    for key in ("categories", "tags"):
        value = front.get(key)
        if value:
            hexo[key] = [value] if isinstance(value, str) else list(value)
    # Hexo keeps drafts in source/_drafts; a post in _posts is left out with published: false.
    if front.get("draft") is True or front.get("published") is False:
        hexo["published"] = False
    return hexo


def hexo_post(front: Mapping[str, Any], body: str) -> str:
    """A Hexo source post: YAML front matter between ``---`` lines, then ``body`` unchanged."""
    hexo = hexo_front_matter(front)
    if NUNJUCKS_MARKERS.search(body):
        hexo["disableNunjucks"] = True
    text = yaml.safe_dump(hexo, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return f"---\n{text}---\n{body}"


def read_document(text: str) -> tuple[dict[str, Any], str]:
    """Front matter (YAML between ``---`` or TOML between ``+++``) and body of a post file."""
    found = FRONT_MATTER.match(text)
    if found is None:
        raise ValueError("the post has no front matter")
    fence, front = found.group(1), found.group(2)
    data = tomllib.loads(front) if fence == "+++" else yaml.safe_load(front)
    return dict(data), text[found.end() :]


def write_hexo_posts(posts_folder: Path, count: int, scratch: Path) -> list[Path]:
    """Write ``count`` demo-size posts into ``posts_folder`` as Hexo source posts.

    Hexo takes a post's slug from its file name, so each file is named after the slug
    ``demo_sized_documents`` gave it; ``blog import`` reads the same name from ``slug``.
    """
    posts_folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(demo_sized_documents(scratch, count).glob("*.md")):
        front, body = read_document(source.read_text(encoding="utf-8"))
        target = posts_folder / f"{front['slug']}.md"
        target.write_text(hexo_post(front, body), encoding="utf-8")
        written.append(target)
    return written


def children_cpu() -> float:
    """CPU seconds of every finished child process and of the processes they waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Timed:
    wall: float
    cpu: float
    load: float
    output: str


def timed(command: list[str], cwd: Path | None = None) -> Timed:
    """Run ``command`` to its end; its wall and CPU seconds and its output."""
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}"
            f"{done.stderr[-2000:]}"
        )
    return Timed(wall, children_cpu() - cpu, os.getloadavg()[0], done.stdout + done.stderr)


def npm_unavailable(npm: str | None, folder: Path) -> str | None:
    """Why Hexo cannot be installed here, or None when the registry answers npm."""
    if npm is None or shutil.which("node") is None:
        return NPM_MISSING
    probe = [npm, "view", f"hexo@{HEXO_PACKAGES['hexo']}", "version"]
    try:
        done = subprocess.run(
            [*probe, "--fetch-retries=0", "--fetch-timeout=20000"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        return "--peers skipped: the npm registry did not answer within 60 s"
    if done.returncode != 0 or done.stdout.strip() != HEXO_PACKAGES["hexo"]:
        return f"--peers skipped: the npm registry cannot be reached ({npm_error(done.stderr)})"
    return None


def npm_error(stderr: str) -> str:
    """The line of npm's error output that says what failed (npm prints code, errno, the
    error with its reason, a stack and the log's path)."""
    lines = [line.removeprefix("npm error").strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    telling = [line for line in lines if "Error" in line or "reason" in line]
    return (telling or lines or ["no answer"])[0]


def install_hexo(npm: str, site: Path) -> Timed:
    """A Hexo site in ``site``: its pinned packages installed, its config written."""
    site.mkdir(parents=True, exist_ok=True)
    # hexo-cli offers `generate` only in a folder whose package.json has a "hexo" key.
    package = {
        "name": "hexo-peer",
        "private": True,
        "hexo": {"version": HEXO_PACKAGES["hexo"]},
        "dependencies": HEXO_PACKAGES,
    }
    (site / "package.json").write_text(json.dumps(package, indent=2), encoding="utf-8")
    (site / "_config.yml").write_text(yaml.safe_dump(HEXO_CONFIG), encoding="utf-8")
    return timed([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=site)


def files_under(folder: Path, suffix: str) -> int:
    return sum(1 for path in folder.rglob(f"*{suffix}") if path.is_file())


def blog_command() -> list[str]:
    """The ``blog`` console script of the Python running this bench."""
    script = Path(sys.executable).parent / "blog"
    return (
        [str(script)]
        if script.is_file()
        else [sys.executable, "-c", "import blog.cli as c; c.main()"]
    )


def compare(posts: int, rounds: int, keep: bool = False) -> int:
    """Run the comparison; print the figures or why it was skipped. Returns an exit status."""
    npm = shutil.which("npm")
    root = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    try:
        reason = npm_unavailable(npm, root)
        if reason is not None or npm is None:
            print(reason or NPM_MISSING)
            return 0
        return run_rounds(npm, root, posts, rounds)
    finally:
        if keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def run_rounds(npm: str, root: Path, posts: int, rounds: int) -> int:
    site = root / "hexo"
    installed = install_hexo(npm, site)
    hexo = [str(site / "node_modules" / ".bin" / "hexo")]
    version = timed(["node", "--version"]).output.strip()
    print(
        f"npm install of Hexo {HEXO_PACKAGES['hexo']} (hexo-cli {HEXO_PACKAGES['hexo-cli']}, "
        f"theme landscape {HEXO_PACKAGES['hexo-theme-landscape']}) on Node {version}: "
        f"{installed.wall:.1f} s"
    )
    files = write_hexo_posts(site / "source" / "_posts", posts, root / "documents")
    published = sum("\npublished: false\n" not in f.read_text(encoding="utf-8") for f in files)
    print(
        f"{len(files)} demo-size posts ({published} published) in {site / 'source' / '_posts'}; "
        f"{rounds} rounds, interleaved; load average {os.getloadavg()[0]:.1f} at start, "
        f"{os.cpu_count()} CPUs"
    )
    blog = blog_command()
    times: dict[str, list[Timed]] = {name: [] for name in COMMANDS}
    produced: dict[str, str] = {}
    pages: dict[str, int] = {}
    for number in range(rounds):
        timed([*hexo, "clean"], cwd=site)
        generated = timed([*hexo, "generate"], cwd=site)
        times["hexo generate"].append(generated)
        public = site / "public"
        pages["hexo generate"] = files_under(public, ".html")
        if pages["hexo generate"] == 0:
            raise RuntimeError(f"hexo generate wrote no page:\n{generated.output[-2000:]}")
        produced["hexo generate"] = (
            f"{pages['hexo generate']} HTML pages, {files_under(public, '')} files"
        )
        times[PLAIN_MARKDOWN].append(in_process(lambda: plain_markdown(files)))
        instance = write_instance(root / f"instance-{number}")
        timed([*blog, "--instance", str(instance), "upgrade"])
        imported = timed([*blog, "--instance", str(instance), "import", str(files[0].parent)])
        times["blog import"].append(imported)
        summary = [line for line in imported.output.splitlines() if "imported " in line]
        produced["blog import"] = summary[-1].strip() if summary else "(no summary line)"
        out = root / f"public-{number}"
        built = timed([*blog, "--instance", str(instance), "build", str(out)])
        times["blog build"].append(built)
        pages["blog build"] = files_under(out, ".html")
        produced["blog build"] = (
            f"{pages['blog build']} HTML pages, {files_under(out, '')} files "
            f"({files_under(out, '.gz')} .gz, {files_under(out, '.br')} .br)"
        )
        print(
            f"round {number + 1}/{rounds}: "
            + ", ".join(f"{name} {runs[-1].wall:.1f} s" for name, runs in times.items())
            + f"; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        shutil.rmtree(out)
        shutil.rmtree(instance)
    print_table(times, produced, pages)
    return 0


def in_process(work: Callable[[], object]) -> Timed:
    """``work`` run in this process, timed by the wall clock and by this process's CPU."""
    cpu, started = time.process_time(), time.perf_counter()
    work()
    return Timed(time.perf_counter() - started, time.process_time() - cpu, os.getloadavg()[0], "")


def print_table(
    times: dict[str, list[Timed]], produced: dict[str, str], pages: dict[str, int]
) -> None:
    hexo_wall = statistics.median(t.wall for t in times["hexo generate"])
    hexo_cpu = statistics.median(t.cpu for t in times["hexo generate"])
    loads = [t.load for runs in times.values() for t in runs]
    print(f"medians; load average {min(loads):.1f}–{max(loads):.1f} after each command")
    print(
        f"| {'command':<22} | {'wall s':>7} | {'× Hexo':>6} | {'CPU s':>7} | {'× Hexo':>6} "
        f"| {'CPU ms a page':>13} |"
    )
    print(f"|{'-' * 24}|{'-' * 9}|{'-' * 8}|{'-' * 9}|{'-' * 8}|{'-' * 15}|")
    for name, runs in times.items():
        wall = statistics.median(t.wall for t in runs)
        cpu = statistics.median(t.cpu for t in runs)
        per_page = f"{cpu / pages[name] * 1000:.1f}" if name in pages else ""
        print(
            f"| {name:<22} | {wall:>7.1f} | {wall / hexo_wall:>6.2f} | {cpu:>7.1f} "
            f"| {cpu / hexo_cpu:>6.2f} | {per_page:>13} |"
        )
    for name, what in produced.items():
        print(f"{name}: {what}")
    print(
        f"{PLAIN_MARKDOWN}: the bodies only, converted with the core's Markdown extensions "
        "in this process (the reference of bench/import_bench.py)"
    )
    print(
        "Hexo: one language, no math rendering ($…$ stays text), no feeds or search index; "
        "blog build: every page in 5 variants, MathML, feeds, search indexes, .gz/.br siblings."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    arguments = parser.parse_args()
    raise SystemExit(compare(arguments.posts, arguments.rounds, arguments.keep))


if __name__ == "__main__":
    main()
