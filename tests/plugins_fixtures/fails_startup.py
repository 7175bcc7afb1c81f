"""A plugin whose start-up check refuses to run; its other hooks must then stay silent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from blog.api import hookimpl

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


@hookimpl
def blog_startup(app: Flask) -> None:
    raise RuntimeError("missing dictionary file")


@hookimpl
def blog_render_html(html: str) -> str:
    return html + '<p class="fails-startup">should not appear</p>'
