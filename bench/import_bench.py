"""``blog import`` on every core against plain Python-Markdown, side by side in one run.

Writes N demo-size posts (the demo posts, copied with their own slugs), or takes a folder
(``--folder ../shared/external/corpus``), then interleaves rounds of:

* plain Python-Markdown (the core's extensions) converting the same files' bodies,
* ``import_paths`` with ``jobs=1`` (each post rendered as it is saved),
* ``import_paths`` on every core (renders made ahead on the pre-forked workers),

each import into a fresh instance, then ``blog rerender --all`` of what it imported (every
post rendered again on as many processes, then every related list chosen again), and
prints the medians and their ratios to plain Markdown.
Run: ``python -m bench.import_bench [--posts 40] [--rounds 3] [--folder DIR]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
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


def plain_markdown(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        text = path.read_text(encoding="utf-8")
        markdown.Markdown(extensions=CORE_EXTENSIONS).convert(text)
    return time.perf_counter() - started


def one_import(folder: Path, instance: Path, jobs: int) -> tuple[float, float, str]:
    """Import ``folder`` into a fresh instance, then re-render it all as ``blog rerender
    --all`` does; return both times and the import's summary."""
    app = new_app(write_instance(instance), PAGE_CACHE_BYTES=0)
    with app.app_context():
        started = time.perf_counter()
        report = import_paths([folder], author="bench", jobs=jobs)
        imported = time.perf_counter() - started
        started = time.perf_counter()
        rerender_posts(stale_only=False, workers=jobs)
        refresh_all()
        rerendered = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    worker_pool().close()
    return imported, rerendered, report.summary()


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
        summaries: dict[str, str] = {}
        variants = {"1 process": 1, f"{cores} processes": cores}
        for round_number in range(arguments.rounds):
            times["plain Python-Markdown"].append(plain_markdown(files))
            for label, jobs in variants.items():
                instance = root / f"instance-{round_number}-{jobs}"
                imported, rerendered, summaries[f"import, {label}"] = one_import(
                    folder, instance, jobs
                )
                times.setdefault(f"import, {label}", []).append(imported)
                times.setdefault(f"rerender --all, {label}", []).append(rerendered)
    medians = {name: statistics.median(values) for name, values in times.items()}
    plain = medians["plain Python-Markdown"]
    print(f"{len(files)} files from {folder}; {arguments.rounds} rounds, interleaved")
    print(f"cores: {cores}; load average {before:.1f} before, {os.getloadavg()[0]:.1f} after")
    for name, value in medians.items():
        ratio = f"{value / plain:6.1f}x plain Markdown" if name != "plain Python-Markdown" else ""
        print(f"  {name:28} median {value:7.2f} s  {ratio}")
        if name in summaries:
            print(f"    {summaries[name]}")
    single, parallel = medians["import, 1 process"], medians[f"import, {cores} processes"]
    print(f"import 1 process / {cores} processes: {single / parallel:.2f}x")


if __name__ == "__main__":
    main()
