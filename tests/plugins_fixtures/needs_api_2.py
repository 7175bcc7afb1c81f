"""A plugin written for a future, incompatible plugin API."""

from blog.api import hookimpl

__version__ = "2.0.0"
REQUIRES_API = "2"


@hookimpl
def blog_render_html(html: str) -> str:
    return html + "<p>needs api 2</p>"
