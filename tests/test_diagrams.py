"""Mermaid diagrams: source kept readable, library linked only where a diagram is, built.

The browser side (drawing, light/dark, a block trying to run script) is in
``test_browser_images_diagrams.py``. Mermaid comes from npm (``scripts/test`` installs it
into ``.cache/test-npm``); tests that need the file skip without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from blog.app import create_app
from blog.build.site import build_site
from blog.db import upgrade
from blog.models import db
from blog.posts import PostFields, save_post
from tests.conftest import REPO, write_config

MERMAID = REPO / ".cache/test-npm/node_modules/mermaid/dist/mermaid.min.js"

FLOW = "```mermaid\ngraph TD\n  A[开始] --> B{是否收敛?}\n  B -->|是| C[结束]\n```\n"
HOSTILE = (
    "```mermaid\ngraph LR\n"
    '  A["<img src=x onerror=alert(1)>"] --> B["<script>alert(2)</script>"]\n'
    "  click A call alert(3)\n"
    "```\n"
)


def mermaid_file() -> Path:
    if not MERMAID.is_file():
        pytest.skip(f"{MERMAID} is absent (scripts/test installs mermaid from npm)")
    return MERMAID


@pytest.fixture
def site(instance: Path) -> Iterator[Flask]:
    write_config(
        instance,
        SITE_URL="http://example.test",
        plugins={"diagrams": {"mermaid_file": str(mermaid_file())}},
    )
    app = create_app(config={"TESTING": True}, instance_path=instance)
    upgrade(app)
    with app.app_context():
        save_post(PostFields(title="流程", slug="flow", source="步骤：\n\n" + FLOW), author="t")
        save_post(PostFields(title="无图", slug="plain", source="只有文字。"), author="t")
        save_post(PostFields(title="恶意", slug="hostile", source=HOSTILE), author="t")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_diagram_source_is_kept_escaped_and_readable_without_javascript(site: Flask) -> None:
    html = site.test_client().get("/posts/flow/").get_data(as_text=True)
    block = re.search(r'<pre class="mermaid" translate="no">(.*?)</pre>', html, re.S)
    assert block, html
    assert block.group(1) == ("graph TD\n  A[开始] --&gt; B{是否收敛?}\n  B --&gt;|是| C[结束]")
    # Not highlighted as code, not read as math.
    assert "highlight" not in block.group(0)


def test_mermaid_is_linked_only_from_pages_with_a_diagram(site: Flask) -> None:
    client = site.test_client()
    with_diagram = client.get("/posts/flow/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)" defer></script>', with_diagram)
    library = [s for s in scripts if "/mermaid.min." in s]
    assert len(library) == 1
    assert scripts.index(library[0]) < next(i for i, s in enumerate(scripts) if "/diagrams." in s)
    served = client.get(library[0])
    assert served.status_code == 200
    assert served.data == MERMAID.read_bytes()
    assert "immutable" in served.headers["Cache-Control"]
    for path in ("/posts/plain/", "/"):
        assert "mermaid" not in client.get(path).get_data(as_text=True)


def test_admin_editor_loads_mermaid_for_its_live_preview(site: Flask) -> None:
    from tests.admin_support import create_user, login

    create_user(site)
    client = site.test_client()
    assert login(client).status_code == 302
    editor = client.get("/admin/posts/new").get_data(as_text=True)
    assert "data-live-preview" in editor
    scripts = re.findall(r'<script src="([^"]+)" defer></script>', editor)
    assert [s for s in scripts if "/mermaid.min." in s] and [
        s for s in scripts if "/diagrams." in s
    ]
    # Other admin pages have no preview and no diagram: no library.
    assert "mermaid" not in client.get("/admin/posts/").get_data(as_text=True)


def test_script_in_a_diagram_never_reaches_the_page_as_markup(site: Flask) -> None:
    html = site.test_client().get("/posts/hostile/").get_data(as_text=True)
    block = re.search(r'<pre class="mermaid" translate="no">(.*?)</pre>', html, re.S)
    assert block
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in block.group(1)


def test_static_build_includes_the_library_for_diagram_pages(site: Flask, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_site(Path(site.instance_path), out)
    page = (out / "posts/flow/index.html").read_text(encoding="utf-8")
    library = re.search(r'<script src="(/static/plugins/diagrams/mermaid\.min\.[^"]+)"', page)
    assert library, page
    assert (out / library.group(1).lstrip("/")).read_bytes() == MERMAID.read_bytes()
    helper = re.search(r'<script src="(/static/plugins/diagrams/diagrams\.[^"]+)"', page)
    assert helper and (out / helper.group(1).lstrip("/")).is_file()


def test_site_without_the_library_shows_diagrams_as_source(
    make_post: Callable[..., object], app: Flask
) -> None:
    # The default location in the test instance is empty: no script, the source stays.
    make_post(FLOW, slug="nolib")
    html = app.test_client().get("/posts/nolib/").get_data(as_text=True)
    assert '<pre class="mermaid"' in html
    assert "mermaid.min" not in html
