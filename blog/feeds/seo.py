"""Page metadata for the theme's ``_seo.html``: canonical URL, alternates, Open Graph."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, request
from jinja2 import pass_context
from jinja2.runtime import Context

from blog.display import display_text
from blog.feeds.blueprint import feeds
from blog.feeds.urls import current_absolute_url, hreflang, site_root, variant_prefix, w3c_datetime
from blog.models import Post


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
    canonical = site_root() + variant_prefix() + (request.path if request else "/")
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
