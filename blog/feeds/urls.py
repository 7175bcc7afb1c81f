"""Absolute URLs, variant prefixes and dates in the forms feeds, sitemaps and ``<head>`` use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, request, url_for

from blog.variants import ENVIRON_KEY

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


def variant_prefix() -> str:
    variant = request.environ.get(ENVIRON_KEY)
    return f"/{variant}" if variant else ""


def site_root() -> str:
    """Absolute URL of the site without any variant prefix: ``SITE_URL``, else the request's."""
    configured = str(current_app.config.get("SITE_URL") or "").rstrip("/")
    if configured:
        return configured
    script_root = request.script_root
    prefix = variant_prefix()
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
    return site_root() + variant_prefix() + site_path(endpoint, **values)


def w3c_datetime(value: datetime) -> str:
    """A stored (naive UTC) datetime as RFC 3339, as Atom and sitemaps want."""
    return value.replace(microsecond=0).isoformat() + "Z"
