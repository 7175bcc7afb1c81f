"""A self-hosted blog engine for Chinese technical writing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blog.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # ``blog.create_app`` on first use: importing any submodule (``blog.api`` in every
    # plugin, ``blog.cli`` for ``blog --help``) must not load the whole application.
    if name == "create_app":
        from blog.app import create_app  # start-up: see above

        return create_app
    raise AttributeError(f"module 'blog' has no attribute {name!r}")
