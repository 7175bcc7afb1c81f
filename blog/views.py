"""Public pages: request -> stored post data -> theme template. Nothing is rendered here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

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
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from blog import queries
from blog.models import db
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

    return render_page("index.html", posts=page.posts, **pagination_urls(page, url_for_page))


def _moved(slug: str, kind: str) -> Response:
    """301 to a renamed post's current URL, or 404 when ``slug`` never belonged to one."""
    target = queries.redirect_target(slug, kind)
    if target is None:
        abort(404)
    endpoint = "public.standalone_page" if kind == "page" else "public.post"
    return redirect(url_for(endpoint, slug=target.slug), 301)


@public.route("/posts/<slug>/")
def post(slug: str) -> tuple[str, int] | Response:
    found = queries.find_public(slug)
    if found is None:
        return _moved(slug, "post")
    older, newer = queries.neighbours(found)
    return render_page(
        "post.html",
        post=found,
        prev_post=older,
        next_post=newer,
        related_posts=queries.related_posts(found),
    )


@public.route("/pages/<slug>/")
def standalone_page(slug: str) -> tuple[str, int] | Response:
    found = queries.find_public(slug, kind="page")
    if found is None:
        return _moved(slug, "page")
    return render_page("post.html", post=found, prev_post=None, next_post=None)


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


@public.route("/archive/")
def archive() -> tuple[str, int]:
    return render_page("archive.html", archive=queries.archive())


def stored_redirect(path: str) -> str | None:
    """The new URL for an old one recorded by ``blog import`` or in the admin, if any."""
    from urllib.parse import quote

    from blog.models import Redirect

    candidates = [path, path.removesuffix("index.html"), path.rstrip("/") + "/", path.rstrip("/")]
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            found = db.session.get(Redirect, candidate)
        except SQLAlchemyError:
            db.session.rollback()
            return None  # a database without the table yet: a plain 404
        if found is not None:
            return quote(found.target, safe="/:?=&#%~+-._")
    return None


def register_error_pages(app: Flask) -> None:
    """Serve themed 404 and 500 pages; a failing theme falls back to plain text."""

    @app.errorhandler(404)
    def not_found(_error: HTTPException) -> tuple[str, int] | Response:
        moved = stored_redirect(request.path)
        if moved is not None:
            return redirect(moved, 301)
        return render_page("404.html", status=404)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: OperationalError | InterfaceError) -> Response:
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

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        try:
            return render_page("500.html", status=500)
        except Exception:
            logger.exception("the theme's 500 page failed")
            return "500 Internal Server Error", 500
