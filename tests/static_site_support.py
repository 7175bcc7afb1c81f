"""Helpers for tests of the built static site: a plain file server and a link checker."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

LINK_ATTRIBUTES = {"href", "src", "action", "data-search-root"}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """Serve ``folder`` with Python's plain file server (no app); yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in LINK_ATTRIBUTES and value:
                self.urls.append(value)


def target_file(out: Path, path: str) -> Path | None:
    """The file a static server answers ``path`` (decoded, below OUT) with, if any."""
    decoded = unquote(path)
    candidate = out / decoded.lstrip("/")
    if decoded.endswith("/") or candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def broken_links(out: Path, base_path: str = "", site_url: str = "") -> dict[str, list[str]]:
    """Internal links and assets of every HTML page under ``out`` that reach no file.

    ``base_path`` is the sub-path the site is published under; ``site_url`` its absolute
    address, whose links count as internal too.
    """
    broken: dict[str, list[str]] = {}
    for page in sorted(out.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for url in parser.urls:
            if site_url and url.startswith(site_url):
                url = base_path + url[len(site_url) :]
            if not url.startswith("/") or url.startswith("//"):
                continue
            path = urlsplit(url).path
            if not path.startswith(base_path + "/"):
                broken.setdefault(url, []).append(str(page.relative_to(out)))
                continue
            if target_file(out, path[len(base_path) :]) is None:
                broken.setdefault(url, []).append(str(page.relative_to(out)))
    return broken
