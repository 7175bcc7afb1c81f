"""The page cache: public pages answered from memory before Flask routing.

It sits in the WSGI stack between whitenoise and the variant prefix middleware, so a hit
costs a dictionary lookup, like whitenoise serving a file. Only anonymous ``GET``/``HEAD``
requests are looked up; any request carrying the session cookie goes straight to Flask.

Key: scheme, host, the full path (variant prefix included) and query string, plus, for
unprefixed URLs, the variant that the plugins' ``blog_request_variant`` hook picks for this
request (called here with a plain request object, exactly as Flask would call it later), so
the cache knows variants only through the plugin API. The hook's answer is remembered per
(Cookie, Accept-Language, query string), the inputs the hook specification names, so a hit
on an unprefixed URL builds no request object either.

Invalidation: every change to public content bumps the ``content`` row of ``site_state`` in
its own transaction. Each process re-reads that one row at most every
``PAGE_CACHE_CHECK_MS`` milliseconds, immediately after any commit made in the same process,
and whenever the next scheduled post's publish time passes. A changed version empties the
cache. The stale window for a change made by another process is therefore at most
``PAGE_CACHE_CHECK_MS``; within one process it is zero.

A change that touches only a few pages (a reader's comment: one post and the listings that
count comments) calls :func:`mark_pages_stale` instead, in the same transaction: it adds
path prefixes to ``stale_pages``. Read with the content version, the newest row's id tells
each process that some pages changed; it drops just the pages under those prefixes, in
every variant, and keeps the rest. Pages rendered before the drop are refused on arrival
(the store's generation moves on), as with a full invalidation.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import brotli
from flask import Flask
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from blog import queries
from blog.models import StalePage, db, utcnow
from blog.page_files import PageFiles, Watcher
from blog.plugins import Plugins
from blog.protected import COOKIE_PREFIX
from blog.variants import VariantPrefixMiddleware

logger = logging.getLogger("blog.cache")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]
CacheKey = tuple[str, str, str, str, str]

#: Paths that are never cached whatever their response says: private or per-user areas.
UNCACHED_PREFIXES = (
    "/admin",
    "/api",
    "/uploads",
    "/static",
    "/healthz",
    "/readyz",
    "/metrics",
    "/preview/",
)
#: Bookkeeping cost of one entry (key, headers, objects) beyond its body, for the byte limit.
ENTRY_OVERHEAD = 512
#: A single page larger than this share of the cache is served but not stored.
MAX_ENTRY_SHARE = 8
#: Distinct (cookie, Accept-Language, query) combinations whose variant is remembered.
MAX_REMEMBERED_CHOICES = 4096
#: How long a miss waits for another thread rendering the same page before rendering it too.
RENDER_WAIT_SECONDS = 30.0
#: Headers a 304 repeats from the cached 200 (RFC 9110, 15.4.5).
#: How long ``stale_pages`` rows are kept: far longer than any process's check interval.
STALE_ROWS_KEPT = timedelta(hours=1)
NOT_MODIFIED_HEADERS = frozenset({"etag", "cache-control", "vary", "content-location", "expires"})


#: Content types stored compressed as well; images and the like are compressed already.
COMPRESSIBLE_TYPES = (
    "text/",
    "application/atom+xml",
    "application/xml",
    "application/json",
    "application/javascript",
)
#: Below this size a compressed body saves less than its headers cost.
MIN_COMPRESS_BYTES = 256
#: Brotli quality 5 compresses an 18 KB page in about 2 ms here, within 10 % of quality 11.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
#: Codings in the server's order of preference when the client accepts several equally.
CODINGS = ("br", "gzip")
#: Distinct Accept-Encoding headers whose parsed choice is remembered.
MAX_REMEMBERED_ENCODINGS = 256


@dataclass(frozen=True)
class Encoded:
    """One compressed representation of a stored page: its headers, body and ETag."""

    headers: list[tuple[str, str]]
    body: bytes
    etag: str


@dataclass(frozen=True)
class CachedPage:
    """One stored response: status line, headers (with ETag) and body bytes.

    ``encoded`` holds the same page compressed (``br``, ``gzip``) when it is worth it; the
    identity headers then carry ``Vary: Accept-Encoding`` too.
    """

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    encoded: dict[str, Encoded] = field(default_factory=dict)

    @property
    def size(self) -> int:
        extra = sum(len(e.body) + ENTRY_OVERHEAD for e in self.encoded.values())
        return (
            len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + ENTRY_OVERHEAD + extra
        )


class PageStore:
    """A thread-safe LRU of pages bounded by total bytes, emptied at each new generation."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.generation = 0
        self._pages: OrderedDict[CacheKey, CachedPage] = OrderedDict()
        self._lock = threading.Lock()
        #: Called with the new generation number after the store was emptied.
        self.listeners: list[Callable[[int], None]] = []

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: CacheKey) -> CachedPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: CacheKey, page: CachedPage, generation: int) -> bool:
        """Store ``page`` if it was rendered in the current generation and fits; say whether."""
        size = page.size
        if size > self.max_bytes // MAX_ENTRY_SHARE:
            return False
        with self._lock:
            if generation != self.generation:
                return False
            previous = self._pages.pop(key, None)
            if previous is not None:
                self.bytes -= previous.size
            while self._pages and self.bytes + size > self.max_bytes:
                _key, evicted = self._pages.popitem(last=False)
                self.bytes -= evicted.size
            self._pages[key] = page
            self.bytes += size
            return True

    def new_generation(self) -> None:
        """Drop every page; pages rendered before this call are refused by :meth:`put`."""
        with self._lock:
            self._pages.clear()
            self.bytes = 0
            self.generation += 1
            generation = self.generation
        for listener in self.listeners:
            listener(generation)

    def drop(self, stale: Callable[[CacheKey], bool]) -> int:
        """Drop the pages whose key is ``stale``; refuse pages rendered before this call.

        Returns how many were dropped. In-flight renders of *other* pages are refused too:
        telling them apart would need the key here, and one re-render costs little.
        """
        with self._lock:
            keys = [key for key in self._pages if stale(key)]
            for key in keys:
                self.bytes -= self._pages.pop(key).size
            self.generation += 1
            generation = self.generation
        # Listeners (the front-server page files) know pages by generation only, so they
        # drop everything: coarser than the memory cache, never staler.
        for listener in self.listeners:
            listener(generation)
        return len(keys)


