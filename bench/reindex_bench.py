"""``blog reindex`` of a large site: the issue's 10,000-post measurement.

Builds a site of N posts with full demo-size bodies (the demo posts imported, then copied
in bulk) and times :func:`blog.search.rebuild_index` over all of them. The ratio that the
stored body text buys is measured on a smaller site in the same run, in interleaved rounds:
a rebuild where every row lacks ``posts.body_text`` (as after the upgrade that added it:
every body's HTML is parsed, as every reindex did before) against one that reads the stored
text. Prints the times, posts a second and the load average (the machine may be shared;
compare runs only at similar load). Run:
``python -m bench.reindex_bench [--posts 10000] [--ratio-posts 500] [--rounds 2]``.
The large site is timed as ``blog reindex`` runs: the index rebuilt, then every post's
related posts chosen again; the goal holds for the two together.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import update

from bench.site import build_site
from blog.models import Post, db
from blog.related import refresh_all
from blog.render_budget import worker_pool
from blog.search import rebuild_index

GOAL_SECONDS = 60.0


def timed_rebuild(app: Flask, forget_text: bool) -> tuple[int, float]:
    """Rebuild the index; with ``forget_text`` every row first loses its stored text."""
    with app.app_context():
        if forget_text:
            db.session.execute(update(Post).values(body_text=None))
            db.session.commit()
        started = time.perf_counter()
        count = rebuild_index()
        seconds = time.perf_counter() - started
        db.session.remove()
    return count, seconds


def close(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--ratio-posts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        small = build_site(Path(temporary) / "small", arguments.ratio_posts)
        worker_pool().close()
        parsed: list[float] = []
        stored: list[float] = []
        print(f"load average {load()} (1/5/15 min) before the ratio rounds", flush=True)
        for _round in range(arguments.rounds):
            count, seconds = timed_rebuild(small.app, forget_text=True)
            parsed.append(seconds)
            count, seconds = timed_rebuild(small.app, forget_text=False)
            stored.append(seconds)
        close(small.app)
        parse_median, stored_median = statistics.median(parsed), statistics.median(stored)
        print(
            f"{count:,} posts, median of {arguments.rounds} interleaved rounds: "
            f"HTML parsed {parse_median:.2f} s ({count / parse_median:,.0f} posts/s), "
            f"stored text {stored_median:.2f} s ({count / stored_median:,.0f} posts/s): "
            f"{parse_median / stored_median:.1f}x faster"
        )

        started = time.perf_counter()
        site = build_site(Path(temporary) / "large", arguments.posts)
        print(f"site of {arguments.posts:,} posts built in {time.perf_counter() - started:.1f} s")
        print(f"load average {load()} before the large rebuild", flush=True)
        count, seconds = timed_rebuild(site.app, forget_text=False)
        print(
            f"index rebuilt: {count:,} posts in {seconds:.1f} s ({count / seconds:,.0f} posts/s); "
            f"load average {load()} after",
            flush=True,
        )
        with site.app.app_context():
            started = time.perf_counter()
            chosen = refresh_all()
            related = time.perf_counter() - started
            db.session.remove()
        print(
            f"related posts chosen again for {chosen:,} posts in {related:.1f} s "
            f"({chosen / related:,.0f} posts/s); load average {load()} after"
        )
        total = seconds + related
        verdict = "ok" if total <= GOAL_SECONDS else "MISSED"
        print(f"blog reindex: {total:.1f} s (goal <= {GOAL_SECONDS:.0f} s: {verdict})")
        close(site.app)


if __name__ == "__main__":
    main()
