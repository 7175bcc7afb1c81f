"""The markup the sanitizer must keep for highlighted code blocks."""

from __future__ import annotations

from typing import Any


def allowed_html() -> dict[str, Any]:
    """Return the sanitizer additions for Pygments output and the block wrapper."""
    return {
        "tags": {"figure", "figcaption", "div", "pre", "code", "span"},
        "attributes": {
            "figure": {"class", "translate", "data-lang"},
            "figcaption": {"class"},
            "div": {"class"},
            "pre": {"class"},
            "code": {"class"},
            "span": {"class"},
        },
    }
