"""Render the public site by requesting it from the real app, the way a reader would.

Pages come from Flask's test client, so a built page is byte for byte what ``blog serve``
answers for an anonymous reader with no cookie and no ``Accept-Language`` (unprefixed pages
are therefore in each post's own script, with the switcher). Starting from the home page,
the archive, the search page, the feeds and every URL of the sitemap in every variant, the
crawler follows each internal link it finds, so a page that is linked is a page that is
written, and a link that leads nowhere is reported. Drafts, scheduled posts and anything
else the views do not show publicly answer 404 and are never written.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from blog.build.fetch import Fetcher
from blog.build.paths import FOLDER_PAGES

#: Attributes whose root-relative URLs are followed and, for a sub-path site, rewritten.
_URL_ATTRIBUTE = re.compile(r'\b(href|src|action|data-search-root)="([^"]*)"')
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


@dataclass
class Crawl:
    """What the crawl produced: pages by URL path, and links that led to no page."""

    pages: dict[str, RenderedPage] = field(default_factory=dict)
    broken: dict[str, set[str]] = field(default_factory=dict)
    assets: set[str] = field(default_factory=set)
    #: Internal page links found on each page (what :mod:`blog.build.plan` maps to posts).
    links: dict[str, list[str]] = field(default_factory=dict)


def split_internal(value: str, site_url: str) -> str | None:
    """The root-relative path of an internal URL (no query or fragment), else ``None``."""
    url = html.unescape(value)
    if site_url and (url == site_url or url.startswith(site_url + "/")):
        url = url[len(site_url) :] or "/"
    if not url.startswith("/") or url.startswith("//"):
        return None
    # One spelling per page: url_for percent-encodes non-ASCII, authors may not.
    return quote(unquote(urlsplit(url).path), safe=SAFE_PATH_CHARACTERS) or "/"


def links_in(body: str, site_url: str) -> Iterable[str]:
    values = [value for _attribute, value in _URL_ATTRIBUTE.findall(body)]
    values += _SITEMAP_LOC.findall(body)
    for value in values:
        path = split_internal(value, site_url)
        if path is not None:
            yield path


def crawl(fetch: Fetcher, seeds: Iterable[str], prefixes: list[str], site_url: str) -> Crawl:
    """Request every seed and every internal page linked from what was fetched.

    The crawl goes round by round (the seeds, then every new page they link to, and so on),
    and ``fetch`` answers a whole round at once, so the pages of a round can be rendered in
    parallel (:mod:`blog.build.fetch`).
    """
    result = Crawl()
    seen = set(seeds)
    missing_pages = [f"{prefix}{NOT_FOUND_PATH}" for prefix in prefixes]
    seen.update(missing_pages)
    for path, (status, mimetype, body, shown) in zip(
        missing_pages, fetch(missing_pages), strict=True
    ):
        if status == 404 and mimetype == "text/html":
            result.pages[path] = RenderedPage(path, "text/html", body, shown)
            _page_links(result, path, body, prefixes, site_url)
    round_: list[tuple[str, str]] = [(seed, "") for seed in dict.fromkeys(seeds)]
    while round_:
        linked: list[tuple[str, str]] = []
        answers = fetch([path for path, _referrer in round_])
        for (path, referrer), (status, mimetype, body, shown) in zip(round_, answers, strict=True):
            if status == 200 and mimetype in ROUTED_ASSET_TYPES:
                result.pages[path] = RenderedPage(path, mimetype, body, shown)
                if mimetype == "text/css":
                    css = body.decode("utf-8", "replace")
                    linked += ((link, path) for link in _CSS_URL.findall(css))
                continue
            if status != 200 or mimetype not in PAGE_TYPES:
                result.broken.setdefault(path, set()).add(referrer or "(start page)")
                continue
            result.pages[path] = RenderedPage(path, mimetype, body, shown)
            if mimetype != "text/plain":
                links = _page_links(result, path, body, prefixes, site_url)
                linked += ((link, path) for link in links)
        following = []
        for link, referrer in linked:
            if link not in seen:
                seen.add(link)
                following.append((link, referrer))
        round_ = following
    return result


def _page_links(
    result: Crawl, path: str, body: bytes, prefixes: list[str], site_url: str
) -> list[str]:
    """Record the assets and internal page links of a fetched page; return the page links."""
    links = list(links_in(body.decode("utf-8", "replace"), site_url))
    if _LISTING_FIRST_PAGE.search(path):
        links.append(path + "feed.xml")
    pages = []
    for link in links:
        if link.startswith(("/static/", "/uploads/")):
            result.assets.add(link)
        elif not (link.startswith(SKIPPED_PREFIXES) or _under_skipped(link, prefixes)):
            pages.append(link)
    result.links[path] = sorted(set(pages))
    return pages


def render_again(fetch: Fetcher, paths: Sequence[str], prefixes: list[str], site_url: str) -> Crawl:
    """Request exactly ``paths`` (pages of an earlier build), following no link.

    A path that no longer answers 200 with a page type is reported in ``broken``, with
    ``(rebuilt)`` as its referrer.
    """
    result = Crawl()
    for path, (status, mimetype, body, shown) in zip(paths, fetch(paths), strict=True):
        expected = 404 if path.endswith(NOT_FOUND_PATH) else 200
        if status != expected or mimetype not in PAGE_TYPES:
            result.broken.setdefault(path, set()).add("(rebuilt)")
            continue
        result.pages[path] = RenderedPage(path, mimetype, body, shown)
        if mimetype != "text/plain":
            _page_links(result, path, body, prefixes, site_url)
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

    def replace(match: re.Match[str]) -> str:
        attribute, value = match.groups()
        if not value.startswith("/") or value.startswith("//"):
            return match.group(0)
        path, mark, rest = value.partition("?")
        if not mark:
            path, mark, rest = value.partition("#")
        if path in search_paths:
            path += "/"
        return f'{attribute}="{base_path}{path}{mark}{rest}"'

    return _URL_ATTRIBUTE.sub(replace, body)


def search_page_paths(prefixes: list[str]) -> set[str]:
    return {f"{prefix}/{name}" for prefix in prefixes for name in FOLDER_PAGES}
