"""Turn form or JSON input into :class:`PostFields`, with the same checks for both."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from blog.dates import site_zone
from blog.posts import FieldError, PostFields
from blog.slugs import SlugError, check_slug
from blog.validation import check_moment

#: Keys an author may set; anything else in API input is refused by name.
EDITABLE_KEYS = (
    "title",
    "source",
    "slug",
    "lang",
    "status",
    "published_at",
    "category",
    "categories",
    "tags",
    "kind",
    "pinned",
    "series",
    "series_order",
    "password",
)
_TAG_SEPARATORS = re.compile(r"[,，、]")


def parse_tags(value: Any, key: str = "tags") -> list[str]:
    """Tags from "a, b，c" (form) or ["a", "b"] (JSON), trimmed, empty ones dropped, unique.

    Category lists are read the same way (``key`` names the field in the error).
    """
    if isinstance(value, str):
        items = _TAG_SEPARATORS.split(value)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise FieldError(key, "must be a list of strings or a comma-separated string")
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


def _set_categories(fields: PostFields, base: PostFields, data: Mapping[str, Any]) -> None:
    """``category`` is the primary category; ``categories`` every one (API) or the others.

    Given alone, ``category`` replaces the primary one and keeps the others; given alone,
    ``categories`` is the whole list, primary first.
    """
    if "categories" in data:
        fields.categories = parse_tags(data["categories"], "categories")
        if "category" not in data:
            fields.category = fields.categories[0] if fields.categories else None
    elif "category" in data:
        fields.categories = [name for name in base.category_names() if name != base.category]
    if "category" in data:
        fields.category = _text(data, "category", "").strip() or None


def parse_moment(value: Any) -> datetime | None:
    """An ISO 8601 date/time; without an offset it is in the site's TIMEZONE. Stored naive UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FieldError("published_at", "must be an ISO 8601 string such as 2026-01-31T10:00")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(
            "published_at", f"{value!r} is not a date (use 2026-01-31T10:00)"
        ) from None
    return check_moment("published_at", moment, site_zone())


def _text(data: Mapping[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise FieldError(key, "must be a string")
    return value


def _set_meta(meta: dict[str, Any], key: str, value: Any) -> None:
    # An unset value leaves no key behind, so the exported front matter stays as written.
    if value is None:
        meta.pop(key, None)
    else:
        meta[key] = value


def parse_pinned(value: Any, current: Any) -> bool | int | None:
    """``pinned`` from a checkbox ("1"/"0"), JSON ``true``/``false`` or a rank (Hexo's N).

    Ticking a post already pinned with a rank keeps the rank; unpinning removes the key.
    """
    if isinstance(value, bool) or value in ("1", "0", "", "on", "true", "false", None):
        on = value is True or value in ("1", "on", "true")
        if not on:
            return None
        return current if isinstance(current, int) and not isinstance(current, bool) else True
    if isinstance(value, int) and value >= 0:
        return value or None
    raise FieldError("pinned", "must be true, false or a rank such as 1, 2, 3")


def parse_series_order(value: Any) -> int | None:
    """The part number of a post in its series: a whole number, or empty for "by date"."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise FieldError("series_order", f"must be a whole number such as 1, 2, 3, got {value!r}")


def merge_fields(
    base: PostFields, data: Mapping[str, Any], *, strict_keys: bool = False
) -> PostFields:
    """Return ``base`` updated with the keys present in ``data``, validated.

    ``strict_keys`` refuses unknown keys (the API); forms carry extra inputs such as the
    CSRF token and the action button, which are not post fields.
    """
    if strict_keys:
        unknown = sorted(set(data) - set(EDITABLE_KEYS))
        if unknown:
            raise FieldError(unknown[0], "is not a post field")
    fields = replace(
        base, tags=list(base.tags), categories=list(base.categories), meta=dict(base.meta)
    )
    for key in ("title", "source", "lang", "status", "kind"):
        if key in data:
            setattr(fields, key, _text(data, key, ""))
    # Browsers send textarea line ends as CRLF; the source is stored with plain newlines.
    fields.source = fields.source.replace("\r\n", "\n")
    if "slug" in data:
        raw = _text(data, "slug", "").strip()
        try:
            fields.slug = check_slug(raw) if raw else None
        except SlugError as error:
            raise FieldError("slug", str(error)) from None
    _set_categories(fields, base, data)
    if "tags" in data:
        fields.tags = parse_tags(data["tags"])
    if "published_at" in data:
        fields.published_at = parse_moment(data["published_at"])
    if "pinned" in data:
        _set_meta(fields.meta, "pinned", parse_pinned(data["pinned"], fields.meta.get("pinned")))
    if "series" in data:
        _set_meta(fields.meta, "series", _text(data, "series", "").strip() or None)
    if "password" in data:
        # A form's empty box (or JSON null) keeps the password; "" in JSON removes it.
        value = data["password"]
        if value is not None and not isinstance(value, str):
            raise FieldError("password", "must be a string")
        if value or (strict_keys and value == ""):
            fields.password = value
    if data.get("unprotect") == "1":
        fields.password = ""
    if "series_order" in data:
        _set_meta(fields.meta, "series_order", parse_series_order(data["series_order"]))
    fields.title = fields.title.strip()
    fields.validate()
    return fields


def empty_fields(kind: str = "post") -> PostFields:
    return PostFields(title="", source="", kind=kind if kind in ("post", "page") else "post")
