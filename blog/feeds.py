"""What machines read: Atom feeds, the sitemap, robots.txt and page metadata for ``_seo.html``.

Feeds are written from a small Jinja template rather than with a feed library because the
post body must go in as inline XHTML (``type="xhtml"``), not as escaped HTML: the variant
response filter then sees real elements and can skip ``translate="no"`` math and code
while converting the text around them, and MathML keeps its namespace for readers that
render it (the TeX annotation stays inside for those that do not). ``feedgen`` would
re-parse that XHTML with lxml and add little beyond the escaping Jinja already does.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, g, request, url_for
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from sqlalchemy import func, select

from blog import queries
from blog.display import display_text
from blog.elements import VOID_ELEMENTS
from blog.models import Category, Post, Tag, db, post_categories, post_tags, utcnow
from blog.variants import ENVIRON_KEY

feeds = Blueprint("feeds", __name__)

FEED_ENTRIES = 20
#: Post bodies whose XHTML form is kept; a feed holds FEED_ENTRIES of them.
XHTML_CACHE_ENTRIES = 256
ATOM_MIMETYPE = "application/atom+xml"
MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
#: URL variant -> BCP 47 tag. Variants not listed here get their subtags re-cased.
HREFLANG = {
    "zh-hans": "zh-Hans",
    "zh-hant": "zh-Hant",
    "zh-cn": "zh-Hans-CN",
    "zh-sg": "zh-Hans-SG",
    "zh-tw": "zh-Hant-TW",
    "zh-hk": "zh-Hant-HK",
    "zh-mo": "zh-Hant-MO",
}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

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


# --- URLs ---------------------------------------------------------------------------------


def hreflang(variant: str) -> str:
    """The BCP 47 tag for a URL variant name (``zh-tw`` -> ``zh-Hant-TW``)."""
    mapping = current_app.extensions.get("blog.hreflang") or {}
    if variant in mapping:
        return str(mapping[variant])
    if variant in HREFLANG:
        return HREFLANG[variant]
    subtags = variant.split("-")
    cased = [subtags[0].lower()]
    for subtag in subtags[1:]:
        cased.append(
            subtag.title() if len(subtag) == 4 else subtag.upper() if len(subtag) == 2 else subtag
        )
    return "-".join(cased)


def _variant_prefix() -> str:
    variant = request.environ.get(ENVIRON_KEY)
    return f"/{variant}" if variant else ""


def site_root() -> str:
    """Absolute URL of the site without any variant prefix: ``SITE_URL``, else the request's."""
    configured = str(current_app.config.get("SITE_URL") or "").rstrip("/")
    if configured:
        return configured
    script_root = request.script_root
    prefix = _variant_prefix()
    if prefix and script_root.endswith(prefix):
        script_root = script_root[: -len(prefix)]
    return request.host_url.rstrip("/") + script_root


def site_path(endpoint: str, **values: Any) -> str:
    """Path of ``endpoint`` below the site root, without the current variant prefix."""
    return url_for(endpoint, **values)[len(request.script_root) :] or "/"


def absolute_url(path: str, variant: str | None = None) -> str:
    """Absolute URL for a site ``path`` in ``variant`` (``None``: unprefixed)."""
    return site_root() + (f"/{variant}" if variant else "") + path


def current_absolute_url(endpoint: str, **values: Any) -> str:
    """Absolute URL of ``endpoint`` inside the request's own variant."""
    return site_root() + _variant_prefix() + site_path(endpoint, **values)


def w3c_datetime(value: datetime) -> str:
    """A stored (naive UTC) datetime as RFC 3339, as Atom and sitemaps want."""
    return value.replace(microsecond=0).isoformat() + "Z"


def _xml_text(value: str) -> str:
    return _XML_INVALID.sub("", value)


# --- HTML body -> XHTML -------------------------------------------------------------------


