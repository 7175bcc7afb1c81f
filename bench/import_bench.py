"""``blog import`` on every core against plain Python-Markdown, side by side in one run.

Writes N demo-size posts (the demo posts, copied with their own slugs), or takes a folder
(``--folder ../shared/external/corpus``), then interleaves rounds of:

* plain Python-Markdown (the core's extensions) converting the same files' bodies,
* ``import_paths`` with ``jobs=1`` (each post rendered as it is saved),
* ``import_paths`` on every core (renders made ahead on the pre-forked workers),

each import into a fresh instance, and prints the medians and their ratios.
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
from blog.render_budget import worker_pool

CORE_EXTENSIONS = ["extra", "sane_lists", "admonition", "toc"]


def plain_markdown(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        text = path.read_text(encoding="utf-8")
        markdown.Markdown(extensions=CORE_EXTENSIONS).convert(text)
    return time.perf_counter() - started


def one_import(folder: Path, instance: Path, jobs: int) -> tuple[float, str]:
    app = new_app(write_instance(instance), PAGE_CACHE_BYTES=0)
    with app.app_context():
        started = time.perf_counter()
        report = import_paths([folder], author="bench", jobs=jobs)
        elapsed = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    worker_pool().close()
    return elapsed, report.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="import this folder instead")
    arguments = parser.parse_args()
    cores = default_workers()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        folder = arguments.folder or demo_sized_documents(root / "documents", arguments.posts)
        files = list(markdown_files([folder]))
        times: dict[str, list[float]] = {
            "plain Python-Markdown": [],
            "import, 1 process": [],
            f"import, {cores} processes": [],
        }
        summaries: dict[str, str] = {}
        for round_number in range(arguments.rounds):
            times["plain Python-Markdown"].append(plain_markdown(files))
            for name, jobs in (("import, 1 process", 1), (f"import, {cores} processes", cores)):
                instance = root / f"instance-{round_number}-{jobs}"
                elapsed, summaries[name] = one_import(folder, instance, jobs)
                times[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in times.items()}
    plain = medians["plain Python-Markdown"]
    print(f"{len(files)} files from {folder}; {arguments.rounds} rounds, interleaved")
    print(f"cores: {cores}; load average {os.getloadavg()[0]:.1f}")
    for name, value in medians.items():
        ratio = f"{value / plain:6.1f}x plain Markdown" if name != "plain Python-Markdown" else ""
        print(f"  {name:24} median {value:7.2f} s  {ratio}")
        if name in summaries:
            print(f"    {summaries[name]}")
    single, parallel = medians["import, 1 process"], medians[f"import, {cores} processes"]
    print(f"import 1 process / {cores} processes: {single / parallel:.2f}x")


if __name__ == "__main__":
    main()
