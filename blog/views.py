"""Public pages: request -> stored post data -> theme template. Nothing is rendered here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from blog import protected, queries
from blog.build import STATIC_SITE_KEY
from blog.models import Post, Redirect, db
from blog.plugins import Plugins

logger = logging.getLogger("blog.views")
public = Blueprint("public", __name__)


def render_page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a theme template with the site, variant and plugin-contributed context."""
    plugins: Plugins = current_app.extensions["blog.plugins"]
    config = current_app.config
    page_context: dict[str, Any] = {
        "site": {
            "title": config["SITE_TITLE"],
            "description": config["SITE_DESCRIPTION"],
            "url": config["SITE_URL"] or request.host_url.rstrip("/"),
            "author": config["SITE_AUTHOR"],
        },
        "html_lang": config["LANGUAGE"],
        "variant": g.get("variant"),
        "variants": current_app.extensions["blog.variants"],
        "head_assets": [
            url for urls in plugins.hooks.blog_head_assets(request=request) for url in urls
        ],
        "template_name": template,
        "has_links_page": queries.has_links(),
    }
    page_context.update(context)
    for extra in plugins.hooks.blog_template_context(request=request, template=template):
        page_context.update(extra)
    return render_template(template, **page_context), status


def pagination_urls(page: queries.Page, url_for_page: Callable[[int], str]) -> dict[str, Any]:
    """URLs a theme needs to draw numbered pagination for ``page``."""
    window = range(max(1, page.number - 3), min(page.count, page.number + 3) + 1)
    return {
        "page": page,
        "prev_url": url_for_page(page.number - 1) if page.has_prev else None,
        "next_url": url_for_page(page.number + 1) if page.has_next else None,
        "page_urls": [(n, url_for_page(n)) for n in window],
        "first_url": url_for_page(1),
        "last_url": url_for_page(page.count),
    }


def _per_page() -> int:
    return max(1, int(current_app.config["POSTS_PER_PAGE"]))


@public.route("/")
@public.route("/page/<int:number>/")
def index(number: int = 1) -> tuple[str, int]:
    page = queries.listing_page(number, _per_page())
    if page is None:
        abort(404)

    def url_for_page(n: int) -> str:
        return url_for("public.index") if n == 1 else url_for("public.index", number=n)

    # Pinned posts head the first page only, each shown once; the numbered pages below keep
    # their plain date order, so page boundaries (and old links to page n) never move.
    pinned = queries.pinned_posts() if number == 1 else []
    pinned_ids = {p.id for p in pinned}
    return render_page(
        "index.html",
        posts=[p for p in page.posts if p.id not in pinned_ids],
        pinned_posts=pinned,
        **pagination_urls(page, url_for_page),
    )


def _moved(slug: str, kind: str) -> Response:
    """301 to a renamed post's current URL, or 404 when ``slug`` never belonged to one."""
    target = queries.redirect_target(slug, kind)
    if target is None:
        abort(404)
    endpoint = "public.standalone_page" if kind == "page" else "public.post"
    return redirect(url_for(endpoint, slug=target.slug), 301)


def _protected_answer(found: Post) -> Response | None:
    """For a protected post: the locked page, or ``None`` when this reader unlocked it."""
    if not found.is_protected:
        return None
    if request.environ.get(STATIC_SITE_KEY):
        abort(404)  # a static copy cannot check a password: the post is left out
    if not protected.is_unlocked(found):
        return protected.locked_page(found)
    return None


def _post_page(found: Post, **context: Any) -> tuple[str, int] | Response:
    locked = _protected_answer(found)
    if locked is not None:
        return locked
    # Past the lock, the reader has the body: its length (reading time) is no secret now.
    body, status = render_page("post.html", post=found, body_unlocked=True, **context)
    if found.is_protected:
        return protected.unlocked_headers(Response(body, status=status, mimetype="text/html"))
    return body, status


@public.route("/posts/<slug>/")
def post(slug: str) -> tuple[str, int] | Response:
    found = queries.find_public(slug)
    if found is None:
        return _moved(slug, "post")
    # The static build leaves protected posts out, so its pages must not link to them.
    static = bool(request.environ.get(STATIC_SITE_KEY))
    around = queries.surroundings(found, open_only=static)
    related = around.related
    return _post_page(
        found,
        prev_post=around.older,
        next_post=around.newer,
        series=queries.series_place(found),
        related_posts=[p for p in related if not p.is_protected] if static else related,
    )


@public.route("/series/<name>/")
def series(name: str) -> tuple[str, int]:
    parts = queries.series_parts(name)
    if not parts:
        abort(404)
    return render_page("series.html", series_name=name, posts=parts)


@public.route("/pages/<slug>/")
def standalone_page(slug: str) -> tuple[str, int] | Response:
    found = queries.find_public(slug, kind="page")
    if found is None:
        return _moved(slug, "page")
    return _post_page(found, prev_post=None, next_post=None)


