"""URL variants: ``/<variant>/…`` serves the same page through the response filters.

The core knows variants only as names that plugins return from ``blog_variants``. A
known prefix is moved from ``PATH_INFO`` to ``SCRIPT_NAME`` so routing is unchanged and
``url_for`` keeps generating URLs inside the reader's variant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ENVIRON_KEY = "blog.variant"


class VariantPrefixMiddleware:
    """Strip a known ``/<variant>`` prefix and record it in the WSGI environ."""

    def __init__(self, app: WSGIApp, variants: Iterable[str]) -> None:
        self.app = app
        self.variants = frozenset(variants)

    def split(self, path: str) -> tuple[str | None, str]:
        """Return ``(variant, rest_of_path)`` for ``path``; variant is ``None`` if absent."""
        head, _slash, rest = path.lstrip("/").partition("/")
        if head in self.variants:
            return head, "/" + rest
        return None, path

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        variant, rest = self.split(environ.get("PATH_INFO", ""))
        if variant is not None:
            environ[ENVIRON_KEY] = variant
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/" + variant
            environ["PATH_INFO"] = rest
        return self.app(environ, start_response)