class _XhtmlWriter(HTMLParser):
    """Re-serialise sanitized HTML as well-formed XHTML with absolute site-relative URLs."""

    def __init__(self, root: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = root
        self.out: list[str] = []
        self.open: list[str] = []

    def _attributes(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        parts = []
        seen = set()
        for name, value in attrs:
            if name in seen or not re.fullmatch(r"[a-z_][a-z0-9_.:-]*", name) or name == "xmlns":
                continue
            seen.add(name)
            text = value if value is not None else name
            if name in ("href", "src") and text.startswith("/") and not text.startswith("//"):
                text = self.root + text
            parts.append(f' {name}="{escape(_xml_text(text))}"')
        if tag == "math":
            parts.append(f' xmlns="{MATHML_NAMESPACE}"')
        return "".join(parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_ELEMENTS:
            self.out.append(f"<{tag}{self._attributes(tag, attrs)}/>")
            return
        self.out.append(f"<{tag}{self._attributes(tag, attrs)}>")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(f"<{tag}{self._attributes(tag, attrs)}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.open:
            return
        while self.open:
            name = self.open.pop()
            self.out.append(f"</{name}>")
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(str(escape(_xml_text(data))))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{name}>" for name in reversed(self.open))


@functools.lru_cache(maxsize=XHTML_CACHE_ENTRIES)
def html_to_xhtml(html: str, root: str) -> Markup:
    """Well-formed XHTML for ``html``; site-relative links and images become absolute.

    Memoised: a post appears in the site feed, its category's and each tag's, in every
    variant, and parsing its body is most of a feed's cost (``blog build`` writes them all).
    """
    writer = _XhtmlWriter(root)
    writer.feed(html)
    # Every text and attribute value was escaped by the writer; tags come only from ``html``.
    return Markup(writer.result())  # noqa: S704


# --- Atom ---------------------------------------------------------------------------------


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
    name = _xml_text(post.series)
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
            "title": display_text(_xml_text(post.title), "title"),
            "url": current_absolute_url("public.post", slug=post.slug),
            "published": w3c_datetime(post.published_at or post.created_at),
            "updated": w3c_datetime(max(post.updated_at, post.published_at or post.updated_at)),
            "categories": [
                _xml_text(name)
                for name in dict.fromkeys(
                    [c.name for c in post.categories] + [t.name for t in post.tags]
                )
            ],
            "series": _series_category(post),
            "summary": display_text(_xml_text(post.excerpt), "excerpt"),
            "content": html_to_xhtml(post.body_html, root) if full else None,
        }
        for post in posts
    ]
    updated = max((str(e["updated"]) for e in entries), default=w3c_datetime(utcnow()))
    body = ATOM_TEMPLATE.render(
        lang=hreflang(variant) if variant else config["LANGUAGE"],
        title=display_text(_xml_text(title), "title"),
        subtitle=display_text(_xml_text(str(config["SITE_DESCRIPTION"])), "description"),
        updated=updated,
        self_url=self_url,
        html_url=html_url,
        author=_xml_text(str(config["SITE_AUTHOR"] or config["SITE_TITLE"])),
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


# --- Sitemap and robots.txt ---------------------------------------------------------------


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


# --- Page metadata for _seo.html ----------------------------------------------------------


def _absolute(url: str) -> str:
    if url.startswith("//"):
        return urlsplit(site_root()).scheme + ":" + url
    if url.startswith("/"):
        return site_root() + url
    return url


@feeds.app_template_global()
@pass_context
def seo_metadata(context: Context) -> dict[str, Any]:
    """Facts for canonical, OpenGraph, Twitter and JSON-LD tags of the page being rendered."""
    config = current_app.config
    post: Post | None = context.get("post")
    variant = g.get("variant")
    lang = hreflang(variant) if variant else str(config["LANGUAGE"])
    canonical = site_root() + _variant_prefix() + (request.path if request else "/")
    meta: dict[str, Any] = {
        "canonical": canonical,
        "site_name": config["SITE_TITLE"],
        "locale": lang.replace("-", "_"),
        "type": "website",
        "title": config["SITE_TITLE"],
        "description": config["SITE_DESCRIPTION"],
        "image": None,
        "feed_url": current_absolute_url("feeds.site_feed"),
        "json_ld": None,
    }
    if post is None or post.kind != "post" or post.published_at is None:
        if post is not None:
            meta.update(title=post.title, description=post.excerpt)
        return meta
    image = (post.render_meta or {}).get("first_image")
    author = str(config["SITE_AUTHOR"] or config["SITE_TITLE"])
    meta.update(
        type="article",
        title=post.title,
        description=post.render_meta.get("description") or post.excerpt,
        image=_absolute(image) if image else None,
        published=w3c_datetime(post.published_at),
        modified=w3c_datetime(post.updated_at),
        tags=[t.name for t in post.tags],
        section=post.category.name if post.category else None,
    )
    json_ld: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        # Shown as search engines print it: spaced like the page's own title.
        "headline": display_text(post.title, "title"),
        "description": display_text(meta["description"], "description"),
        "datePublished": meta["published"],
        "dateModified": meta["modified"],
        "inLanguage": post.lang,
        "url": canonical,
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
        "author": {"@type": "Person", "name": author},
        "publisher": {"@type": "Organization", "name": config["SITE_TITLE"]},
        "keywords": meta["tags"],
    }
    if meta["section"]:
        json_ld["articleSection"] = meta["section"]
    if meta["image"]:
        json_ld["image"] = meta["image"]
    meta["json_ld"] = json_ld
    return meta
