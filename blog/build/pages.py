"""Render the public site by requesting it from the real app, the way a reader would.

Pages come from Flask's test client, so a built page is byte for byte what ``blog serve``
answers for an anonymous reader with no cookie and no ``Accept-Language`` (unprefixed pages
are therefore in each post's own script, with the switcher). Starting from the home page,
the archive, the search page, the feeds and every URL of the sitemap in every variant, the
crawler follows each internal link it finds, so a page that is linked is a page that is
written, and a link that leads nowhere is reported. Drafts, scheduled posts and anything
else the views do not show publicly answer 404 and are never written.

Everything done to one page besides rendering it (finding its links, pointing them below
the sub-path, hashing and compressing the bytes to write) is :func:`finish_page`, which the
fetcher runs where the page was rendered: in the worker processes, side by side. The crawl
keeps every worker busy: it hands out pages as soon as they are found instead of waiting
for a whole round, and still visits them in the order a round-by-round crawl would.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from blog.build.fetch import Answer, Fetcher
from blog.build.output import brotli_bytes, compressible, gzip_bytes
from blog.build.paths import FOLDER_PAGES, BuildError, output_path

#: Attributes whose root-relative URLs are followed and, for a sub-path site, rewritten.
_URL_ATTRIBUTE = re.compile(r'\b(href|src|action|data-search-root)="([^"]*)"')
#: The same without the leading ``\b``, which keeps the regex engine from skipping ahead
#: to the attributes' first letters: three times as fast (see :func:`_attribute_matches`).
_URL_ATTRIBUTE_UNBOUNDED = re.compile(r'(href|src|action|data-search-root)="([^"]*)"')
_WORD_CHARACTER = re.compile(r"\w")
_SITEMAP_LOC = re.compile(r"<loc>([^<]*)</loc>")
#: A listing's first page, whose feed (``feed.xml`` below it) is written too.
_LISTING_FIRST_PAGE = re.compile(r"/(?:categories|tags)/[^/]+/$")
#: Areas that are never part of the static site (private, per-user or copied separately).
SKIPPED_PREFIXES = ("/admin", "/api", "/static/", "/uploads/", "/healthz", "/readyz")
PAGE_TYPES = ("text/html", "application/atom+xml", "application/xml", "text/xml", "text/plain")
#: Files a plugin serves from a route rather than a static folder (the math plugin's
#: stylesheet and font): written as they are; a stylesheet's own ``url(/…)`` are followed.
ROUTED_ASSET_TYPES = ("text/css", "font/otf", "font/woff2", "font/woff", "font/ttf")
_CSS_URL = re.compile(r"""url\(\s*["']?(/[^"')\s]+)""")
#: The URL requested for the themed "not found" page; answered with status 404.
NOT_FOUND_PATH = "/404.html"
#: Characters left unencoded in canonical paths (as werkzeug's url_for leaves them).
SAFE_PATH_CHARACTERS = "/:@!$&'()*+,;=-._~"


@dataclass
class RenderedPage:
    path: str
    content_type: str
    body: bytes
    #: Posts whose body, source or TOC the page loaded (:func:`blog.build.fetch.recording_bodies`).
    shown: frozenset[int] = frozenset()
    #: The bytes written for the page (:func:`published_bytes`), their SHA-256, and their
    #: gzip and brotli siblings when the file gets them (``None`` when its digest is the
    #: previous build's: that build's siblings are carried over).
    published: bytes = b""
    digest: str = ""
    compressed: tuple[bytes, bytes] | None = None
    #: The distinct characters of an HTML page (the search index's character map).
    characters: str = ""


@dataclass(frozen=True)
class Publishing:
    """What :func:`finish_page` needs to know about the site being built."""

    site_url: str
    prefixes: tuple[str, ...]
    #: The sub-path the site is published under (``/blog``), or ``""``.
    base_path: str
    #: Digests of the previous build's files by relative path: a page whose bytes did not
    #: change is not compressed again.
    previous: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def search_paths(self) -> set[str]:
        return search_page_paths(list(self.prefixes))


@dataclass
class Fetched:
    """One answer of the app, finished where it was rendered (:func:`finish_page`)."""

    status: int
    mimetype: str
    body: bytes
    shown: frozenset[int]
    #: Internal page links (in order of appearance) and assets of a page that has links;
    #: the ``url(/…)`` of a routed stylesheet; ``None`` for anything else.
    links: list[str] | None = None
    assets: list[str] = field(default_factory=list)
    published: bytes = b""
    digest: str = ""
    compressed: tuple[bytes, bytes] | None = None
    characters: str = ""

    def page(self, path: str) -> RenderedPage:
        return RenderedPage(
            path,
            self.mimetype,
            self.body,
            self.shown,
            self.published,
            self.digest,
            self.compressed,
            self.characters,
        )


@dataclass
class Crawl:
    """What the crawl produced: pages by URL path, and links that led to no page."""

    pages: dict[str, RenderedPage] = field(default_factory=dict)
    broken: dict[str, set[str]] = field(default_factory=dict)
    assets: set[str] = field(default_factory=set)
    #: Internal page links found on each page (what :mod:`blog.build.plan` maps to posts).
    links: dict[str, list[str]] = field(default_factory=dict)


@functools.lru_cache(maxsize=1 << 16)
def split_internal(value: str, site_url: str) -> str | None:
    """The root-relative path of an internal URL (no query or fragment), else ``None``.

    Cached: every page repeats the same navigation, category and tag links.
    """
    url = html.unescape(value)
    if site_url and (url == site_url or url.startswith(site_url + "/")):
        url = url[len(site_url) :] or "/"
    if not url.startswith("/") or url.startswith("//"):
        return None
    # One spelling per page: url_for percent-encodes non-ASCII, authors may not.
    return quote(unquote(urlsplit(url).path), safe=SAFE_PATH_CHARACTERS) or "/"


def _attribute_matches(body: str) -> list[re.Match[str]]:
    """The matches of :data:`_URL_ATTRIBUTE` in ``body``, found faster.

    The pattern without ``\\b`` finds the same matches whenever each one it finds starts at a
    word boundary: neither pattern can match where the other does not find the same text,
    so both walk the page from match to match alike. Only when an attribute name is glued
    to a word (``xhref="…"``, in a page's text) could they part; then the exact pattern runs.
    """
    found = list(_URL_ATTRIBUTE_UNBOUNDED.finditer(body))
    for match in found:
        start = match.start()
        if start and _WORD_CHARACTER.match(body, start - 1):
            return list(_URL_ATTRIBUTE.finditer(body))
    return found


def links_in(body: str, site_url: str, matches: list[re.Match[str]] | None = None) -> Iterable[str]:
    """The internal links of ``body``; ``matches``: its :func:`_attribute_matches`, if known."""
    found = _attribute_matches(body) if matches is None else matches
    values = [match.group(2) for match in found]
    values += _SITEMAP_LOC.findall(body)
    for value in values:
        path = split_internal(value, site_url)
        if path is not None:
            yield path


def finish_page(publishing: Publishing, path: str, answer: Answer) -> Fetched:
    """Find the links of the page at ``path`` and make the bytes to write for it.

    A module-level function, so that a fetcher's worker processes can run it.
    """
    status, mimetype, body, shown = answer
    fetched = Fetched(status, mimetype, body, shown)
    prefixes = list(publishing.prefixes)
    if status not in (200, 404):
        return fetched  # a link that leads nowhere: nothing is written for it
    if mimetype == "text/html":
        # One scan of the page's attributes serves both its links and their rewriting.
        text = body.decode("utf-8")
        matches = _attribute_matches(text)
        links = links_in(text, publishing.site_url, matches)
        fetched.links, fetched.assets = _classify(path, links, prefixes)
        fetched.characters = "".join(set(text))
        rewritten = _rewritten(text, matches, publishing.base_path, publishing.search_paths)
        fetched.published = rewritten.encode("utf-8")
    elif mimetype in PAGE_TYPES or (status == 200 and mimetype in ROUTED_ASSET_TYPES):
        if mimetype == "text/css":
            fetched.links = _CSS_URL.findall(body.decode("utf-8", "replace"))
        elif mimetype != "text/plain" and mimetype in PAGE_TYPES:
            text = body.decode("utf-8", "replace")
            links = links_in(text, publishing.site_url)
            fetched.links, fetched.assets = _classify(path, links, prefixes)
        fetched.published = published_bytes(
            mimetype, body, publishing.base_path, publishing.search_paths
        )
    else:
        return fetched
    fetched.digest = hashlib.sha256(fetched.published).hexdigest()
    try:
        relative = output_path(path)
    except BuildError:
        return fetched  # reported by the caller, which checks every path
    if publishing.previous.get(str(relative)) != fetched.digest and compressible(
        relative, len(fetched.published)
    ):
        fetched.compressed = (gzip_bytes(fetched.published), brotli_bytes(fetched.published))
    return fetched


def published_bytes(
    content_type: str, body: bytes, base_path: str, search_paths: set[str]
) -> bytes:
    """The bytes written for a page: links pointed below ``base_path``."""
    if content_type == "text/html":
        return rewrite_links(body.decode("utf-8"), base_path, search_paths).encode("utf-8")
    if content_type == "text/css":
        return rewrite_css_urls(body.decode("utf-8"), base_path).encode("utf-8")
    return body


#: Pages per batch handed to a worker: a few hundred milliseconds of rendering, long
#: enough that handing out costs little, short enough that no worker waits long at the end.
CRAWL_BATCH = 12


def crawl(
    fetch: Fetcher[Fetched],
    seeds: Iterable[str],
    prefixes: list[str],
    site_url: str,
    on_page: Callable[[RenderedPage], None] | None = None,
) -> Crawl:
    """Request every seed and every internal page linked from what was fetched.

    Pages are visited breadth first, in the order a round-by-round crawl visits them (the
    seeds, then every new page they link to, and so on), but without waiting for a round
    to end: batches of pages found so far go to the fetcher's workers while answers are
    read back in the order asked, so every worker has pages to render until the end.
    ``on_page`` is called with each page as it is added to the result.
    """
    result = Crawl()
    seen = set(seeds)
    missing_pages = [f"{prefix}{NOT_FOUND_PATH}" for prefix in prefixes]
    seen.update(missing_pages)
    for path, fetched in zip(missing_pages, fetch(missing_pages), strict=True):
        if fetched.status == 404 and fetched.mimetype == "text/html":
            result.pages[path] = fetched.page(path)
            _record_links(result, path, fetched)
            if on_page is not None:
                on_page(result.pages[path])
    waiting: deque[tuple[str, str]] = deque((seed, "") for seed in dict.fromkeys(seeds))
    asked: deque[tuple[list[tuple[str, str]], Future[list[Fetched]]]] = deque()
    # Enough batches in flight that a worker finds the next one ready when it is done.
    in_flight = fetch.workers * 3
    while waiting or asked:
        while waiting and (len(asked) < in_flight or not asked):
            batch = [waiting.popleft() for _ in range(min(CRAWL_BATCH, len(waiting)))]
            asked.append((batch, fetch.submit([path for path, _referrer in batch])))
        batch, answers = asked.popleft()
        for (path, referrer), fetched in zip(batch, answers.result(), strict=True):
            for link in _visit(result, path, referrer, fetched):
                if link not in seen:
                    seen.add(link)
                    waiting.append((link, path))
            if on_page is not None and path in result.pages:
                on_page(result.pages[path])
    return result


def _visit(result: Crawl, path: str, referrer: str, fetched: Fetched) -> list[str]:
    """Record the answer for ``path`` in ``result``; return the links to follow from it."""
    status, mimetype = fetched.status, fetched.mimetype
    if status == 200 and mimetype in ROUTED_ASSET_TYPES:
        result.pages[path] = fetched.page(path)
        return (fetched.links or []) if mimetype == "text/css" else []
    if status != 200 or mimetype not in PAGE_TYPES:
        result.broken.setdefault(path, set()).add(referrer or "(start page)")
        return []
    result.pages[path] = fetched.page(path)
    if mimetype != "text/plain":
        return _record_links(result, path, fetched)
    return []


def _classify(path: str, links: Iterable[str], prefixes: list[str]) -> tuple[list[str], list[str]]:
    """``(page links, assets)`` among the internal ``links`` of the page at ``path``."""
    found = list(links)
    if _LISTING_FIRST_PAGE.search(path):
        found.append(path + "feed.xml")
    pages = []
    assets = []
    for link in found:
        if link.startswith(("/static/", "/uploads/")):
            assets.append(link)
        elif not (link.startswith(SKIPPED_PREFIXES) or _under_skipped(link, prefixes)):
            pages.append(link)
    return pages, assets


def _record_links(result: Crawl, path: str, fetched: Fetched) -> list[str]:
    """Record the assets and internal page links of a fetched page; return the page links."""
    pages = fetched.links or []
    result.assets.update(fetched.assets)
    result.links[path] = sorted(set(pages))
    return pages


def render_again(
    fetch: Fetcher[Fetched], paths: Sequence[str], prefixes: list[str], site_url: str
) -> Crawl:
    """Request exactly ``paths`` (pages of an earlier build), following no link.

    A path that no longer answers 200 with a page type is reported in ``broken``, with
    ``(rebuilt)`` as its referrer.
    """
    result = Crawl()
    for path, fetched in zip(paths, fetch(paths), strict=True):
        expected = 404 if path.endswith(NOT_FOUND_PATH) else 200
        if fetched.status != expected or fetched.mimetype not in PAGE_TYPES:
            result.broken.setdefault(path, set()).add("(rebuilt)")
            continue
        result.pages[path] = fetched.page(path)
        if fetched.mimetype != "text/plain":
            _record_links(result, path, fetched)
    return result


def _under_skipped(path: str, prefixes: list[str]) -> bool:
    for prefix in prefixes:
        if prefix and path.startswith(prefix + "/"):
            return path[len(prefix) :].startswith(SKIPPED_PREFIXES)
    return False


def rewrite_css_urls(css: str, base_path: str) -> str:
    """Point a stylesheet's root-relative ``url(/…)`` below ``base_path``."""
    if not base_path:
        return css
    return _CSS_URL.sub(
        lambda match: match.group(0).replace(match.group(1), base_path + match.group(1)), css
    )


def rewrite_links(body: str, base_path: str, search_paths: set[str]) -> str:
    """Point root-relative links below ``base_path`` and the search page at its folder.

    ``base_path`` is the sub-path the site is published under (``/blog``), or ``""``.
    """
    return _rewritten(body, _attribute_matches(body), base_path, search_paths)


def _rewritten(
    body: str, matches: list[re.Match[str]], base_path: str, search_paths: set[str]
) -> str:
    """:func:`rewrite_links` of ``body`` whose :func:`_attribute_matches` are ``matches``."""
    pieces: list[str] = []
    done = 0
    for match in matches:
        attribute, value = match.groups()
        if not value.startswith("/") or value.startswith("//"):
            continue
        path, mark, rest = value.partition("?")
        if not mark:
            path, mark, rest = value.partition("#")
        if path in search_paths:
            path += "/"
        pieces += (body[done : match.start()], f'{attribute}="{base_path}{path}{mark}{rest}"')
        done = match.end()
    pieces.append(body[done:])
    return "".join(pieces)


def search_page_paths(prefixes: list[str]) -> set[str]:
    return {f"{prefix}/{name}" for prefix in prefixes for name in FOLDER_PAGES}
