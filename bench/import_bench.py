"""``blog import`` on every core against plain Python-Markdown, side by side in one run.

Writes N demo-size posts (the demo posts, copied with their own slugs), or takes a folder
(``--folder ../shared/external/corpus``), then interleaves rounds of:

* plain Python-Markdown (the core's extensions) converting the same files' bodies,
* ``import_paths`` with ``jobs=1`` (each post rendered as it is saved),
* ``import_paths`` on every core (renders made ahead on the pre-forked workers),

each import into a fresh instance, then ``blog rerender --all`` of what it imported (every
post rendered again on as many processes, then every related list chosen again), and
prints the medians and their ratios to plain Markdown.

Beside each time it prints the CPU seconds of the writing process (this one) and of the
render workers, and their sum divided by the processes asked for: the time a run that
kept that many cores busy would take. Wall times move with the machine's load; these
hardly do, so a change to how the work is split shows in them even on a busy machine.
Run: ``python -m bench.import_bench [--posts 40] [--rounds 3] [--folder DIR]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import markdown

from bench.site import demo_sized_documents, new_app, write_instance
from blog.importer import import_paths, markdown_files
from blog.models import db
from blog.prerender import default_workers
from blog.related import refresh_all
from blog.render_budget import worker_pool
from blog.rerender import rerender_posts

CORE_EXTENSIONS = ["extra", "sane_lists", "admonition", "toc"]


def plain_markdown(files: list[Path]) -> tuple[float, float]:
    """Wall and CPU seconds plain Python-Markdown takes to convert ``files``."""
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        text = path.read_text(encoding="utf-8")
        markdown.Markdown(extensions=CORE_EXTENSIONS).convert(text)
    return time.perf_counter() - started, time.process_time() - cpu


def worker_seconds() -> dict[int, float]:
    """CPU seconds (user and system) used so far by each idle render worker."""
    seconds: dict[int, float] = {}
    for pid in worker_pool().idle_pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        except OSError:  # no /proc here, or the worker just left: not counted
            continue
        fields = stat.rsplit(")", 1)[1].split()
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


@dataclass
class Run:
    """One import or re-render: wall seconds, CPU seconds of the writer and of the workers."""

    wall: float
    writer: float
    workers: float


def measured(work: Callable[[], object]) -> Run:
    before = worker_seconds()
    started, cpu = time.perf_counter(), time.process_time()
    work()
    wall, writer = time.perf_counter() - started, time.process_time() - cpu
    after = worker_seconds()
    workers = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    return Run(wall, writer, workers)


def one_import(folder: Path, instance: Path, jobs: int) -> tuple[Run, Run, str]:
    """Import ``folder`` into a fresh instance, then re-render it all as ``blog rerender
    --all`` does; return both runs and the import's summary."""
    app = new_app(write_instance(instance), PAGE_CACHE_BYTES=0)
    summary = []
    with app.app_context():
        imported = measured(
            lambda: summary.append(import_paths([folder], author="bench", jobs=jobs).summary())
        )
        rerendered = measured(
            lambda: (rerender_posts(stale_only=False, workers=jobs), refresh_all())
        )
        db.session.remove()
        db.engine.dispose()
    worker_pool().close()
    return imported, rerendered, summary[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="import this folder instead")
    arguments = parser.parse_args()
    cores = default_workers()
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        folder = arguments.folder or demo_sized_documents(root / "documents", arguments.posts)
        files = list(markdown_files([folder]))
        times: dict[str, list[float]] = {"plain Python-Markdown": []}
        plain_cpu: list[float] = []
        runs: dict[str, list[Run]] = {}
        summaries: dict[str, str] = {}
        processes: dict[str, int] = {}
        variants = {"1 process": 1, f"{cores} processes": cores}
        for round_number in range(arguments.rounds):
            wall, cpu = plain_markdown(files)
            times["plain Python-Markdown"].append(wall)
            plain_cpu.append(cpu)
            for label, jobs in variants.items():
                instance = root / f"instance-{round_number}-{jobs}"
                imported, rerendered, summaries[f"import, {label}"] = one_import(
                    folder, instance, jobs
                )
                for name, run in (
                    (f"import, {label}", imported),
                    (f"rerender --all, {label}", rerendered),
                ):
                    times.setdefault(name, []).append(run.wall)
                    runs.setdefault(name, []).append(run)
                    processes[name] = jobs
    medians = {name: statistics.median(values) for name, values in times.items()}
    plain = medians["plain Python-Markdown"]
    plain_seconds = statistics.median(plain_cpu)
    print(f"{len(files)} files from {folder}; {arguments.rounds} rounds, interleaved")
    print(f"cores: {cores}; load average {before:.1f} before, {os.getloadavg()[0]:.1f} after")
    for name, value in medians.items():
        ratio = (
            f"{value / plain:6.1f}x plain Markdown"
            if name != "plain Python-Markdown"
            else f"(CPU {plain_seconds:.2f} s)"
        )
        print(f"  {name:28} median {value:7.2f} s  {ratio}")
        if name in summaries:
            print(f"    {summaries[name]}")
        if name in runs:
            writer = statistics.median(run.writer for run in runs[name])
            workers = statistics.median(run.workers for run in runs[name])
            busy = (writer + workers) / processes[name]
            print(
                f"    CPU: writer {writer:.2f} s, render workers {workers:.2f} s; all / "
                f"{processes[name]} {busy:.2f} s ({busy / plain_seconds:.1f}x plain Markdown's CPU)"
            )
    single, parallel = medians["import, 1 process"], medians[f"import, {cores} processes"]
    print(f"import 1 process / {cores} processes: {single / parallel:.2f}x")


if __name__ == "__main__":
    main()
