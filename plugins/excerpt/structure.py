"""The body as a flat sequence of segments (text, formulas, code, images), read by the core.

The excerpt and the reading statistics are built from the rendered structure rather than
from the Markdown source: by then the math and code plugins have decided what is a formula
and what is code, and ``translate="no"`` marks what must be quoted verbatim. The core
parses the sanitized body once into a :class:`blog.api.Document`; the hooks read its
``segments``. :func:`read_body` is for callers holding only HTML (tests, tools).
"""

from __future__ import annotations

from blog.api import MORE_CLASS, Kind, Segment, read_document

__all__ = ["MORE_CLASS", "Kind", "Segment", "read_body"]


def read_body(html: str) -> tuple[Segment, ...]:
    """Return the segments of ``html`` in reading order (one parse, nothing cached)."""
    return read_document(html).segments
