"""Images plugin: uploaded images served at the size a screen needs, titles as captions.

The upload step (core) stores WebP copies 480, 960 and 1600 pixels wide beside each still
image; this plugin points rendered ``<img>`` elements at them (``srcset``/``sizes``), gives
them their pixel size and lazy loading, and turns a titled image into a figure. Click to
zoom is the theme's (``zoom.js``), so it works for every image, not only uploads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blog.api import PostDraft, hookimpl, uploaded_images
from blog_plugins.images.extension import ImagesExtension

if TYPE_CHECKING:
    from markdown.extensions import Extension

__version__ = "1.0.0"


@hookimpl
def blog_markdown_extensions(post: PostDraft) -> list[Extension | str]:
    # Looked up here, in the app's process: render work itself never reads the database.
    return [ImagesExtension(uploaded_images(post.source))]


@hookimpl
def blog_allowed_html() -> dict[str, Any]:
    return {
        "tags": {"figure", "figcaption", "img"},
        "attributes": {"img": {"srcset", "sizes", "width", "height", "loading", "decoding"}},
    }