def _listing(kind: str, name: str, number: int) -> tuple[str, int]:
    subject = queries.category_named(name) if kind == "category" else queries.tag_named(name)
    if subject is None:
        abort(404)
    filters = {"category": subject} if kind == "category" else {"tag": subject}
    page = queries.listing_page(number, _per_page(), **filters)
    if page is None:
        abort(404)
    endpoint = f"public.{kind}"

    def url_for_page(n: int) -> str:
        return url_for(endpoint, name=name) if n == 1 else url_for(endpoint, name=name, number=n)

    return render_page(
        "listing.html",
        posts=page.posts,
        listing_kind=kind,
        listing_name=subject.name,
        **pagination_urls(page, url_for_page),
    )


@public.route("/categories/<name>/")
@public.route("/categories/<name>/page/<int:number>/")
def category(name: str, number: int = 1) -> tuple[str, int]:
    return _listing("category", name, number)


@public.route("/tags/<name>/")
@public.route("/tags/<name>/page/<int:number>/")
def tag(name: str, number: int = 1) -> tuple[str, int]:
    return _listing("tag", name, number)


@public.route("/links/")
def links() -> tuple[str, int]:
    entries = queries.links()
    if not entries:
        abort(404)
    return render_page("links.html", links=entries)


@public.route("/archive/")
def archive() -> tuple[str, int]:
    return render_page("archive.html", archive=queries.archive())


#: How many of a request's query arguments are tried one by one against the redirect table.
MAX_REDIRECT_ARGUMENTS = 5


def _query_candidates(args: MultiDict[str, str]) -> list[str]:
    """``k=v&…`` forms of a query to look up: all of it, then each argument alone, so
    ``?p=123&utm_source=x`` still finds the row for ``?p=123``. Values are decoded, as
    paths are in the table."""
    pairs = [(key, value) for key, value in args.items(multi=True)][:MAX_REDIRECT_ARGUMENTS]
    if not pairs:
        return []
    forms = ["&".join(f"{key}={value}" for key, value in pairs)]
    forms.extend(f"{key}={value}" for key, value in pairs)
    return list(dict.fromkeys(forms))


def stored_redirect(
    path: str, args: MultiDict[str, str] | None = None, *, with_path_alone: bool = True
) -> str | None:
    """The new URL for an old one recorded by ``blog import`` or in the admin, if any.

    An old URL may carry its identity in the query (WordPress's ``/?p=123``,
    ``/?page_id=2``, ``/?cat=5``, ``/?tag=x``): rows whose path has a ``?`` are matched
    against the request's arguments first, then (``with_path_alone``) the path alone.
    """
    bases = [path, path.removesuffix("index.html"), path.rstrip("/") + "/", path.rstrip("/")]
    bases = list(dict.fromkeys(b for b in bases if b))
    queries = _query_candidates(args) if args else []
    candidates = [f"{base}?{query}" for query in queries for base in bases]
    if with_path_alone:
        candidates.extend(bases)
    if not candidates:
        return None
    try:
        rows = {
            row.old_path: row.target
            for row in db.session.scalars(select(Redirect).where(Redirect.old_path.in_(candidates)))
        }
    except SQLAlchemyError:
        db.session.rollback()
        return None  # a database without the table yet: a plain 404
    for candidate in candidates:
        if candidate in rows:
            return quote(rows[candidate], safe="/:?=&#%~+-._")
    return None


def redirect_old_query() -> Response | None:
    """Answer an old query-string URL (``/?p=123``) with its stored 301 before the page it
    names by path alone (the home page) is served."""
    if request.method not in ("GET", "HEAD") or not request.args:
        return None
    moved = stored_redirect(request.path, request.args, with_path_alone=False)
    return redirect(moved, 301) if moved is not None else None


def database_unavailable(error: OperationalError | InterfaceError) -> Response:
    """Answer 503 when the database cannot be reached (the app's handler; the admin's too)."""
    # The database machine is away (or SQLite stayed locked past its busy timeout):
    # nothing was written, the request can be retried, and a traceback per request
    # while it lasts would only bury the one line an operator needs.
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.remove()
    logger.warning("database unavailable: %s", str(error.orig).strip().splitlines()[0])
    response = Response(
        "503 Service Unavailable: the database cannot be reached; nothing was changed. "
        "Please retry in a moment.\n",
        status=503,
        mimetype="text/plain",
    )
    response.headers["Retry-After"] = "5"
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_pages(app: Flask) -> None:
    """Serve themed 404 and 500 pages; a failing theme falls back to plain text."""

    @app.errorhandler(404)
    def not_found(_error: HTTPException) -> tuple[str, int] | Response:
        moved = stored_redirect(request.path, request.args)
        if moved is not None:
            return redirect(moved, 301)
        return render_page("404.html", status=404)

    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        try:
            return render_page("500.html", status=500)
        except Exception:
            logger.exception("the theme's 500 page failed")
            return "500 Internal Server Error", 500
