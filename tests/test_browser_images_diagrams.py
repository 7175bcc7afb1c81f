"""In Chromium: click to zoom, paste and drop an image into the editor, Mermaid diagrams.

One site, one browser and one logged-in page for the module. Screenshots go to the test's
temporary folder (and, with BLOG_TEST_SHOTS=DIR, to DIR) so a person can look at them.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admin_support import PASSWORD, create_user
from browser_support import chromium, serve_in_thread
from flask import Flask
from PIL import Image
from sqlalchemy import select

from blog.admin.uploads import store_upload
from blog.app import close_app, create_app
from blog.db import upgrade
from blog.importer import import_paths
from blog.models import Post, db
from blog.posts import PostFields, save_post
from blog.render_budget import worker_pool
from tests.conftest import REPO, SHARED, write_config

pytestmark = pytest.mark.browser

MERMAID = REPO / ".cache/test-npm/node_modules/mermaid/dist/mermaid.min.js"

DIAGRAM = """训练流程如下：

```mermaid
graph TD
  A[读取语料] --> B{显存够吗?}
  B -->|够| C[全量微调]
  B -->|不够| D[LoRA 微调]
  C --> E[评估]
  D --> E
```

以上。
"""

#: Real posts from the shared migration material (a Hugo site), imported by the fixture.
MEMO = ("external", "migration", "hugo", "content", "posts", "_memo")
HEXO_WRITE = "hexo 添加图片，音乐，链接，视频"
ARTICLE_STRUCTURE = "写作技巧：如何搭建文章的框架结构？"
REAL_POSTS: dict[str, str] = {}

HOSTILE = """```mermaid
graph LR
  A["<img src=x onerror=window.pwned=1>"] --> B["<script>window.pwned=2</script>"]
  click A call pwn()
  click B href "javascript:window.pwned=3"
```
"""


#: Hands files to the editor as a paste or a drop would (Chromium accepts a DataTransfer
#: built by the page in both events).
SEND_FILES = """([kind, name, type, data]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: type }));
  const source = document.getElementById("source");
  const init = { bubbles: true, cancelable: true };
  if (kind === "paste") {
    source.dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: transfer }));
  } else {
    source.dispatchEvent(new DragEvent("dragover", { ...init, dataTransfer: transfer }));
    source.dispatchEvent(new DragEvent("drop", { ...init, dataTransfer: transfer }));
  }
}"""


def send_files(page: Any, kind: str, name: str, mime: str, data: bytes) -> None:
    page.evaluate(SEND_FILES, [kind, name, mime, base64.b64encode(data).decode()])


def photo(width: int, height: int) -> bytes:
    """A picture with some structure: a gradient with a dark band, as JPEG."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image.paste((30, 60, 120), (0, height // 3, width, height // 2))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def screenshot(page: Any, folder: Path, name: str) -> Path:
    path = folder / name
    page.screenshot(path=str(path), full_page=False)
    extra = os.environ.get("BLOG_TEST_SHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / name)
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    instance = tmp_path_factory.mktemp("site") / "instance"
    plugins = {"diagrams": {"mermaid_file": str(MERMAID)}} if MERMAID.is_file() else {}
    write_config(instance, plugins=plugins)
    app: Flask = create_app(config={"TESTING": False}, instance_path=instance)
    upgrade(app)
    create_user(app)
    with app.app_context():
        wide = store_upload(photo(2400, 1200), "loss.jpg", "editor")
        save_post(
            PostFields(
                title="带图的文章",
                slug="pictures",
                source=(
                    "下图是训练曲线。\n\n"
                    f'![损失曲线](/uploads/{wide.name} "图 1：损失随训练步数下降")\n\n'
                    "点击图片可以放大。\n"
                ),
            ),
            author="editor",
        )
        save_post(PostFields(title="流程图", slug="diagram", source=DIAGRAM), author="editor")
        save_post(PostFields(title="恶意图表", slug="hostile", source=HOSTILE), author="editor")
        if SHARED.joinpath(*MEMO).is_dir():
            memo = SHARED.joinpath(*MEMO)
            report = import_paths([memo / "hexowrite", memo / "article-structure.md"], "editor")
            assert not report.failures, report.failures
            for post in db.session.scalars(select(Post)):
                REAL_POSTS[post.title] = post.slug
    yield from serve_in_thread(app, threads=4)
    # Render workers forked for this app end with the module (else teardown waits on them).
    worker_pool().close()
    close_app(app)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def page(browser: Any, site: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.csp_errors = []
    page.on(
        "console",
        lambda m: (
            page.csp_errors.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    page.goto(f"{site}/admin/login")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/admin/**")
    yield page
    context.close()


def test_click_opens_the_image_large_and_escape_closes_it(
    page: Any, site: str, tmp_path: Path
) -> None:
    page.goto(f"{site}/posts/pictures/")
    image = page.locator(".post-body figure img")
    image.wait_for()
    box = image.bounding_box()
    assert box is not None and box["width"] <= 740
    # The 1600 copy or smaller suits a 1000-pixel window; never the 2400-pixel original.
    assert "-1600.webp" in image.evaluate("i => i.currentSrc") or "-960.webp" in image.evaluate(
        "i => i.currentSrc"
    )
    assert page.locator("figcaption").inner_text() == "图 1：损失随训练步数下降"
    screenshot(page, tmp_path, "figure.png")
    image.click()
    dialog = page.locator("dialog.zoom")
    dialog.wait_for(state="visible")
    large = page.locator("dialog.zoom img")
    # The column's copy shows at once; the 2400-pixel original replaces it once it arrived.
    page.wait_for_function(
        "() => { const i = document.querySelector('dialog.zoom img');"
        " return i.complete && i.naturalWidth === 2400; }"
    )
    large_box = large.bounding_box()
    assert large_box is not None and large_box["width"] > box["width"]
    assert page.locator("dialog.zoom .zoom-caption").inner_text() == "图 1：损失随训练步数下降"
    screenshot(page, tmp_path, "zoomed.png")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    # Keyboard readers: focus the image and press Enter.
    image.focus()
    page.keyboard.press("Enter")
    dialog.wait_for(state="visible")
    page.mouse.click(5, 5)
    dialog.wait_for(state="hidden")
    assert page.csp_errors == []


def test_zoom_shows_the_column_copy_until_the_original_arrives(page: Any, site: str) -> None:
    held: list[Any] = []

    def hold_original(route: Any) -> None:
        held.append(route)  # answered below, once the dialog has been looked at

    # An earlier test may have left the original in the browser's cache, out of the route's reach.
    devtools = page.context.new_cdp_session(page)
    devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.goto(f"{site}/posts/pictures/")
    image = page.locator(".post-body figure img")
    image.wait_for()
    original = image.evaluate("i => i.src")
    page.route(original, hold_original)
    try:
        image.click()
        page.locator("dialog.zoom").wait_for(state="visible")
        large = page.locator("dialog.zoom img")
        page.wait_for_function(
            "() => { const i = document.querySelector('dialog.zoom img');"
            " return i.complete && i.naturalWidth > 0; }"
        )
        # While the original is held back, the reader sees the copy the column had loaded.
        shown = large.evaluate("i => i.currentSrc")
        assert shown == image.evaluate("i => i.currentSrc") and shown != original
        large_box = large.bounding_box()
        assert large_box is not None and large_box["width"] > 0
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        held[0].continue_()
        page.wait_for_function(
            "() => document.querySelector('dialog.zoom img').naturalWidth === 2400"
        )
        assert large.evaluate("i => i.currentSrc") == original
    finally:
        page.unroute(original)
        devtools.send("Network.setCacheDisabled", {"cacheDisabled": False})
        devtools.detach()
    page.keyboard.press("Escape")
    page.locator("dialog.zoom").wait_for(state="hidden")
    assert page.csp_errors == []


def test_pasted_image_is_uploaded_and_inserted_at_the_cursor(page: Any, site: str) -> None:
    page.goto(f"{site}/admin/posts/new")
    page.fill("#source", "第一段。\n\n第二段。")
    page.evaluate("() => document.getElementById('source').setSelectionRange(4, 4)")
    send_files(page, "paste", "截图.jpg", "image/jpeg", photo(1200, 600))
    page.wait_for_selector("#upload-status:has-text('已上传')")
    value = page.input_value("#source")
    before, image, after = value.split("\n\n")
    assert before == "第一段。"
    assert image.startswith("![截图](/uploads/") and image.endswith(".jpg)")
    assert after == "第二段。"
    assert "已上传" in page.inner_text("#upload-status")
    # The live preview shows the uploaded picture with its responsive copies.
    page.wait_for_selector("#preview img[srcset]")


def test_dropped_images_are_uploaded_and_bad_ones_explained(
    page: Any, site: str, tmp_path: Path
) -> None:
    page.goto(f"{site}/admin/posts/new")
    page.fill("#source", "开头。")
    page.evaluate("() => document.getElementById('source').setSelectionRange(3, 3)")
    send_files(page, "drop", "diagram.jpg", "image/jpeg", photo(800, 500))
    page.wait_for_selector("#upload-status:has-text('已上传')")
    assert page.input_value("#source").startswith("开头。\n\n![diagram](/uploads/")
    screenshot(page, tmp_path, "editor-dropped.png")
    # Not an image, though it says so: refused with the server's reason, text unchanged.
    before = page.input_value("#source")
    send_files(page, "drop", "x.png", "image/png", b"<svg onload=alert(1)>")
    page.wait_for_selector("#upload-status.upload-failed")
    assert "SVG" in page.inner_text("#upload-status")
    assert page.input_value("#source") == before


def mermaid_or_skip() -> None:
    if not MERMAID.is_file():
        pytest.skip(f"{MERMAID} is absent (scripts/test installs mermaid from npm)")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_diagram_is_drawn_following_the_colour_scheme(
    page: Any, site: str, tmp_path: Path, scheme: str
) -> None:
    mermaid_or_skip()
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{site}/posts/diagram/")
    page.wait_for_selector("html[data-diagrams=drawn]")
    svg = page.locator(".post-body .diagram svg")
    assert svg.count() == 1
    assert not page.locator("pre.mermaid").is_visible()
    labels = svg.text_content() or ""
    for label in ("读取语料", "显存够吗?", "LoRA 微调"):
        assert label in labels
    box = svg.bounding_box()
    assert box is not None and box["width"] > 150 and box["height"] > 200
    # Node boxes are filled as the theme says, which needs Mermaid's styles applied.
    fill = page.evaluate("getComputedStyle(document.querySelector('.diagram svg .node rect')).fill")
    assert fill not in ("", "none", "rgb(0, 0, 0)")
    dark_fill = page.evaluate(
        """() => {
          const c = getComputedStyle(document.querySelector('.diagram svg .node rect')).fill;
          const [r, g, b] = c.match(/\\d+/g).map(Number);
          return (r + g + b) / 3 < 128;
        }"""
    )
    assert dark_fill == (scheme == "dark")
    screenshot(page, tmp_path, f"diagram-{scheme}.png")
    page.emulate_media(color_scheme=None)


def test_diagram_with_script_injection_runs_nothing(page: Any, site: str) -> None:
    mermaid_or_skip()
    page.goto(f"{site}/posts/hostile/")
    page.wait_for_selector("html[data-diagrams=drawn]")
    page.locator(".diagram svg, pre.mermaid.diagram-failed").first.wait_for()
    for node in page.locator(".diagram svg .node").all():
        node.click(force=True)
    assert page.evaluate("window.pwned") is None
    assert page.locator(".diagram script").count() == 0
    # Mermaid's sanitizer may keep an inert <img>, but no handler and no script URL.
    dangerous = page.evaluate(
        """() => [...document.querySelectorAll('.diagram *')].flatMap(e =>
          [...e.attributes].filter(a => /^on/i.test(a.name) || /javascript:/i.test(a.value))
            .map(a => e.tagName + ' ' + a.name + '=' + a.value))"""
    )
    assert dangerous == []


def test_live_preview_draws_diagrams_as_the_author_types(
    page: Any, site: str, tmp_path: Path
) -> None:
    mermaid_or_skip()
    page.csp_errors.clear()
    page.goto(f"{site}/admin/posts/new")
    page.fill("#source", DIAGRAM)
    svg = page.locator("#preview .diagram svg")
    svg.wait_for()
    assert "读取语料" in (svg.text_content() or "")
    assert not page.locator("#preview pre.mermaid").is_visible()
    screenshot(page, tmp_path, "editor-diagram.png")
    # Typing on replaces the preview: the new diagram is drawn, the old one is gone.
    page.fill("#source", DIAGRAM.replace("读取语料", "清洗语料"))
    page.wait_for_selector("#preview .diagram svg:has-text('清洗语料')")
    assert page.locator("#preview .diagram svg").count() == 1
    # A broken diagram leaves its source readable, marked as failed.
    page.fill("#source", "```mermaid\ngraph TD\n  A[开始 --> \n```\n")
    page.wait_for_selector("#preview pre.mermaid.diagram-failed")
    # Mermaid's own attempts at style attributes are refused by style-src 'self' (as on
    # public pages; diagrams.js applies its styles through the CSSOM); no script is.
    assert [e for e in page.csp_errors if "script-src" in e] == []


def test_diagram_source_is_readable_without_javascript(browser: Any, site: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{site}/posts/diagram/")
        text = page.inner_text("pre.mermaid")
        assert "A[读取语料] --> B{显存够吗?}" in text
    finally:
        context.close()


def real_post_url(site: str, title: str) -> str:
    """The URL of an imported shared post (the module imports them when they exist)."""
    slug = REAL_POSTS.get(title)
    if slug is None:
        pytest.skip("shared migration material is absent")
    return f"{site}/posts/{slug}/"


def test_real_post_photos_fit_a_phone(browser: Any, site: str, tmp_path: Path) -> None:
    """A real Hugo post whose 1920-pixel photos were imported, read on a 390-pixel phone."""
    url = real_post_url(site, HEXO_WRITE)
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    try:
        phone = context.new_page()
        phone.goto(url)
        images = phone.locator(".post-body img[srcset]")
        assert images.count() >= 2
        first = images.first
        first.scroll_into_view_if_needed()
        first.evaluate("i => i.complete || new Promise(done => i.addEventListener('load', done))")
        # 390 CSS px at 2x: the 960 copy, not the 1920-pixel original.
        assert first.evaluate("i => i.currentSrc").endswith("-960.webp")
        box = first.bounding_box()
        assert box is not None and box["width"] <= 390
        assert abs(box["height"] - box["width"] * 1080 / 1920) < 2  # ratio from width/height
        # Lazy images further down reserve their height before they load (no layout shift).
        last = images.last
        assert last.get_attribute("loading") == "lazy"
        assert last.bounding_box()["height"] > 100
        screenshot(phone, tmp_path, "phone-real-post.png")
    finally:
        context.close()


def test_real_post_diagrams_are_all_drawn(page: Any, site: str, tmp_path: Path) -> None:
    """A real post with five Mermaid flowcharts whose labels carry <small><b> markup."""
    mermaid_or_skip()
    url = real_post_url(site, ARTICLE_STRUCTURE)
    page.goto(url)
    page.wait_for_selector("html[data-diagrams=drawn]")
    blocks = page.locator("pre.mermaid").count()
    assert blocks >= 5
    assert page.locator(".diagram svg").count() == blocks
    assert page.locator("pre.mermaid.diagram-failed").count() == 0
    assert "亮点前置" in (page.locator(".diagram svg").first.text_content() or "")
    page.locator(".diagram svg").first.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "real-diagrams.png")
