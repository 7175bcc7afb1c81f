"""``blog import`` on several processes: renders are made ahead on the pre-forked render
workers and the importing process only writes; the stored posts are exactly those a
one-process import stores, and a bad file still fails alone.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select

from blog.document import PostDraft
from blog.importer import import_paths
from blog.models import Post, db
from blog.parallel import render_all
from blog.posts import PostFields, draft_to_render
from blog.render import Rendered
from blog.rerender import rerender_posts
from blog.search import search
from tests.conftest import count_html_parses

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="render workers need fork")

DEMO = Path(__file__).parent.parent / "blog" / "demo"
#: Python-Markdown's link parser needs minutes for this (see test_render_budget).
LINK_FLOOD = "[a](" * 20_000


@pytest.fixture
def posts(tmp_path: Path) -> Path:
    """Six demo posts (math, code, both variants of Chinese), copied to a folder."""
    folder = tmp_path / "posts"
    folder.mkdir()
    for source in sorted(DEMO.glob("*.md"))[:6]:
        shutil.copy(source, folder / source.name)
    return folder


def stored(app: Flask) -> dict[str, tuple[Any, ...]]:
    with app.app_context():
        return {
            post.slug: (
                post.title,
                post.body_html,
                post.excerpt,
                post.toc,
                post.render_meta,
                post.render_fingerprint,
                post.render_problems,
            )
            for post in db.session.scalars(select(Post))
        }


def test_posts_imported_on_two_processes_equal_those_of_one(
    make_app: Callable[..., Flask], posts: Path, tmp_path: Path
) -> None:
    one = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'one.db'}")
    two = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'two.db'}")
    with one.app_context():
        single = import_paths([posts], jobs=1)
    with two.app_context():
        parallel = import_paths([posts], jobs=2)
        assert search("梯度", 1, 10).total >= 1  # the index took the text of each save
    assert single.summary().split(" in ")[0] == parallel.summary().split(" in ")[0]
    assert parallel.imported == 6 and parallel.failures == []
    assert parallel.warnings == single.warnings
    assert [report.path for report in parallel.files] == [report.path for report in single.files]
    first, second = stored(one), stored(two)
    assert len(first) == 6
    assert second == first


def _found(app: Flask, queries: list[str]) -> list[list[tuple[str, str]]]:
    """Each query's results (slug, snippet) on the site of ``app``."""
    with app.app_context():
        return [
            [(result.slug, str(result.snippet)) for result in search(query, 1, 50).results]
            for query in queries
        ]


def test_search_after_an_import_on_two_processes_finds_what_one_finds(
    make_app: Callable[..., Flask], posts: Path, tmp_path: Path
) -> None:
    # On two processes the render workers cut each body into the index's tokens; the
    # index must hold exactly what the one-process import's saves put there.
    one = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'one.db'}")
    two = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'two.db'}")
    with one.app_context():
        import_paths([posts], jobs=1)
        texts = [post.body_text for post in db.session.scalars(select(Post).order_by(Post.slug))]
    with two.app_context():
        import_paths([posts], jobs=2)
    # Phrases from every body, and the Traditional post's words written in Simplified
    # (both found only if the body was normalised the same way on both sites).
    queries = [text[start : start + 4] for text in texts for start in range(0, len(text), 301)]
    queries += ["浮点数", "梯度下溢", "精度"]
    first = _found(one, queries)
    assert sum(len(results) for results in first) > len(queries) // 2
    assert any(results for results in first[-3:])
    assert _found(two, queries) == first


