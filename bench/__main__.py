"""Performance suite: ``python -m bench [--quick] [--posts N] [--listing-posts N]``.

``python -m bench --peers [--posts N] [--rounds N]`` runs only the comparison with Hexo
(``bench/peers.py``): ``hexo generate`` beside ``blog import`` and ``blog build`` of the
same N demo-size posts (default 1,000).

Builds temporary sites, starts real waitress servers in subprocesses (the blog with its
page cache, the blog without it, and a Flask hello-world, all with the same thread count),
drives them with ``wrk -t2 -c16 -dNs --latency`` in interleaved rounds and prints req/s,
p50, p99 and the ratio to hello-world for every target, then the in-process figures
(save time, import time, keyset listings) and the server's memory under load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from bench.inprocess import measure_import, measure_listings, measure_save
from bench.load import LoadResult, Server, blog_server, fetch_etag, hello_server, run_wrk
from bench.peers import compare as compare_with_peers
from bench.site import build_site


@dataclass
class Target:
    label: str
    server: str
    path: str
    goal: float | None
    headers: dict[str, str] = field(default_factory=dict)
    results: list[LoadResult] = field(default_factory=list)


def quote(path: str) -> str:
    return urllib.parse.quote(path, safe="/")


def targets_for(slug: str, category: str, tag: str, listing_far: int) -> list[Target]:
    post = quote(f"/posts/{slug}/")
    return [
        Target("1 cached home /", "cached", "/", 1.0),
        Target("1 cached post", "cached", post, 1.0),
        Target("1 cached post /zh-tw/", "cached", "/zh-tw" + post, 1.0),
        Target(
            "1 cached category /zh-hans/", "cached", quote(f"/zh-hans/categories/{category}/"), 1.0
        ),
        Target("1 cached tag /zh-hk/", "cached", quote(f"/zh-hk/tags/{tag}/"), 1.0),
        Target("1 cached archive (all posts)", "cached", "/archive/", 1.0),
        Target("1 cached feed /feed.xml", "cached", "/feed.xml", 1.0),
        Target("2 304 If-None-Match post", "cached", post, 1.0),
        Target("3 miss: post from DB", "uncached", post, 0.25),
        Target("3 miss: post /zh-tw/ (converts)", "uncached", "/zh-tw" + post, None),
        Target("5 uncached home page 1 (listing site)", "listing", "/", None),
        Target(f"5 uncached home page {listing_far}", "listing", f"/page/{listing_far}/", None),
    ]


def median_result(results: list[LoadResult]) -> LoadResult:
    return LoadResult(
        statistics.median(r.requests_per_second for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.non_2xx for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sites, 1 s runs: a smoke run")
    parser.add_argument(
        "--posts", type=int, help="posts in the served site (default 10,000; --peers: 1,000)"
    )
    parser.add_argument(
        "--listing-posts", type=int, help="posts in the listing site (default 100,000)"
    )
    parser.add_argument(
        "--import-posts", type=int, help="demo-size posts to import (default 1,000)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--seconds", type=float, help="seconds per wrk run (default 5)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads for every server")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="only compare with Hexo (npm install into a temporary folder): hexo generate "
        "beside blog import and blog build of --posts demo-size posts (default 1,000)",
    )
    args = parser.parse_args()
    if args.peers:
        raise SystemExit(compare_with_peers(args.posts or 1_000, args.rounds))
    posts = args.posts or (1_000 if args.quick else 10_000)
    listing_posts = args.listing_posts or (10_000 if args.quick else 100_000)
    import_posts = args.import_posts or (100 if args.quick else 1_000)
    seconds = args.seconds or (1.0 if args.quick else 5.0)
    save_rounds = 5 if args.quick else 15

    root = Path(tempfile.mkdtemp(prefix="blog-bench-"))
    print(
        f"workspace {root}; load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    save = measure_save(root / "save", save_rounds)
    print(f"save_post: median {save.median_ms:.1f} ms over {save.samples} saves")
    imported = measure_import(root / "import", import_posts)
    print(
        f"import: {imported.posts} posts in {imported.seconds:.1f} s ({imported.failures} failed)"
    )
    listings, listing_instance = measure_listings(root / "listing", listing_posts)
    print(f"listing site: {listing_posts} posts built")
    site = build_site(root / "site", posts)
    print(f"served site: {len(site.slugs)} posts built")

    servers: dict[str, Server] = {
        "hello": hello_server(args.threads),
        "cached": blog_server("cached", site.instance, args.threads),
        "uncached": blog_server("uncached", site.instance, args.threads, PAGE_CACHE_BYTES="0"),
        "listing": blog_server("listing", listing_instance, args.threads, PAGE_CACHE_BYTES="0"),
    }
    try:
        for server in servers.values():
            server.wait_ready()
        targets = targets_for(site.slugs[0], site.categories[0], site.tags[0], listings.far_page)
        for target in targets:
            url = servers[target.server].url + target.path
            etag = fetch_etag(url)  # one request first: fills the cache, warms converters
            if target.label.startswith("2 "):
                target.headers["If-None-Match"] = etag
            run_wrk(url, 1, target.headers)
        hello: list[LoadResult] = []
        for number in range(args.rounds):
            print(f"round {number + 1}/{args.rounds}")
            hello.append(run_wrk(servers["hello"].url + "/", seconds))
            for target in targets:
                url = servers[target.server].url + target.path
                target.results.append(run_wrk(url, seconds, target.headers))
            hello.append(run_wrk(servers["hello"].url + "/", seconds))
        memory = measure_memory(servers["cached"], site.slugs, root, seconds * 4)
    finally:
        for server in servers.values():
            server.stop()

    print(f"load average at end {os.getloadavg()[0]:.1f}")
    baseline = median_result(hello)
    print()
    print(
        f"wrk -t2 -c16 -d{seconds:g}s --latency; waitress --threads {args.threads}; "
        f"medians of {args.rounds} interleaved rounds; served site {len(site.slugs)} posts"
    )
    print(
        f"| {'target':<40} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} "
        f"| {'× hello':>7} | goal  | ok |"
    )
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 9}|-------|----|")
    print(row("hello-world (baseline)", baseline, 1.0, None))
    for target in targets:
        result = median_result(target.results)
        ratios = [
            t.requests_per_second
            / statistics.median(h.requests_per_second for h in hello[2 * i : 2 * i + 2])
            for i, t in enumerate(target.results)
        ]
        print(row(target.label, result, statistics.median(ratios), target.goal))
    first = median_result(targets[-2].results).requests_per_second
    far = median_result(targets[-1].results).requests_per_second
    print()
    print(
        f"5 listing ({listings.posts} posts, keyset): page {listings.far_page} / page 1 req/s "
        f"over HTTP = {far / first:.2f} "
        f"(goal within 20%: {'ok' if abs(far / first - 1) <= 0.2 else 'MISSED'})"
    )
    print(
        f"  in-process listing_page: page 1 {listings.first_ms:.2f} ms, page {listings.far_page} "
        f"{listings.far_ms:.2f} ms (OFFSET query: {listings.offset_far_ms:.2f} ms); "
        f"page-boundary table built once per content version in {listings.build_ms:.0f} ms"
    )
    print(
        f"4 save_post (8,000 chars, 13 formulas, 3 code blocks): median {save.median_ms:.1f} ms "
        f"over {save.samples} (goal ≤ 40 ms: {'ok' if save.median_ms <= 40 else 'MISSED'})"
    )
    per_thousand = imported.seconds / max(1, imported.posts) * 1000
    print(
        f"6 import {imported.posts} demo-size posts: {imported.seconds:.1f} s "
        f"({per_thousand:.1f} s per 1,000; goal ≤ 60 s: {'ok' if per_thousand <= 60 else 'MISSED'})"
    )
    rss, peak = memory
    print(
        f"6 RSS serving {len(site.slugs)} posts under rotating load: {rss:.0f} MB now, "
        f"{peak:.0f} MB peak "
        f"(goal < 400 MB: {'ok' if peak < 400 else 'MISSED'})"
    )


def row(label: str, result: LoadResult, ratio: float, goal: float | None) -> str:
    verdict = "" if goal is None else ("ok" if ratio >= goal else "NO")
    goal_text = "" if goal is None else f"≥{goal:g}"
    errors = f" ({result.non_2xx} non-2xx)" if result.non_2xx else ""
    return (
        f"| {label + errors:<40} | {result.requests_per_second:>8.0f} | {result.p50_ms:>7.2f} | "
        f"{result.p99_ms:>7.2f} | {ratio:>7.2f} | {goal_text:<5} | {verdict:<2} |"
    )


def measure_memory(
    server: Server, slugs: list[str], root: Path, seconds: float
) -> tuple[float, float]:
    """Load many distinct pages (every post in every variant) and read the server's RSS."""
    prefixes = ["", "/zh-hans", "/zh-hant", "/zh-tw", "/zh-hk"]
    paths = [quote(f"{prefix}/posts/{slug}/") for slug in slugs for prefix in prefixes]
    paths += [f"/page/{n}/" for n in range(2, len(slugs) // 10)]
    paths_file = root / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n", encoding="utf-8")
    run_wrk(server.url + "/", seconds, paths_file=paths_file)
    return server.rss_mb()


if __name__ == "__main__":
    main()
