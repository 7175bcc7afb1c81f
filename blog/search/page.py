"""The ``/search`` page."""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for

from blog.queries import Page
from blog.search.query import search
from blog.views import pagination_urls, render_page

pages = Blueprint("search", __name__)


@pages.route("/search")
def search_page() -> tuple[str, int]:
    query = request.args.get("q", "")
    number = request.args.get("page", 1, type=int) or 1
    per_page = max(1, int(current_app.config["POSTS_PER_PAGE"]))
    outcome = search(query, number, per_page)

    def url_for_page(n: int) -> str:
        return url_for("search.search_page", q=outcome.query, page=n if n > 1 else None)

    page = Page(outcome.number, outcome.count, outcome.total)
    return render_page(
        "search.html",
        query=outcome.query,
        results=outcome.results,
        message=outcome.message,
        total=outcome.total,
        **pagination_urls(page, url_for_page),
    )
