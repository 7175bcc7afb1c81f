"""``python -m bench --peers`` (Hexo beside us): the posts it writes are Hexo source posts that
``blog import`` reads too, and without npm it says why it skipped instead of failing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import Result
from flask import Flask
from sqlalchemy import select

from bench.peers import NPM_MISSING, hexo_post, write_hexo_posts
from blog.models import Post, db
from tests.conftest import REPO


def split_hexo_post(text: str) -> tuple[dict[str, Any], str]:
    """Hexo's layout: ``---``, YAML, ``---``, then the body."""
    assert text.startswith("---\n")
    front, separator, body = text[4:].partition("\n---\n")
    assert separator, "the front matter is not closed by a --- line"
    return yaml.safe_load(front), body


def test_hexo_post_keeps_a_cjk_title_with_a_colon_and_the_date() -> None:
    title = "注意力机制: 为什么要除以√d #1"  # ": " and " #" would break an unquoted YAML value
    written = datetime(2025, 10, 8, 21, 15, tzinfo=timezone(timedelta(hours=8)))
    body = "正文第一段，含公式 $\\sqrt{d_k}$。\n\n## 小节\n"
    text = hexo_post(
        {"title": title, "date": written, "categories": "深度学习", "tags": ["注意力", "LLM"]},
        body,
    )
    front, rest = split_hexo_post(text)
    assert front["title"] == title
    assert front["date"] == written
    assert front["categories"] == ["深度学习"]
    assert front["tags"] == ["注意力", "LLM"]
    assert "published" not in front
    assert rest == body
    assert title in text  # written as characters, not \u escapes: a reader can check it


def test_a_draft_becomes_unpublished_and_unknown_keys_stay_out() -> None:
    text = hexo_post(
        {"title": "草稿", "date": datetime(2026, 2, 17, 22, 0), "draft": True, "mathjax": True},
        "还没写完。\n",
    )
    front, _body = split_hexo_post(text)
    assert front["published"] is False
    assert "draft" not in front and "mathjax" not in front


def test_demo_posts_written_for_hexo_import_with_their_titles_and_dates(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    app = make_app()
    files = write_hexo_posts(tmp_path / "_posts", 15, tmp_path / "scratch")
    fronts = {path.stem: split_hexo_post(path.read_text(encoding="utf-8"))[0] for path in files}
    # Hexo takes the slug from the file name; blog import from the front matter.
    assert all(front["slug"] == stem for stem, front in fronts.items())
    assert all(isinstance(front["date"], datetime) for front in fronts.values())
    # Demo posts with TOML front matter (+++) become YAML too.
    assert any(front["date"].tzinfo is not None for front in fronts.values())

    result = run_cli("import", str(tmp_path / "_posts"))
    assert result.exit_code == 0, result.output
    assert f"imported {len(files)}," in result.output
    with app.app_context():
        posts = {p.slug: p for p in db.session.scalars(select(Post).where(Post.kind == "post"))}
        assert set(posts) == set(fronts)
        for slug, front in fronts.items():
            post = posts[slug]
            assert post.title == front["title"]
            assert post.category is not None and post.category.name == front["categories"][0]
            assert (post.status == "draft") == (front.get("published") is False)
            if post.status != "draft":
                assert post.published_at == utc(front["date"], app.config["TIMEZONE"])


def utc(moment: datetime, site_zone: str) -> datetime:
    """A front-matter date as stored: a date without an offset is in the site's zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(site_zone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def run_peers(**environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", "--peers", "--posts", "3", "--rounds", "1"],
        cwd=REPO,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_peers_without_npm_prints_why_it_skipped(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = run_peers(PATH=str(empty))
    assert done.returncode == 0, done.stderr
    assert NPM_MISSING in done.stdout
    assert "hexo generate" not in done.stdout


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed here")
def test_peers_with_an_unreachable_registry_prints_why_it_skipped() -> None:
    # Port 9 (discard) on loopback: nothing listens, so npm's request is refused at once.
    done = run_peers(npm_config_registry="http://127.0.0.1:9/")
    assert done.returncode == 0, done.stderr
    skipped = done.stdout.strip().splitlines()
    assert len(skipped) == 1
    assert skipped[0].startswith("--peers skipped: the npm registry cannot be reached (")
    assert "127.0.0.1:9" in skipped[0]  # npm's own reason, not its log file's path
