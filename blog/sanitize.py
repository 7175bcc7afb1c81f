"""The allowlist sanitizer every stored post body passes through (nh3, i.e. ammonia)."""

from __future__ import annotations

import re
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
        #: Attributes whose values must match patterns (every pattern given for the name).
        self.attribute_values: dict[str, list[re.Pattern[str]]] = {}

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
        for name, pattern in addition.get("attribute_values", {}).items():
            self.attribute_values.setdefault(name, []).append(re.compile(pattern))

    def value_allowed(self, name: str, value: str) -> bool:
        """Whether ``value`` of attribute ``name`` fully matches every pattern for ``name``."""
        return all(pattern.fullmatch(value) for pattern in self.attribute_values.get(name, ()))


def _without_handlers(names: Iterable[str]) -> set[str]:
    # No plugin may re-enable event handlers or inline style: CSP and XSS safety rely on it.
    return {n for n in names if not n.lower().startswith("on") and n.lower() != "style"}


def sanitize_html(html: str, allowlist: Allowlist) -> str:
    """Return ``html`` with everything outside ``allowlist`` removed."""
    tags = allowlist.tags - {"script", "style", "iframe", "object", "embed"}
    checked = allowlist.attribute_values
    # The value check is a Python call per attribute, so it runs only on bodies that
    # hold a checked attribute at all (a case-blind look: HTML attribute names are).
    lowered = html.lower() if checked else ""
    needs_check = any(name in lowered for name in checked)

    def value_filter(_tag: str, name: str, value: str) -> str | None:
        return value if allowlist.value_allowed(name, value) else None

    return nh3.clean(
        html,
        tags=tags,
        attributes=allowlist.attributes,
        attribute_filter=value_filter if needs_check else None,
        url_schemes=allowlist.url_schemes,
        clean_content_tags={"script", "style"},
        link_rel="noopener",
        strip_comments=True,
    )
