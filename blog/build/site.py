"""Assemble the static site: pages, search indexes, static files and uploads."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from blog.admin.uploads import NAME_PATTERN, uploads_folder
from blog.assets import Assets
from blog.build import search_index
from blog.build.collection import fewer_full_collections
from blog.build.fetch import Fetcher, LocalFetcher, PoolFetcher, build_app, workers_for
from blog.build.output import (
    SiteWriter,
    WriteReport,
    check_out_folder,
    read_previous,
    update_site,
    write_site,
)
from blog.build.pages import (
    Crawl,
    Fetched,
    Publishing,
    RenderedPage,
    crawl,
    finish_page,
    render_again,
)
from blog.build.paths import BuildError, case_collisions, output_path
from blog.build.plan import (
    BuildState,
    RenderPlan,
    Snapshot,
    changed_posts,
    dependencies,
    pages_to_render,
    plan_render,
    snapshot,
)
from blog.config import ConfigError, load_config


@dataclass
class BuildReport:
    """What a build did: files written, kept and removed, links that led nowhere."""

    out: Path
    pages: int = 0
    #: Pages rendered by this build; the others were carried over unchanged.
    rendered: int = 0
    files: int = 0
    seconds: float = 0.0
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    broken: dict[str, set[str]] = field(default_factory=dict)


def normalize_base_url(base_url: str | None, configured: str) -> tuple[str, str]:
    """``(site_url, base_path)``: the absolute site URL without a trailing slash and its path."""
    chosen = (base_url or configured or "").strip()
    if not chosen:
        return "", ""
    parts = urlsplit(chosen)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BuildError(f"--base-url {chosen!r}: give an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise BuildError(f"--base-url {chosen!r}: must not have a query or fragment")
    site_url = chosen.rstrip("/")
    return site_url, parts.path.rstrip("/")


def seeds(prefixes: list[str]) -> list[str]:
    start = ["/sitemap.xml", "/robots.txt"]
    for prefix in prefixes:
        start += [f"{prefix}/", f"{prefix}/archive/", f"{prefix}/search", f"{prefix}/feed.xml"]
    return start


#: Below this many public posts the pages render in this process by default: a process
#: pool takes longer to start than a small site or an incremental build takes to render.
MIN_POSTS_FOR_POOL = 50
#: An incremental build renders fewer pages than this in its own process by default.
MIN_PAGES_FOR_POOL = 300
#: Static files of private areas, never referenced by a public page.
PRIVATE_STATIC = ("/static/admin/",)


def _static_files(assets: Assets) -> dict[str, Path]:
    return {url: path for url, path in assets.files.items() if not url.startswith(PRIVATE_STATIC)}


def _upload_files(app: Flask) -> dict[str, Path]:
    with app.app_context():
        folder = uploads_folder()
    if not folder.is_dir():
        return {}
    found = {}
    for entry in sorted(folder.iterdir()):
        # Only names the app itself would serve: no dot-files, no paths, no symlinks out.
        if entry.is_file() and not entry.is_symlink() and NAME_PATTERN.fullmatch(entry.name):
            found[f"/uploads/{entry.name}"] = entry
    return found


def _plan(
    app: Flask, out: Path, site_url: str, prefixes: list[str], full: bool
) -> tuple[Snapshot, BuildState | None, dict[str, str], dict[str, dict[str, Any]]]:
    """``(now, previous state, previous files, previous search indexes)``.

    The previous state is ``None`` when the whole site must be rendered: ``full`` asked for,
    no usable earlier build in ``out``, or one of its files or search indexes unreadable.
    """
    with app.app_context():
        now = snapshot(app, site_url)
    files, state = read_previous(out) if out.is_dir() else ({}, {})
    previous = BuildState.from_json(state) if state and not full else None
    indexes: dict[str, dict[str, Any]] = {}
    if previous is None:
        return now, None, files, indexes
    for path in previous.pages:
        try:
            relative = str(output_path(path))
        except BuildError:
            return now, None, files, indexes
        if relative not in files or not (out / relative).is_file():
            return now, None, files, indexes
    if not changed_posts(previous, now):
        # Nothing a search index holds changed: the indexes are carried over like the
        # pages, so they are only checked to be there.
        for prefix in prefixes:
            if not (out / prefix.lstrip("/") / search_index.INDEX_NAME).is_file():
                return now, None, files, indexes
        return now, previous, files, indexes
    for prefix in prefixes:
        try:
            data = (out / prefix.lstrip("/") / search_index.INDEX_NAME).read_bytes()
        except OSError:
            return now, None, files, indexes
        # Tokens and character map are the same in every variant: parsed from the first.
        if not prefix:
            document = search_index.read_index(data)
        else:
            docs = search_index.read_docs(data)
            document = None if docs is None else {"docs": docs}
        if document is None:
            return now, None, files, indexes
        indexes[prefix] = document
    return now, previous, files, indexes


def _render_planned(
    fetch: Fetcher[Fetched],
    plan: RenderPlan,
    prefixes: list[str],
    site_url: str,
    unchanged: Callable[[RenderedPage], bool],
) -> Crawl:
    """Render ``plan.first``, then the variants of each first-pass page that changed."""
    crawled = render_again(fetch, plan.first, prefixes, site_url)
    following = [
        path
        for base, others in plan.waiting.items()
        if base not in crawled.pages or not unchanged(crawled.pages[base])
        for path in others
    ]
    if following:
        more = render_again(fetch, following, prefixes, site_url)
        crawled.pages.update(more.pages)
        crawled.links.update(more.links)
        crawled.assets.update(more.assets)
        for path, referrers in more.broken.items():
            crawled.broken.setdefault(path, set()).update(referrers)
    return crawled


def _render(
    fetch: Fetcher[Fetched],
    prefixes: list[str],
    site_url: str,
    previous: BuildState | None,
    plan: RenderPlan | None,
    unchanged: Callable[[RenderedPage], bool],
    on_page: Callable[[RenderedPage], None] | None = None,
) -> tuple[Crawl, list[str] | None]:
    """Render what must be rendered: ``(pages, paths carried over)``; ``None``: rendered all.

    ``on_page`` is given each page of a full crawl as it comes (see :func:`crawl`).
    """
    if previous is not None and plan is not None:
        crawled = _render_planned(fetch, plan, prefixes, site_url, unchanged)
        known = set(previous.pages)
        new_links = any(link not in known for links in crawled.links.values() for link in links)
        # A page that vanished or a link to a page the last build did not have: the set of
        # pages changed, which only a full crawl finds (and reports).
        if not crawled.broken and not new_links:
            return crawled, [path for path in previous.pages if path not in crawled.pages]
    return crawl(fetch, seeds(prefixes), prefixes, site_url, on_page), None


def _add_search_indexes(
    app: Flask,
    now: Snapshot,
    previous: BuildState | None,
    indexes: dict[str, dict[str, Any]],
    page_html: dict[str, str],
    page_characters: list[str],
    made: tuple[list[int], dict[str, list[int]]] | None,
    prefixes: list[str],
    add: Callable[[str, bytes], None],
) -> None:
    """Add each variant's search index: made anew, or ``indexes`` updated for what changed.

    ``previous`` is ``None`` for a full build; otherwise only the changed posts are
    tokenized again. ``page_html`` holds the post pages this build rendered,
    ``page_characters`` the distinct characters of each HTML page it rendered, and
    ``made`` the ids and postings of the public posts if a worker already tokenized them
    (:func:`blog.build.search_index.public_postings`).
    """
    with app.app_context():
        posts = search_index.public_posts(light=previous is not None or made is not None)
        if previous is None:
            if made is not None and made[0] == [post.id for post in posts]:
                tokens = made[1]
            else:
                # No worker did it, or the posts changed since it did (a post published
                # during the build): tokenized here, from the posts the docs list.
                tokens = search_index.postings(posts)
            characters = search_index.character_map(page_characters)
        else:
            edited = changed_posts(previous, now)
            changed = {number for number, post in enumerate(posts) if post.id in edited}
            first = indexes[""]
            tokens = search_index.updated_postings(first["tokens"], posts, changed)
            characters = {**first["map"], **search_index.character_map(page_characters)}
            characters = dict(sorted(characters.items()))
        shared = search_index.shared_parts(tokens, characters)
        for prefix in prefixes:
            pages = {
                path[len(prefix) + 1 :]: text
                for path, text in page_html.items()
                if path.startswith(prefix + "/posts/")
            }
            earlier = indexes[prefix]["docs"] if previous is not None else None
            document = search_index.index_document(posts, shared, pages, earlier)
            add(f"{prefix}/{search_index.INDEX_NAME}", document)


@fewer_full_collections
def build_site(
    instance: Path,
    out: Path,
    base_url: str | None = None,
    full: bool = False,
    workers: int | None = None,
) -> BuildReport:
    """Build the public site of ``instance`` into ``out``; bad input raises BuildError.

    Only pages that show a changed post are rendered again when ``out`` holds an earlier
    build of the same site shape (see :mod:`blog.build.plan`); ``full`` renders every page.
    Pages are rendered by ``workers`` processes; by default one per core for a full build
    of :data:`MIN_POSTS_FOR_POOL` posts or more, or an incremental one of
    :data:`MIN_PAGES_FOR_POOL` pages or more, else in this process.
    """
    started = time.perf_counter()
    check_out_folder(out, instance)
    try:
        settings = load_config(instance.resolve())[0]
    except ConfigError as error:
        raise BuildError(str(error)) from None
    site_url, base_path = normalize_base_url(base_url, str(settings.get("SITE_URL") or ""))
    app = build_app(instance, site_url)
    variants: list[str] = list(app.extensions["blog.variants"])
    prefixes = ["", *(f"/{v}" for v in variants)]
    now, previous, previous_files, indexes = _plan(app, out, site_url, prefixes, full)
    publishing = Publishing(site_url, tuple(prefixes), base_path, previous_files)
    count = workers_for(workers)
    again = None if previous is None else pages_to_render(previous, now, prefixes)
    plan = None
    if previous is not None and again is not None:
        plan = plan_render(again, changed_posts(previous, now), prefixes, now)
    # Asked for, or enough pages for the pool to pay for its start (each worker builds the
    # app: seconds of CPU, more than a typical edit's pages take to render here).
    enough = (
        len(now.posts) >= MIN_POSTS_FOR_POOL
        if plan is None
        else len(plan.first) >= MIN_PAGES_FOR_POOL
    )
    pooled = count > 1 and (workers is not None or enough)

    def unchanged(page: RenderedPage) -> bool:
        return previous_files.get(str(output_path(page.path))) == page.digest

    # When every page is rendered (no earlier build, or one of another site shape), each is
    # written into the new site's temporary folder as soon as it comes, while the others
    # render; a rebuild that renders a few pages collects them first (update_site).
    whole = previous is None or plan is None
    writer = SiteWriter(out) if whole else None

    files: dict[PurePosixPath, bytes] = {}
    kept: dict[PurePosixPath, str] = {}
    sources: dict[PurePosixPath, str] = {}
    digests: dict[PurePosixPath, str] = {}
    compressed: dict[PurePosixPath, tuple[bytes, bytes]] = {}
    #: Every file added, in the order added (the bytes are in ``files`` or already written).
    names: dict[PurePosixPath, None] = {}
    problems: list[str] = []

    def add(url_path: str, data: bytes, page: RenderedPage | None = None) -> None:
        try:
            relative = output_path(url_path)
        except BuildError as error:
            problems.append(str(error))
            return
        names[relative] = None
        sources[relative] = url_path
        if writer is not None:
            writer.add(
                relative, data, page.digest if page else None, page.compressed if page else None
            )
            return
        files[relative] = data
        if page is not None:
            digests[relative] = page.digest
            if page.compressed is not None:
                compressed[relative] = page.compressed

    try:
        # Each page's links, rewriting, hash and compression are done where it is rendered.
        finish = functools.partial(finish_page, publishing)
        fetch: Fetcher[Fetched] = (
            PoolFetcher(app, instance, site_url, count, finish)
            if pooled
            else LocalFetcher(app, site_url, finish)
        )
        made = None
        try:
            # A full build tokenizes every post for the search indexes: on a worker, while
            # the others render pages (queued first, so it never finishes last).
            tokenized: Future[tuple[list[int], dict[str, list[int]]]] | None = (
                fetch.run(search_index.public_postings) if whole else None
            )
            crawled, carried = _render(
                fetch,
                prefixes,
                site_url,
                previous,
                plan,
                unchanged,
                None if writer is None else lambda page: add(page.path, page.published, page),
            )
            if tokenized is not None:
                made = tokenized.result()
        finally:
            fetch.close()

        state = BuildState(shape=now.shape, posts=now.posts, cards=now.cards, related=now.related)
        if carried is not None:
            assert previous is not None
            for path in carried:
                relative = output_path(path)
                kept[relative] = previous_files[str(relative)]
                sources[relative] = path
                state.pages[path] = previous.pages[path]
                state.listed[path] = previous.listed.get(path, [])
                state.types[path] = previous.types[path]
        page_html: dict[str, str] = {}
        page_characters: list[str] = []
        post_pages = tuple(f"{prefix}/posts/" for prefix in prefixes)
        for path, page in crawled.pages.items():
            state.types[path] = page.content_type
            state.pages[path], state.listed[path] = dependencies(
                path,
                crawled.links.get(path, ()),
                prefixes,
                now.paths,
                html=page.content_type == "text/html",
                loaded=page.shown,
            )
            if page.content_type == "text/html":
                page_characters.append(page.characters)
                if path.startswith(post_pages):
                    page_html[path] = page.body.decode("utf-8")
            if writer is None:
                add(path, page.published, page)

        if carried is not None and not indexes:
            # No post changed (see _plan): every variant's search index is as it was.
            for prefix in prefixes:
                relative = output_path(f"{prefix}/{search_index.INDEX_NAME}")
                kept[relative] = previous_files[str(relative)]
                sources[relative] = f"{prefix}/{search_index.INDEX_NAME}"
        else:
            _add_search_indexes(
                app,
                now,
                previous if carried is not None else None,
                indexes,
                page_html,
                page_characters,
                made,
                prefixes,
                add,
            )

        copied = {**_static_files(app.extensions["blog.assets"]), **_upload_files(app)}
        for url_path, source in copied.items():
            add(url_path, source.read_bytes())

        missing = sorted(
            asset
            for asset in crawled.assets
            if asset not in copied and asset.startswith("/static/")
        )
        for asset in missing:
            crawled.broken.setdefault(asset, set()).add("(a built page)")
        for first_path, second_path in case_collisions([*names, *kept]):
            first, second = sources[PurePosixPath(first_path)], sources[PurePosixPath(second_path)]
            problems.append(
                f"{first} and {second} would be the same file on a case-insensitive file "
                "system (macOS, Windows); rename one"
            )
        if problems:
            raise BuildError("the site cannot be built:\n  " + "\n  ".join(problems))

        if writer is not None:
            written: WriteReport = writer.finish(kept, state.to_json())
        elif carried is None:
            written = write_site(
                out, files, kept, state.to_json(), digests=digests, compressed=compressed
            )
        else:
            written = update_site(
                out, files, kept, state.to_json(), digests=digests, compressed=compressed
            )
        return BuildReport(
            out=out.resolve(),
            pages=len(crawled.pages) + len(carried or ()),
            rendered=len(crawled.pages),
            files=len(names) + len(kept),
            seconds=time.perf_counter() - started,
            written=written.written,
            unchanged=written.unchanged,
            removed=written.removed,
            broken=crawled.broken,
        )
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