@dataclass(frozen=True)
class ContentState:
    """What the database says about freshness: the content version and the next publish time."""

    version: int
    next_publish: datetime | None
    #: Id of the newest ``stale_pages`` row (0 when none): pages some change made stale.
    stale_mark: int = 0


class ContentWatch:
    """Tracks the database's content state; starts a new store generation when it changes."""

    def __init__(
        self,
        read_state: Callable[[], ContentState],
        store: PageStore,
        interval: float,
        drop_stale: Callable[[int], None] | None = None,
    ) -> None:
        self.read_state = read_state
        self.drop_stale = drop_stale
        self.store = store
        self.interval = interval
        self.state: ContentState | None = None
        self._checked_at = float("-inf")
        self._expires_at = float("inf")
        # Forced checks are counted rather than flagged: a check is owed while a request made
        # before the last successful read started is unanswered. A flag cleared when a read
        # starts would let a lookup that arrives mid-read use the generation it is replacing.
        self._requested = 1
        self._answered = 0
        self._request_lock = threading.Lock()
        self._lock = threading.Lock()
        #: Set on every forced check: wakes the page-file watcher thread, when there is one.
        self.wake: threading.Event | None = None

    def force_check(self) -> None:
        """Re-read the state before the next lookup (called after a commit in this process)."""
        with self._request_lock:
            self._requested += 1
        if self.wake is not None:
            self.wake.set()

    def current_generation(self) -> int | None:
        """Return the store generation valid now, or ``None`` when the state cannot be read."""
        if self._due(time.monotonic()):
            with self._lock:
                now = time.monotonic()
                if self._due(now) and not self._refresh(now):
                    return None
        return self.store.generation

    def _due(self, now: float) -> bool:
        return (
            self._requested != self._answered
            or now - self._checked_at >= self.interval
            or now >= self._expires_at
        )

    def _refresh(self, now: float) -> bool:
        requested = self._requested
        try:
            state = self.read_state()
        except Exception:
            logger.exception("cannot read the content version; serving without the page cache")
            return False
        publish_passed = now >= self._expires_at
        previous = self.state
        everything = (
            previous is None
            or (state.version, state.next_publish) != (previous.version, previous.next_publish)
            or publish_passed
        )
        if everything:
            self.store.new_generation()
        elif previous is not None and state.stale_mark != previous.stale_mark:
            if self.drop_stale is None:
                self.store.new_generation()
            else:
                try:
                    self.drop_stale(previous.stale_mark)
                except Exception:
                    logger.exception("cannot read the stale pages; emptying the page cache")
                    self.store.new_generation()
        self.state = state
        self._answered = requested
        self._checked_at = now
        self._expires_at = float("inf")
        if state.next_publish is not None:
            wait = (state.next_publish - utcnow()).total_seconds()
            self._expires_at = now + max(0.0, wait)
        return True


