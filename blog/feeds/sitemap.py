"""The sitemap (every public page in every variant) and robots.txt."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import Response, current_app
from jinja2 import Environment
from sqlalchemy import func, select

from blog import queries
from blog.feeds.blueprint import feeds
from blog.feeds.urls import absolute_url, hreflang, site_path, w3c_datetime
from blog.models import Category, Post, Tag, db, post_categories, post_tags

_templates = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
SITEMAP_TEMPLATE = _templates.from_string(
    """<?xml version="1.0" encoding="utf-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" \
xmlns:xhtml="http://www.w3.org/1999/xhtml">
{% for page in pages %}
<url>
<loc>{{ page.loc }}</loc>
{% if page.lastmod %}
<lastmod>{{ page.lastmod }}</lastmod>
{% endif %}
{% for hreflang, href in page.alternates %}
<xhtml:link rel="alternate" hreflang="{{ hreflang }}" href="{{ href }}"/>
{% endfor %}
</url>
{% endfor %}
</urlset>
"""
)


def _sitemap_page(path: str, lastmod: datetime | None) -> dict[str, Any]:
    variants: list[str] = current_app.extensions["blog.variants"]
    alternates = [("x-default", absolute_url(path))]
    alternates += [(hreflang(v), absolute_url(path, v)) for v in variants]
    return {
        "loc": absolute_url(path),
        "lastmod": w3c_datetime(lastmod) if lastmod else None,
        "alternates": alternates if variants else [],
    }


def _listing_pages(
    endpoint: str, count: int, lastmod: datetime | None, **values: Any
) -> Iterable[dict[str, Any]]:
    per_page = max(1, int(current_app.config["POSTS_PER_PAGE"]))
    for number in range(1, max(1, math.ceil(count / per_page)) + 1):
        extra = {"number": number} if number > 1 else {}
        yield _sitemap_page(site_path(endpoint, **values, **extra), lastmod)


def sitemap_pages() -> list[dict[str, Any]]:
    """Every public post and standalone page, and every page of every listing."""
    public_posts = select(Post.id, Post.updated_at, Post.category_id).where(
        queries.public_condition()
    )
    rows = db.session.execute(public_posts).all()
    newest = max((row.updated_at for row in rows), default=None)
    pages = list(_listing_pages("public.index", len(rows), newest))
    pages.append(_sitemap_page(site_path("public.archive"), newest))
    if queries.has_links():
        pages.append(_sitemap_page(site_path("public.links"), None))
    # Protected posts are not offered to search engines (their locked page says nothing).
    posts = db.session.execute(
        select(Post.slug, Post.updated_at)
        .where(queries.public_condition(), Post.password_hash.is_(None))
        .order_by(Post.id)
    ).all()
    pages += [_sitemap_page(site_path("public.post", slug=p.slug), p.updated_at) for p in posts]
    standalone = db.session.execute(
        select(Post.slug, Post.updated_at).where(
            queries.public_condition("page"), Post.password_hash.is_(None)
        )
    ).all()
    pages += [
        _sitemap_page(site_path("public.standalone_page", slug=p.slug), p.updated_at)
        for p in standalone
    ]
    public_ids = select(Post.id).where(queries.public_condition())
    by_category = db.session.execute(
        select(Category.name, func.count(Post.id), func.max(Post.updated_at))
        .join(post_categories, post_categories.c.category_id == Category.id)
        .join(Post, Post.id == post_categories.c.post_id)
        .where(Post.id.in_(public_ids))
        .group_by(Category.name)
        .order_by(Category.name)
    ).all()
    for name, count, lastmod in by_category:
        pages += _listing_pages("public.category", count, lastmod, name=name)
    by_tag = db.session.execute(
        select(Tag.name, func.count(Post.id), func.max(Post.updated_at))
        .join(post_tags, post_tags.c.tag_id == Tag.id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(Post.id.in_(public_ids))
        .group_by(Tag.name)
        .order_by(Tag.name)
    ).all()
    for name, count, lastmod in by_tag:
        pages += _listing_pages("public.tag", count, lastmod, name=name)
    return pages


@feeds.route("/sitemap.xml")
def sitemap() -> Response:
    return Response(SITEMAP_TEMPLATE.render(pages=sitemap_pages()), mimetype="application/xml")


@feeds.route("/robots.txt")
def robots() -> Response:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /search",
        *(f"Disallow: /{variant}/search" for variant in current_app.extensions["blog.variants"]),
        f"Sitemap: {absolute_url('/sitemap.xml')}",
        "",
    ]
    return Response("\n".join(lines), mimetype="text/plain")
