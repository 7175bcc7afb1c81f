"""A plugin that misspells a hook name: it must be refused, not silently ignored."""

from blog.api import hookimpl

__version__ = "0.1.0"


@hookimpl
def blog_render_htm(html: str) -> str:
    return html