_watches: weakref.WeakSet[ContentWatch] = weakref.WeakSet()


@event.listens_for(Session, "after_commit")
def _check_after_commit(_session: Session) -> None:
    # A commit in this process may have bumped the content version: make every cache in the
    # process re-read it before its next lookup, so its own writers never see a stale page.
    for watch in list(_watches):
        watch.force_check()


def _has_cookie(cookie_header: str, name: str) -> bool:
    return any(part.strip().partition("=")[0] == name for part in cookie_header.split(";"))


def _etag_matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    return any(
        candidate.strip().removeprefix("W/") == etag for candidate in if_none_match.split(",")
    )


def _storable(status: str, headers: list[tuple[str, str]]) -> bool:
    if not status.startswith("200"):
        return False
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            return False
        if lowered == "cache-control" and ("private" in value or "no-store" in value):
            return False
    return True


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _compressions(headers: list[tuple[str, str]], body: bytes) -> dict[str, bytes]:
    """The body compressed with each coding that makes it smaller; none for other types."""
    content_type = (_header(headers, "content-type") or "").lower()
    if (
        len(body) < MIN_COMPRESS_BYTES
        or _header(headers, "content-encoding") is not None
        or not content_type.startswith(COMPRESSIBLE_TYPES)
    ):
        return {}
    bodies = {
        "br": bytes(brotli.compress(body, quality=BROTLI_QUALITY)),
        "gzip": gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0),
    }
    return {coding: data for coding, data in bodies.items() if len(data) < len(body)}


