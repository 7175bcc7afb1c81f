"""Render limits: pathological Markdown fails its one post while readers keep being served.

Python-Markdown 3.11 is quadratic on unclosed ``[`` and about cubic on list nesting, so
``render_post`` refuses such input up front (nesting depth, bracket scan cost) and stops
any render that outlives ``RENDER_TIMEOUT_SECONDS`` with a :class:`RenderError`.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from conftest import shared_path
from flask import Flask
from werkzeug.security import generate_password_hash

from bench.load import Server, blog_server
from bench.site import new_app, write_instance
from bench.soak import AdminBrowser
from blog.importer import import_paths
from blog.models import Post, User, db
from blog.render import (
    MAX_BRACKET_SCAN,
    MAX_NESTING,
    RenderError,
    bracket_scan_cost,
    nesting_depth,
    render_post,
)

PASSWORD = "correct horse battery"
#: Under both up-front limits (scan cost 3.1 M of 4 M) yet slow to render: plain
#: Python-Markdown alone takes about 0.6 s on a fast core, twice the 0.3 s budget of the
#: server below (1,400 brackets took 0.22 s there, and a preview passed the budget).
SLOW_BRACKETS = "[" * 2500
DEEP_LIST = "".join("\t" * depth + "- item\n" for depth in range(1500))
DEEP_QUOTE = "".join("> " * depth + "引用\n" for depth in range(1, 400))
BRACKET_FLOOD = "[" * 50_000


def unsaved(source: str) -> Post:
    return Post(title="测试", source=source, lang="zh-Hans", kind="post", meta={})


def render(app: Flask, source: str) -> str:
    with app.app_context():
        return render_post(unsaved(source)).body_html


def test_deep_list_is_refused_naming_the_nesting_limit(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(RenderError, match=rf"nested 1500 levels deep; the limit is {MAX_NESTING}"):
        render(make_app(), DEEP_LIST)


def test_deep_blockquote_is_refused_naming_the_nesting_limit(
    make_app: Callable[..., Flask],
) -> None:
    with pytest.raises(RenderError, match="levels deep"):
        render(make_app(), DEEP_QUOTE)


def test_bracket_flood_is_refused_before_rendering(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(RenderError, match=r"unclosed '\['"):
        render(make_app(), BRACKET_FLOOD)


def test_render_past_the_time_budget_fails_with_the_setting_named(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(RENDER_TIMEOUT_SECONDS=0.05)
    with pytest.raises(RenderError, match=r"longer than 0.05 s \(RENDER_TIMEOUT_SECONDS\)"):
        render(app, SLOW_BRACKETS)


def test_thread_renders_normally_after_an_interrupted_render(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(RENDER_TIMEOUT_SECONDS=0.05)
    with pytest.raises(RenderError):
        render(app, SLOW_BRACKETS)
    app.config["RENDER_TIMEOUT_SECONDS"] = 30.0
    assert "<strong>粗体</strong>" in render(app, "**粗体** 与 [链接](https://example.org)")


def test_balanced_brackets_and_escapes_cost_little() -> None:
    assert bracket_scan_cost("[a](b) " * 10_000) < 100_000
    assert bracket_scan_cost("\\[" * 10_000) == 0


def test_unclosed_brackets_in_separate_paragraphs_do_not_add_up() -> None:
    assert bracket_scan_cost("[\n\n" * 10_000) <= 10_000


def test_fenced_code_indentation_is_not_nesting() -> None:
    code = "```\n" + "".join(" " * 4 * n + "x\n" for n in range(200)) + "```\n"
    assert nesting_depth(code) == 0


def test_real_posts_stay_far_below_the_limits() -> None:
    corpus = shared_path("external", "corpus")
    sources = [p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.md"))]
    assert len(sources) == 45
    assert max(nesting_depth(s) for s in sources) <= MAX_NESTING // 5
    assert max(bracket_scan_cost(s) for s in sources) <= MAX_BRACKET_SCAN // 100


def test_import_fails_only_the_pathological_post(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    run_cli("upgrade")
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "good.md").write_text("---\ntitle: 好文章\nslug: good\n---\n正文\n", "utf-8")
    (folder / "flood.md").write_text(f"---\ntitle: 括号\nslug: flood\n---\n{BRACKET_FLOOD}\n")
    (folder / "deep.md").write_text(f"---\ntitle: 嵌套\nslug: deep\n---\n{DEEP_LIST}")
    result = run_cli("import", str(folder))
    assert result.exit_code == 1
    assert "flood.md: too many unclosed '['" in result.output
    assert "deep.md: lists or blockquotes are nested 1500 levels deep" in result.output
    assert "imported 1, updated 0, unchanged 0, failed 2" in result.output


# Through a real waitress process: the admin preview of pathological posts


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("render-limits")
    instance = write_instance(folder / "instance", SITE_URL="http://127.0.0.1")
    app = new_app(instance)
    with app.app_context():
        db.session.add(User(name="editor", password_hash=generate_password_hash(PASSWORD)))
        db.session.commit()
        import_paths([_reader_post(folder)], author="test")
        db.session.remove()
        db.engine.dispose()
    running = blog_server("render-limits", instance, 4, RENDER_TIMEOUT_SECONDS="0.3")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def _reader_post(folder: Path) -> Path:
    source = folder / "posts"
    source.mkdir()
    (source / "reader.md").write_text(
        "---\ntitle: 读者页面\nslug: reader\n---\n注意力 $x^2$ 正文。\n", encoding="utf-8"
    )
    return source


class Reader(threading.Thread):
    """Fetch a post page in a loop, recording (start, end, status) of every request."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.requests: list[tuple[float, float, int]] = []

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=60) as page:
                    page.read()
                    status = page.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = 0
            self.requests.append((started, time.monotonic(), status))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "message"),
    [
        (SLOW_BRACKETS, "longer than 0.3 s (RENDER_TIMEOUT_SECONDS)"),
        (BRACKET_FLOOD, "too many unclosed '['"),
        (DEEP_LIST, "nested 1500 levels deep"),
    ],
    ids=["time-budget", "bracket-flood", "deep-list"],
)
def test_pathological_preview_fails_while_readers_are_served(
    server: Server, source: str, message: str
) -> None:
    browser = AdminBrowser(server.url)
    browser.login("editor", PASSWORD)
    reader = Reader(server.url + "/posts/reader/")
    reader.start()
    while not reader.requests:
        time.sleep(0.01)
    sent = time.monotonic()
    status, body = browser.post_form("/admin/preview", {"title": "预览", "source": source})
    answered = time.monotonic()
    first_after = len(reader.requests)
    while len(reader.requests) == first_after:
        time.sleep(0.01)
    reader.stop.set()
    reader.join()
    assert status == 400
    assert message in json.loads(body)["error"]
    overlapping = [r for r in reader.requests if r[0] <= answered and r[1] >= sent]
    assert overlapping
    assert {r[2] for r in reader.requests} == {200}


@pytest.mark.slow
def test_preview_works_again_after_a_refused_one(server: Server) -> None:
    browser = AdminBrowser(server.url)
    browser.login("editor", PASSWORD)
    refused, _ = browser.post_form("/admin/preview", {"title": "预览", "source": SLOW_BRACKETS})
    status, body = browser.post_form("/admin/preview", {"title": "预览", "source": "**好**"})
    assert refused == 400
    assert status == 200
    assert "<strong>好</strong>" in json.loads(body)["html"]
