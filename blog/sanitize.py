"""The allowlist sanitizer every stored post body passes through (nh3, i.e. ammonia)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import nh3

BASE_TAGS = frozenset(nh3.ALLOWED_TAGS) | {
    "figure", "figcaption", "details", "summary", "section", "mark", "input", "span", "div",
    "sup", "sub", "abbr", "dl", "dt", "dd", "hr", "picture", "time", "ruby", "rt", "rp",
}  # fmt: skip
BASE_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"id", "class", "title", "lang", "dir", "translate"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height", "loading", "decoding"},
    "ol": {"start", "reversed", "type"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "input": {"type", "checked", "disabled"},
    "abbr": {"title"},
    "time": {"datetime"},
}
# data: URLs are refused everywhere, images included: uploads give authors a safe way to
# embed pictures, and data: has carried too many sanitizer bypasses (SVG with script).
BASE_URL_SCHEMES = frozenset({"http", "https", "mailto"})


class Allowlist:
    """The tags, attributes and URL schemes that survive sanitizing."""

    def __init__(self) -> None:
        self.tags: set[str] = set(BASE_TAGS)
        self.attributes: dict[str, set[str]] = {k: set(v) for k, v in BASE_ATTRIBUTES.items()}
        self.url_schemes: set[str] = set(BASE_URL_SCHEMES)

    def extend(self, addition: dict[str, Any]) -> None:
        """Merge one plugin's ``blog_allowed_html`` result."""
        self.tags.update(addition.get("tags", ()))
        for tag, names in addition.get("attributes", {}).items():
            self.attributes.setdefault(tag, set()).update(_without_handlers(names))
        self.url_schemes.update(
            s
            for s in addition.get("url_schemes", ())
            if s not in {"javascript", "vbscript", "data"}
        )


def _without_handlers(names: Iterable[str]) -> set[str]:
    # No plugin may re-enable event handlers or inline style: CSP and XSS safety rely on it.
    return {n for n in names if not n.lower().startswith("on") and n.lower() != "style"}


def sanitize_html(html: str, allowlist: Allowlist) -> str:
    """Return ``html`` with everything outside ``allowlist`` removed."""
    tags = allowlist.tags - {"script", "style", "iframe", "object", "embed"}
    return nh3.clean(
        html,
        tags=tags,
        attributes=allowlist.attributes,
        url_schemes=allowlist.url_schemes,
        clean_content_tags={"script", "style"},
        link_rel="noopener",
        strip_comments=True,
    )