def _with_vary(headers: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    vary = _header(headers, "vary")
    if vary is None:
        return [*headers, ("Vary", name)]
    if name.lower() in (v.strip().lower() for v in vary.split(",")):
        return headers
    return [(k, f"{v}, {name}" if k.lower() == "vary" else v) for k, v in headers]


def make_page(status: str, headers: list[tuple[str, str]], body: bytes) -> CachedPage:
    """Build the stored form of a response: an ETag from the body, revalidation by default.

    Text is also stored brotli- and gzip-compressed; each representation has its own ETag
    (the identity one with a coding suffix), as RFC 9110 asks of strong validators.
    """
    names = {name.lower() for name, _value in headers}
    etag = next((v for k, v in headers if k.lower() == "etag"), "")
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    if not etag:
        etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
        kept.append(("ETag", etag))
    if "cache-control" not in names:
        # Browsers and proxies may keep the page but must revalidate: a 304 costs a lookup.
        kept.append(("Cache-Control", "no-cache"))
    compressed = _compressions(kept, body)
    encoded: dict[str, Encoded] = {}
    if compressed:
        kept = _with_vary(kept, "Accept-Encoding")
        for coding, data in compressed.items():
            coded_etag = etag[:-1] + f'-{coding}"' if etag.endswith('"') else f"{etag}-{coding}"
            coded_headers = [(k, coded_etag if k.lower() == "etag" else v) for k, v in kept]
            coded_headers += [("Content-Encoding", coding), ("Content-Length", str(len(data)))]
            encoded[coding] = Encoded(coded_headers, data, coded_etag)
    kept.append(("Content-Length", str(len(body))))
    return CachedPage(status=status, headers=kept, body=body, etag=etag, encoded=encoded)


def accepted_codings(header: str) -> list[str]:
    """The codings of :data:`CODINGS` that ``Accept-Encoding`` allows, best first."""
    weights: dict[str, float] = {}
    for item in header.split(","):
        name, _semicolon, parameters = item.strip().partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _equals, value = parameter.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[name.strip().lower()] = quality
    wildcard = weights.get("*", 0.0)
    ranked = [(weights.get(coding, wildcard), -n, coding) for n, coding in enumerate(CODINGS)]
    return [coding for quality, _n, coding in sorted(ranked, reverse=True) if quality > 0]


class PageCacheMiddleware:
    """WSGI middleware answering anonymous GET/HEAD requests for public pages from memory."""

    def __init__(
        self,
        app: Flask,
        downstream: WSGIApp,
        variants: Iterable[str],
        max_bytes: int,
        check_seconds: float,
    ) -> None:
        self.app = app
        self.downstream = downstream
        self.prefixes = VariantPrefixMiddleware(downstream, variants)
        self.has_variants = bool(self.prefixes.variants)
        self.session_cookie = str(app.config.get("SESSION_COOKIE_NAME", "session"))
        self.store = PageStore(max_bytes)
        self.watch = ContentWatch(
            self._read_state, self.store, check_seconds, drop_stale=self._drop_stale
        )
        self._chosen: dict[tuple[str, str, str], str] = {}
        self._rendering: dict[CacheKey, threading.Event] = {}
        self._rendering_lock = threading.Lock()
        self._codings: dict[str, list[str]] = {}
        self.files: PageFiles | None = None
        self.watcher: Watcher | None = None
        #: Told of every lookup ("hit", or "miss" with the render's seconds): the metrics.
        self.observe: Callable[[str, float | None], None] | None = None
        _watches.add(self.watch)

    def close(self) -> None:
        """Stop the page-file watcher thread, if there is one (see :func:`blog.app.close_app`)."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _read_state(self) -> ContentState:
        with self.app.app_context():
            return ContentState(
                queries.content_version(), queries.next_scheduled_publish(), stale_mark()
            )

    def _drop_stale(self, since: int) -> None:
        """Drop the pages under the prefixes marked stale after row ``since``."""
        with self.app.app_context():
            # PATH_INFO holds the URL's UTF-8 bytes decoded as Latin-1 (PEP 3333).
            prefixes = {p.encode("utf-8").decode("latin-1") for p in stale_prefixes_since(since)}
        exact = {p[:-1] for p in prefixes if p.endswith("$")}
        starts = tuple(p for p in prefixes if not p.endswith("$"))

        def stale(key: CacheKey) -> bool:
            _prefix, rest = self.prefixes.split(key[2])
            return rest in exact or rest.startswith(starts)

        dropped = self.store.drop(stale)
        logger.debug("dropped %d stale pages", dropped)

    def _request_variant(self, environ: dict[str, Any]) -> str:
        # The hook reads the request's cookies, Accept-Language and query string; its answer
        # for the same three values is reused so that a hit needs no request object.
        inputs = (
            environ.get("HTTP_COOKIE", ""),
            environ.get("HTTP_ACCEPT_LANGUAGE", ""),
            environ.get("QUERY_STRING", ""),
        )
        chosen = self._chosen.get(inputs)
        if chosen is None:
            plugins: Plugins = self.app.extensions["blog.plugins"]
            request = self.app.request_class(environ, populate_request=False)
            with self.app.app_context():
                chosen = str(plugins.hooks.blog_request_variant(request=request) or "")
            if len(self._chosen) >= MAX_REMEMBERED_CHOICES:
                self._chosen.clear()
            self._chosen[inputs] = chosen
        return chosen

    def key_for(self, environ: dict[str, Any]) -> CacheKey | None:
        """The cache key of ``environ``, or ``None`` when the request must not use the cache."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        cookies = environ.get("HTTP_COOKIE")
        if cookies and _has_cookie(cookies, self.session_cookie):
            return None
        if cookies and COOKIE_PREFIX in cookies:
            return None  # a reader who unlocked a protected post (blog/protected.py)
        path = environ.get("PATH_INFO", "")
        prefix, rest = self.prefixes.split(path)
        if rest.startswith(UNCACHED_PREFIXES):
            return None
        selected = ""
        if prefix is None and self.has_variants:
            selected = self._request_variant(environ)
        return (
            environ.get("HTTP_HOST", ""),
            environ.get("wsgi.url_scheme", "http"),
            path,
            environ.get("QUERY_STRING", ""),
            selected,
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            key = self.key_for(environ)
        except Exception:
            logger.exception("cannot compute the page cache key; passing the request through")
            key = None
        generation = self.watch.current_generation() if key is not None else None
        if key is None or generation is None:
            return self.downstream(environ, start_response)
        head = environ["REQUEST_METHOD"] == "HEAD"
        page = self.store.get(key)
        claimed = False
        if page is None:
            # Concurrent misses for one page (every reader right after a change) wait for
            # the first one's render instead of rendering the same page on every thread.
            with self._rendering_lock:
                pending = self._rendering.get(key)
                if pending is None:
                    self._rendering[key] = threading.Event()
                    claimed = True
            if pending is not None and pending.wait(RENDER_WAIT_SECONDS):
                page = self.store.get(key)
        if page is None:
            environ["REQUEST_METHOD"] = "GET"
            try:
                started = time.perf_counter()
                status, headers, body = self._render(environ)
                if self.observe is not None:
                    self.observe("miss", time.perf_counter() - started)
                if not _storable(status, headers):
                    start_response(status, headers)
                    return [] if head else [body]
                page = make_page(status, headers, body)
                if self.store.put(key, page, generation) and self.files is not None:
                    self._write_file(key, page, generation)
            finally:
                if claimed:
                    with self._rendering_lock:
                        self._rendering.pop(key).set()
        elif self.observe is not None:
            self.observe("hit", None)
        return self._answer(page, environ, start_response, head, self._coding(environ, page))

    def _write_file(self, key: CacheKey, page: CachedPage, generation: int) -> None:
        assert self.files is not None
        path, query = key[2], key[3]
        prefixed = self.prefixes.split(path)[0] is not None or not self.has_variants
        if self.files.wanted(path, query, _header(page.headers, "content-type") or "", prefixed):
            bodies = {"": page.body, **{c: e.body for c, e in page.encoded.items()}}
            self.files.write(path, generation, bodies)

    def _coding(self, environ: dict[str, Any], page: CachedPage) -> str | None:
        header = environ.get("HTTP_ACCEPT_ENCODING")
        if not header or not page.encoded:
            return None
        codings = self._codings.get(header)
        if codings is None:
            codings = accepted_codings(header)
            if len(self._codings) >= MAX_REMEMBERED_ENCODINGS:
                self._codings.clear()
            self._codings[header] = codings
        return next((coding for coding in codings if coding in page.encoded), None)

    def _render(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        result = self.downstream(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured["status"], list(captured["headers"]), body

    @staticmethod
    def _answer(
        page: CachedPage,
        environ: dict[str, Any],
        start_response: StartResponse,
        head: bool,
        coding: str | None = None,
    ) -> Iterable[bytes]:
        chosen = page.encoded[coding] if coding else page
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and _etag_matches(if_none_match, chosen.etag):
            start_response(
                "304 Not Modified",
                [(k, v) for k, v in chosen.headers if k.lower() in NOT_MODIFIED_HEADERS],
            )
            return []
        start_response(page.status, chosen.headers)
        return [] if head else [chosen.body]


def mark_pages_stale(prefixes: Iterable[str]) -> None:
    """Mark cached pages stale in every process, within the caller's transaction.

    Each prefix is a path without variant prefix: ``/posts/slug/`` covers that page, its
    query strings and the URLs below it; a trailing ``$`` means exactly that path (``/$``
    for the home page). Rows older than :data:`STALE_ROWS_KEPT` are pruned.
    """
    now = utcnow()
    db.session.execute(delete(StalePage).where(StalePage.created_at < now - STALE_ROWS_KEPT))
    db.session.add_all(StalePage(prefix=prefix[:400], created_at=now) for prefix in prefixes)
    db.session.flush()


def stale_mark() -> int:
    return int(db.session.scalar(select(func.max(StalePage.id))) or 0)


def stale_prefixes_since(since: int) -> set[str]:
    return set(db.session.scalars(select(StalePage.prefix).where(StalePage.id > since)))


def install_page_cache(app: Flask, wsgi_app: WSGIApp, variants: Iterable[str]) -> WSGIApp:
    """Wrap ``wsgi_app`` (the variant-prefix stack) in the page cache unless it is disabled."""
    max_bytes = int(app.config["PAGE_CACHE_BYTES"])
    if max_bytes <= 0:
        return wsgi_app
    check_seconds = max(0.0, float(app.config["PAGE_CACHE_CHECK_MS"]) / 1000)
    cache = PageCacheMiddleware(app, wsgi_app, variants, max_bytes, check_seconds)
    app.extensions["blog.page_cache"] = cache
    folder = str(app.config["PAGE_CACHE_FILES"])
    if folder:
        files = PageFiles(Path(app.instance_path) / folder)
        files.generation = cache.store.generation
        cache.files = files
        cache.store.listeners.append(files.new_generation)
        cache.watcher = Watcher(cache.watch.current_generation, check_seconds)
        cache.watch.wake = cache.watcher.wake
    return cache
