"""Front-server mode: the page cache also writes each stored public page as a file.

With ``PAGE_CACHE_FILES = "page-files"`` (a folder, relative to the instance), every page
the cache stores for a URL that means the same thing to every reader is also written
under that folder the way ``blog build`` lays a site out (``zh-tw/posts/<slug>/index.html``
plus ``.gz``/``.br`` siblings), so nginx or Caddy can answer it without Python and fall
back to waitress when no file exists (see ``docs/static-site.md``).

Which pages: status 200, no query string, and, when the site offers variants, only
prefixed URLs (``/zh-tw/…``); an unprefixed URL shows each reader the variant of their
cookie or ``Accept-Language``, so it always goes to the app.

Order on a content change, and why no reader gets a stale page beyond the window:

1. the change commits in the database (``site_state.content`` bumped in the same
   transaction);
2. this process's watcher thread re-reads the version: at once when the commit was made in
   this process (the ``after_commit`` listener wakes it), else within
   ``PAGE_CACHE_CHECK_MS``;
3. it renames the whole file tree away (one atomic rename: from then on the front server
   finds no file and asks the app) and deletes it, then empties the in-memory cache;
4. pages rendered after that are stored and written again. A page rendered before the
   change is refused: files are written under the same lock as step 3, and only when
   the page's generation is still current.

A reader of the front server can therefore get the previous page only between steps 1 and
3: a few milliseconds for a change made through this process, at most
``PAGE_CACHE_CHECK_MS`` for one made by another process (``blog import``, another worker).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from blog.build.paths import BuildError, output_path

logger = logging.getLogger("blog.page_files")

#: Content types written as files; the front server's MIME map serves them by extension.
WRITTEN_TYPES = ("text/html",)


class PageFiles:
    """Writes pages under ``root`` and removes them all at once when content changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.generation: int | None = None
        self.lock = threading.Lock()

    def wanted(self, path: str, query: str, content_type: str, prefixed: bool) -> bool:
        return not query and prefixed and content_type.startswith(WRITTEN_TYPES)

    def write(self, path: str, generation: int, bodies: dict[str, bytes]) -> None:
        """Write ``bodies`` ("" -> identity, "gzip", "br") for ``path`` if still current."""
        try:
            relative = output_path(path)
        except BuildError:
            return
        target = self.root / relative
        siblings = {"gzip": ".gz", "br": ".br"}
        with self.lock:
            if generation != self.generation:
                return
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                # Siblings first: when the page file appears, its compressed forms exist.
                for coding, data in sorted(bodies.items(), key=lambda item: item[0] == ""):
                    name = target.name + siblings.get(coding, "")
                    _atomic_write(target.with_name(name), data)
            except OSError:
                logger.exception("cannot write the page file %s", target)

    def new_generation(self, generation: int) -> None:
        """Remove every file (one rename, then delete) and accept pages of ``generation``."""
        with self.lock:
            self.generation = generation
            if not self.root.exists():
                return
            retired = self.root.with_name(f".{self.root.name}.stale-{os.getpid()}-{generation}")
            try:
                self.root.rename(retired)
            except OSError:
                logger.exception("cannot remove the page files under %s", self.root)
                return
        shutil.rmtree(retired, ignore_errors=True)


def _atomic_write(target: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name[:40]}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Watcher:
    """A daemon thread that keeps the content version checked while a front server answers.

    Without it the app would only notice a change when a request reaches it, and the front
    server may answer every request from files. The thread holds ``check`` weakly and ends
    when its owner is gone or :meth:`stop` is called: a watcher outliving its app would keep
    polling that app's database (and hold locks there) for the life of the process.
    """

    def __init__(self, check: Callable[[], object], interval: float) -> None:
        self._check = weakref.WeakMethod(check)
        self.interval = max(0.05, interval)
        self.wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="blog-page-files", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread and wait for a check under way to finish."""
        self._stopped = True
        self.wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            check = self._check()
            if self._stopped or check is None:
                return
            try:
                check()
            except Exception:
                logger.exception("cannot check the content version for the page files")
            del check  # hold the owner only while checking
