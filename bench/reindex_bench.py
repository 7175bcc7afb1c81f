"""``blog reindex`` of a large site: the issue's 10,000-post measurement.

Builds a site of N posts with full demo-size bodies (the demo posts imported, then copied
in bulk), times :func:`blog.search.rebuild_index` over all of them, and prints the time,
posts a second and the load average (the machine may be shared; compare runs only at
similar load). Run: ``python -m bench.reindex_bench [--posts 10000]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.site import build_site
from blog.models import db
from blog.render_budget import worker_pool
from blog.search import rebuild_index

GOAL_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        started = time.perf_counter()
        site = build_site(Path(temporary), arguments.posts)
        worker_pool().close()
        built = time.perf_counter() - started
        print(f"site of {arguments.posts:,} posts built in {built:.1f} s", flush=True)
        load_before = os.getloadavg()[0]
        with site.app.app_context():
            started = time.perf_counter()
            count = rebuild_index()
            seconds = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    verdict = "ok" if seconds <= GOAL_SECONDS else "MISSED"
    print(
        f"reindex: {count:,} posts in {seconds:.1f} s ({count / seconds:,.0f} posts/s; "
        f"goal <= {GOAL_SECONDS:.0f} s: {verdict})"
    )


if __name__ == "__main__":
    main()
