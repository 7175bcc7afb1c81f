"""Script-variant benchmark: ``python -m bench.variant_bench [--seconds N] [--rounds N]``.

In process: the cold conversion time of a 60 KB post page into each variant (no page
cache: the response filter's full work), split into scanning and OpenCC, and one joined
OpenCC call against one call per text segment; also how often segments repeat (whether a
per-segment memo could pay).

Under load: real waitress servers in subprocesses driven by ``wrk``: the cached ``/zh-tw/``
page, the same post unprefixed (its source script, no conversion) and a Flask hello-world,
in interleaved rounds; ratios are taken within each round.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import opencc

from bench.inprocess import save_time_post
from bench.load import blog_server, hello_server, run_wrk
from bench.site import new_app, write_instance
from blog.models import db
from blog.posts import PostFields, save_post
from blog_plugins.opencc import STATE_KEY, State
from blog_plugins.opencc.converters import convert_many, convert_text
from blog_plugins.opencc.htmlconvert import Target, _Converter, convert_document

PAGE_BYTES = 60_000
SLUG = "variant-bench"
VARIANTS = ("zh-hans", "zh-hant", "zh-tw", "zh-hk")


def median_ms(work: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def build_instance(folder: Path) -> tuple[Path, str]:
    """An instance whose post ``SLUG`` has a page of about 60 KB; return it and the page HTML."""
    instance = write_instance(folder / "instance")
    app = new_app(instance)

    def page_for(chars: int, slug: str) -> str:
        with app.app_context():
            fields = PostFields(
                title="变分推断与量子比特参数", source=save_time_post(chars), slug=slug
            )
            save_post(fields, author="bench")
            db.session.commit()
        return app.test_client().get(f"/posts/{slug}/").get_data(as_text=True)

    chars, size = 10_000, 0
    for attempt in range(4):
        html = page_for(chars, f"{SLUG}-{attempt}")
        size = len(html.encode("utf-8"))
        if size >= PAGE_BYTES:
            break
        chars = int(chars * PAGE_BYTES / size * 1.05)
    html = page_for(chars, SLUG)
    return instance, html


def measure_conversion(instance: Path, html: str) -> None:
    app = new_app(instance)
    print(f"page: {len(html.encode('utf-8')):,} bytes, {len(html):,} characters")
    for name in ("s2t", "s2twp", "s2hk", "t2s", "t2tw", "t2hk"):
        build_ms = median_ms(partial(opencc.OpenCC, name), 5)
        print(f"  building an OpenCC {name} converter: {build_ms:.1f} ms (median of 5)")
    with app.test_request_context(f"/zh-tw/posts/{SLUG}/"):
        state = app.extensions[STATE_KEY]
        assert isinstance(state, State)
        for code in VARIANTS:
            target = state.target(code)
            ms = median_ms(partial(convert_document, html, target), 15)
            print(f"  cold conversion into {code}: {ms:.1f} ms (median of 15)")
        target = state.target("zh-tw")
        scan_only = Target(
            target.code, target.html_lang, {}, target.default_script, target.glossary
        )
        scan_ms = median_ms(lambda: convert_document(html, scan_only), 15)
        print(f"  of which scanning and rules (no OpenCC): {scan_ms:.1f} ms")
        scanner = _Converter(target, xml=False)
        scanner.feed(html)
        texts = [segment.text for segment in scanner.doc.segments]
        joined = median_ms(lambda: convert_many("s2twp", texts), 15)
        separate = median_ms(lambda: [convert_text("s2twp", t) for t in texts], 15)
        print(
            f"  {len(texts)} text segments ({len(set(texts))} distinct, "
            f"{sum(map(len, texts)):,} characters): one joined OpenCC call {joined:.2f} ms, "
            f"one call per segment {separate:.2f} ms ({separate / joined:.1f}x)"
        )


def measure_load(instance: Path, seconds: float, rounds: int) -> None:
    servers = {"blog": blog_server("blog", instance, threads=8), "hello": hello_server(threads=8)}
    try:
        for server in servers.values():
            server.wait_ready()
        blog = servers["blog"].url
        targets = {
            "cached /zh-tw/ post": f"{blog}/zh-tw/posts/{SLUG}/",
            "cached source-script post": f"{blog}/posts/{SLUG}/",
            "hello-world": servers["hello"].url + "/",
        }
        rates: dict[str, list[float]] = {name: [] for name in targets}
        ratios: dict[str, list[float]] = {name: [] for name in targets}
        for _round in range(rounds):
            measured = {name: run_wrk(url, seconds) for name, url in targets.items()}
            for name, result in measured.items():
                rates[name].append(result.requests_per_second)
                ratios[name].append(
                    result.requests_per_second / measured["hello-world"].requests_per_second
                )
        print(f"wrk -t2 -c16 -d{seconds:.0f}s, {rounds} interleaved rounds (median):")
        for name in targets:
            print(
                f"  {name:28s} {statistics.median(rates[name]):9.0f} req/s   "
                f"{statistics.median(ratios[name]):.2f}x hello-world"
            )
    finally:
        for server in servers.values():
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-load", action="store_true", help="skip the wrk part")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="variant-bench-") as folder:
        instance, html = build_instance(Path(folder))
        measure_conversion(instance, html)
        if not options.no_load:
            measure_load(instance, options.seconds, options.rounds)


if __name__ == "__main__":
    main()
