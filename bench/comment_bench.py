"""Comments under load: ``python -m bench.comment_bench [--posts N] [--seconds S] [--rate R]``.

In one process, on one site, interleaved rounds of three conditions:

- ``quiet``: readers only;
- ``held``: readers while comments arrive and are held for moderation (pages unchanged);
- ``approved``: readers while comments arrive and are published at once (pages change);
- ``approved-full``: the same, but each comment empties the whole page cache, as a
  content-version bump would (what the engine did before stale-page marking).

Reader threads request post pages (two variants) and listings at random through the whole
WSGI stack, page cache included; the share of requests answered from the cache is counted
by wrapping what the cache calls on a miss. Then comment POST throughput on its own,
held and published. Figures are ratios within this run; absolute numbers drift with the
machine (two shared cores).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from bench.site import build_site, new_app
from blog.comments import service
from blog.posts import bump_content_version

_TOKEN = re.compile(r'name="token" value="([^"]+)"')
CONDITIONS = ("quiet", "held", "approved", "approved-full")
COMMENT_SETTINGS = {
    "COMMENTS_MIN_FILL_SECONDS": 0,
    "COMMENTS_RATE_PER_CLIENT": 1_000_000,
    "COMMENTS_RATE_PER_POST": 1_000_000,
}


@dataclass
class Round:
    condition: str
    requests: int
    renders: int
    seconds: float
    comments: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def hit_ratio(self) -> float:
        return 1 - self.renders / self.requests if self.requests else 0.0


@dataclass
class Counter:
    renders: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def count_renders(app: Flask) -> Counter:
    """Count the requests the page cache passes to Flask (its misses and uncached paths)."""
    cache = app.extensions["blog.page_cache"]
    counter = Counter()
    downstream = cache.downstream

    def counted(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with counter.lock:
            counter.renders += 1
        return downstream(environ, start_response)

    cache.downstream = counted
    return counter


def post_one(client: Any, slug: str, number: int) -> int:
    page = client.get(f"/posts/{slug}/").get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match, "no comment form"
    response = client.post(
        f"/posts/{slug}/comments",
        data={
            "name": f"读者{number}",
            "body": f"第 {number} 条评论：$x^{number % 9}$",
            "token": match.group(1),
        },
        headers={"Origin": "http://127.0.0.1"},
        environ_base={
            "REMOTE_ADDR": f"10.{number // 60000 % 250}.{number // 250 % 240}.{number % 250}"
        },
    )
    return response.status_code


def read_round(
    app: Flask,
    counter: Counter,
    paths: list[str],
    slugs: list[str],
    condition: str,
    seconds: float,
    readers: int,
    rate: float,
    numbers: Iterable[int],
) -> Round:
    app.config["COMMENTS_MODERATION"] = "all" if condition == "held" else "none"
    warm = app.test_client()
    for path in paths:
        warm.get(path)
    service.refresh_pages = empty_cache if condition == "approved-full" else REFRESH_PAGES
    stop = threading.Event()
    counts = [0] * readers
    posted = [0]

    def reader(index: int) -> None:
        client = app.test_client()
        chooser = random.Random(index)
        while not stop.is_set():
            response = client.get(chooser.choice(paths))
            assert response.status_code == 200, response.status_code
            counts[index] += 1

    def commenter() -> None:
        client = app.test_client()
        chooser = random.Random(99)
        numbering = iter(numbers)
        while not stop.wait(1 / rate):
            status = post_one(client, chooser.choice(slugs), next(numbering))
            assert status == 303, status
            posted[0] += 1

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
    if condition != "quiet":
        threads.append(threading.Thread(target=commenter))
    before = counter.renders
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return Round(condition, sum(counts), counter.renders - before, elapsed, posted[0])


REFRESH_PAGES = service.refresh_pages


def empty_cache(_posts: Iterable[Any]) -> None:
    bump_content_version()


def post_throughput(app: Flask, slugs: list[str], moderation: str, count: int, first: int) -> float:
    app.config["COMMENTS_MODERATION"] = moderation
    service.refresh_pages = REFRESH_PAGES
    client = app.test_client()
    started = time.perf_counter()
    for number in range(first, first + count):
        assert post_one(client, slugs[number % len(slugs)], number) == 303
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=2.0, help="comments per second")
    parser.add_argument("--posts-per-round", type=int, default=40, help="POST throughput sample")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        site = build_site(Path(folder) / "instance", args.posts)
        app = new_app(site.instance, **COMMENT_SETTINGS)
        counter = count_renders(app)
        chooser = random.Random(7)
        read_slugs = chooser.sample(site.slugs, min(100, len(site.slugs)))
        paths = [f"/posts/{s}/" for s in read_slugs] + [f"/zh-tw/posts/{s}/" for s in read_slugs]
        paths += ["/", "/page/2/", "/zh-tw/", "/archive/"]
        client = app.test_client()
        # Warm the cache; keep only URLs that exist (a small site has no /page/2/).
        paths = [path for path in paths if client.get(path).status_code == 200]
        # Posts whose page carries a comment form (a demo post may turn comments off).
        read_slugs = [
            slug
            for slug in read_slugs
            if _TOKEN.search(client.get(f"/posts/{slug}/").get_data(as_text=True))
        ]
        numbers = iter(range(1, 10_000_000))
        rounds: list[Round] = []
        for _ in range(args.rounds):
            for condition in CONDITIONS:
                block = [next(numbers) for _ in range(int(args.seconds * args.rate) + 50)]
                rounds.append(
                    read_round(
                        app,
                        counter,
                        paths,
                        read_slugs,
                        condition,
                        args.seconds,
                        args.readers,
                        args.rate,
                        block,
                    )
                )
        print(f"readers: {args.readers} threads, {len(paths)} URLs; comments: {args.rate}/s")
        print(f"{'condition':<14} {'req/s':>8} {'vs quiet':>9} {'cache hits':>11} {'comments':>9}")
        quiet = statistics.median(r.rate for r in rounds if r.condition == "quiet")
        for condition in CONDITIONS:
            chosen = [r for r in rounds if r.condition == condition]
            rate = statistics.median(r.rate for r in chosen)
            hits = statistics.median(r.hit_ratio for r in chosen)
            comments = sum(r.comments for r in chosen)
            print(f"{condition:<14} {rate:8.0f} {rate / quiet:9.2f} {hits:11.1%} {comments:9d}")
        held, published = [], []
        for _ in range(args.rounds):
            held.append(
                post_throughput(app, read_slugs, "all", args.posts_per_round, next(numbers) * 1000)
            )
            published.append(
                post_throughput(app, read_slugs, "none", args.posts_per_round, next(numbers) * 1000)
            )
        print("comment POSTs (form page fetched from the cache, then POST; one client thread):")
        print(f"  held for moderation: {statistics.median(held):6.1f} comments/s")
        print(f"  published at once:   {statistics.median(published):6.1f} comments/s")


if __name__ == "__main__":
    main()
