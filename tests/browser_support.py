"""What every real-browser test shares: serving an app with waitress, launching Chromium.

Debian's ``/usr/bin/chromium`` is driven through Playwright; ``playwright install`` is
never run (it downloads a browser, which this machine cannot).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask

from blog.models import db

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def serve_in_thread(app: Flask, threads: int = 2) -> Iterator[str]:
    """Serve ``app`` with real waitress on a free loopback port; yield its base URL."""
    waitress = pytest.importorskip("waitress")
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=10)


def serve_app(app: Flask, threads: int = 2) -> Iterator[str]:
    """:func:`serve_in_thread`, then close the app's database connections when it stops
    (a module-scoped site must not leave a connection open after its file)."""
    try:
        yield from serve_in_thread(app, threads)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def open_page(browser: Any, url: str, width: int, height: int = 900) -> Any:
    """A new page of ``browser`` at ``width`` × ``height`` with ``url`` loaded (a 200)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.wait_for_load_state("load")
    return page


@contextmanager
def chromium() -> Iterator[Any]:
    """Launch headless Chromium, skipping the test when Playwright or Chromium is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