def test_the_importing_process_does_not_render_when_workers_do(
    make_app: Callable[..., Flask], posts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    # Patched in this process only after the workers' parent exists: a worker forked
    # later inherits it, so count only the parses made by this process's own threads.
    fed = count_html_parses(monkeypatch)
    with app.app_context():
        report = import_paths([posts], jobs=2)
    assert report.imported == 6
    assert fed == []  # every post's one parse happened in a worker
    with app.app_context():
        assert all(post.body_html for post in db.session.scalars(select(Post)))


def test_rerender_on_two_processes_renders_nothing_here_and_stores_the_same(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    with app.app_context():
        assert import_paths([DEMO], jobs=1).imported == 15
    before = stored(app)
    found = _found(app, ["梯度", "浮点数", "注意力"])
    assert all(found)
    fed = count_html_parses(monkeypatch)  # see the test above: this process's parses only
    with app.app_context():
        assert rerender_posts(stale_only=False, workers=2) == 15
    assert fed == []  # every post rendered on a render worker
    assert stored(app) == before
    assert _found(app, ["梯度", "浮点数", "注意力"]) == found


def _counted_drafts(count: int, pulled: list[int]) -> Iterator[PostDraft]:
    """``count`` small drafts, each noting its number in ``pulled`` when it is read."""
    for number in range(count):
        pulled.append(number)
        yield draft_to_render(PostFields(title=f"第 {number} 篇", source=f"正文 **{number}**"))


def test_rendering_starts_before_every_draft_is_read(make_app: Callable[..., Flask]) -> None:
    # `blog rerender` reads its drafts from the database: the workers must not wait for
    # the last one to be read before they render the first.
    app = make_app()
    pulled: list[int] = []
    with app.app_context():
        results = render_all(app, _counted_drafts(40, pulled), workers=2)
        first_draft, first = next(results)
        read_by_then = len(pulled)
        rest = list(results)
    assert read_by_then < 40
    assert isinstance(first, Rendered) and "<strong>0</strong>" in first.body_html
    assert first_draft.title == "第 0 篇"
    assert [draft.title for draft, _ in rest] == [f"第 {n} 篇" for n in range(1, 40)]
    assert all(isinstance(result, Rendered) for _, result in rest)


def test_renders_run_ahead_of_a_batch_writer_by_what_it_asks(
    make_app: Callable[..., Flask],
) -> None:
    # A writer that takes a batch of results and then writes them asks for at least a
    # batch to be under way, so the workers are never idle while it writes.
    app = make_app()
    pulled: list[int] = []
    with app.app_context():
        results = render_all(app, _counted_drafts(40, pulled), workers=2, ahead=20)
        next(results)
        assert len(pulled) == 20  # the one taken, and 19 more rendering meanwhile
        assert len(list(results)) == 39


def test_a_post_too_slow_to_render_fails_only_its_file(
    make_app: Callable[..., Flask], posts: Path
) -> None:
    (posts / "zz-bomb.md").write_text(f"---\ntitle: 炸弹\n---\n{LINK_FLOOD}\n", encoding="utf-8")
    # Refused ahead, then again by its own save, which reports it; the rest are saved.
    app = make_app(RENDER_TIMEOUT_SECONDS=4.0)
    with app.app_context():
        report = import_paths([posts], jobs=2)
        slugs = db.session.scalars(select(Post.slug)).all()
    assert report.imported == 6
    assert len(report.failures) == 1
    assert report.failures[0].startswith(str(posts / "zz-bomb.md"))
    assert "RENDER_TIMEOUT_SECONDS" in report.failures[0]
    assert len(slugs) == 6


def test_cli_import_takes_jobs(run_cli: Callable[..., Result], posts: Path, instance: Path) -> None:
    assert run_cli("upgrade").exit_code == 0
    result = run_cli("import", "--jobs", "2", str(posts))
    assert result.exit_code == 0, result.output
    assert "imported 6, updated 0, unchanged 0, failed 0" in result.output
    again = run_cli("import", "--jobs", "2", str(posts))
    assert "imported 0, updated 0, unchanged 6, failed 0" in again.output


def test_saves_wait_for_a_render_slot_rather_than_abort_the_import(
    make_app: Callable[..., Flask], posts: Path
) -> None:
    # One slot, hardly any queueing: the renders made ahead hold the slot while saves
    # whose render was not made ahead need it. The import must wait, not stop.
    app = make_app(RENDER_CONCURRENCY=1, RENDER_QUEUE_SECONDS=0.01)
    for n in range(12):
        body = "\n\n".join(f"第 {n} 篇的段落 {k}，带 **粗体** 和 $x^{k}$。" for k in range(300))
        (posts / f"large-{n:02}.md").write_text(f"---\ntitle: 长文 {n}\n---\n{body}\n", "utf-8")
    with app.app_context():
        report = import_paths([posts], jobs=2)
    assert report.failures == []
    assert report.imported == 18
