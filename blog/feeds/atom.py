"""Atom feeds: the whole site's, and one per category and per tag."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, abort, current_app, g
from jinja2 import Environment
from sqlalchemy import select

from blog import queries
from blog.display import display_text
from blog.feeds.blueprint import feeds
from blog.feeds.urls import current_absolute_url, hreflang, site_root, w3c_datetime
from blog.feeds.xhtml import html_to_xhtml, xml_text
from blog.models import Category, Post, Tag, db, utcnow

FEED_ENTRIES = 20
ATOM_MIMETYPE = "application/atom+xml"

_templates = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
ATOM_TEMPLATE = _templates.from_string(
    """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{{ lang }}">
<id>{{ self_url }}</id>
<title>{{ title }}</title>
{% if subtitle %}
<subtitle>{{ subtitle }}</subtitle>
{% endif %}
<updated>{{ updated }}</updated>
<link rel="self" type="application/atom+xml" href="{{ self_url }}"/>
<link rel="alternate" type="text/html" href="{{ html_url }}"/>
<author><name>{{ author }}</name></author>
<generator>blog-engine</generator>
{% for entry in entries %}
<entry>
<id>{{ entry.id }}</id>
<title>{{ entry.title }}</title>
<link rel="alternate" type="text/html" href="{{ entry.url }}"/>
<published>{{ entry.published }}</published>
<updated>{{ entry.updated }}</updated>
{% for term in entry.categories %}
<category term="{{ term }}"/>
{% endfor %}
{% if entry.series %}
<category term="{{ entry.series.term }}" scheme="{{ entry.series.scheme }}" \
label="{{ entry.series.label }}"/>
{% endif %}
<summary type="text">{{ entry.summary }}</summary>
{% if entry.content is not none %}
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{{ entry.content }}</div></content>
{% endif %}
</entry>
{% endfor %}
</feed>
"""
)


def entry_id(post: Post) -> str:
    """A tag URI (RFC 4151) fixed at creation, so editing a post never changes it."""
    host = urlsplit(site_root()).hostname or "localhost"
    return f"tag:{host},{post.created_at:%Y-%m-%d}:post-{post.id}"


def _feed_posts(category: Category | None = None, tag: Tag | None = None) -> list[Post]:
    listed = queries.listing_query(category=category, tag=tag).with_only_columns(Post.id)
    return list(
        db.session.scalars(
            select(Post)
            # A protected post is never in a feed: a reader cannot unlock it there.
            .where(Post.id.in_(listed), Post.password_hash.is_(None))
            .order_by(Post.published_at.desc(), Post.id.desc())
            .limit(FEED_ENTRIES)
        )
    )


def _series_category(post: Post) -> dict[str, str] | None:
    """The Atom category naming ``post``'s series; its scheme is the series page's URL."""
    if not post.series:
        return None
    name = xml_text(post.series)
    return {
        "term": name,
        "scheme": current_absolute_url("public.series", name=post.series),
        "label": display_text(f"系列：{name}", "title"),
    }


def _feed_response(posts: list[Post], title: str, self_url: str, html_url: str) -> Response:
    config = current_app.config
    full = bool(config["FEED_FULL_CONTENT"])
    root = site_root()
    variant = g.get("variant") if g.get("variant_prefixed") else None
    entries = [
        {
            "id": entry_id(post),
            "title": display_text(xml_text(post.title), "title"),
            "url": current_absolute_url("public.post", slug=post.slug),
            "published": w3c_datetime(post.published_at or post.created_at),
            "updated": w3c_datetime(max(post.updated_at, post.published_at or post.updated_at)),
            "categories": [
                xml_text(name)
                for name in dict.fromkeys(
                    [c.name for c in post.categories] + [t.name for t in post.tags]
                )
            ],
            "series": _series_category(post),
            "summary": display_text(xml_text(post.excerpt), "excerpt"),
            "content": html_to_xhtml(post.body_html, root) if full else None,
        }
        for post in posts
    ]
    updated = max((str(e["updated"]) for e in entries), default=w3c_datetime(utcnow()))
    body = ATOM_TEMPLATE.render(
        lang=hreflang(variant) if variant else config["LANGUAGE"],
        title=display_text(xml_text(title), "title"),
        subtitle=display_text(xml_text(str(config["SITE_DESCRIPTION"])), "description"),
        updated=updated,
        self_url=self_url,
        html_url=html_url,
        author=xml_text(str(config["SITE_AUTHOR"] or config["SITE_TITLE"])),
        entries=entries,
    )
    return Response(body, mimetype=ATOM_MIMETYPE)


@feeds.route("/feed.xml")
def site_feed() -> Response:
    return _feed_response(
        _feed_posts(),
        str(current_app.config["SITE_TITLE"]),
        current_absolute_url("feeds.site_feed"),
        current_absolute_url("public.index"),
    )


@feeds.route("/categories/<name>/feed.xml")
def category_feed(name: str) -> Response:
    category = queries.category_named(name)
    if category is None:
        abort(404)
    return _feed_response(
        _feed_posts(category=category),
        f"{current_app.config['SITE_TITLE']} · {category.name}",
        current_absolute_url("feeds.category_feed", name=name),
        current_absolute_url("public.category", name=name),
    )


@feeds.route("/tags/<name>/feed.xml")
def tag_feed(name: str) -> Response:
    tag = queries.tag_named(name)
    if tag is None:
        abort(404)
    return _feed_response(
        _feed_posts(tag=tag),
        f"{current_app.config['SITE_TITLE']} · #{tag.name}",
        current_absolute_url("feeds.tag_feed", name=name),
        current_absolute_url("public.tag", name=name),
    )
