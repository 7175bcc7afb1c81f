"""The Python-Markdown treeprocessor that makes post images responsive and captioned.

It runs after inline patterns have turned ``![alt](url "title")`` into ``<img>``:

* an uploaded image gets its pixel ``width``/``height`` (the browser reserves the space, so
  text does not jump when it arrives) and a ``srcset`` of its WebP copies with ``sizes``;
* every image but a post's first is loaded lazily (the first is often in view at once);
* an image alone in its paragraph with a title becomes a ``<figure>`` whose
  ``<figcaption>`` is the title.

Facts about uploads come from the database, which render work must not touch (it runs in
a process of its own): the plugin looks them up beforehand and hands them over here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from blog.api import UploadedImage

#: After "inline" (20), which creates the <img> elements; before "prettify" (10).
PRIORITY = 15

#: The column is at most 46rem wide in every bundled theme; narrower screens fill the width.
SIZES = "(min-width: 48rem) 46rem, 100vw"

#: The class of a captioned image's <figure> (code blocks are figures too).
FIGURE_CLASS = "image-figure"


class ResponsiveImages(Treeprocessor):
    def __init__(self, md: Markdown, images: Mapping[str, UploadedImage]) -> None:
        super().__init__(md)
        self.images = images

    def run(self, root: ET.Element) -> None:
        first = True
        for image in root.iter("img"):
            self._describe(image, lazy=not first)
            first = False
        for paragraph in root.iter("p"):
            _make_figure(paragraph)

    def _describe(self, image: ET.Element, lazy: bool) -> None:
        image.set("decoding", "async")
        if lazy:
            image.set("loading", "lazy")
        known = self.images.get(image.get("src", ""))
        if known is None:
            return
        image.set("width", str(known.width))
        image.set("height", str(known.height))
        if known.variants:
            candidates = [f"{url} {width}w" for width, url in known.variants]
            candidates.append(f"{known.url} {known.width}w")
            image.set("srcset", ", ".join(candidates))
            image.set("sizes", SIZES)


def _make_figure(paragraph: ET.Element) -> None:
    """Turn ``<p><img title=…></p>`` into ``<figure><img><figcaption>…</figcaption></figure>``."""
    if len(paragraph) != 1 or (paragraph.text or "").strip():
        return
    image = paragraph[0]
    title = (image.get("title") or "").strip()
    if image.tag != "img" or not title or (image.tail or "").strip():
        return
    paragraph.tag = "figure"
    paragraph.set("class", FIGURE_CLASS)
    paragraph.text = None
    del image.attrib["title"]
    image.tail = None
    caption = ET.SubElement(paragraph, "figcaption")
    caption.text = title


class ImagesExtension(Extension):
    """Responsive, captioned images; ``images`` maps an ``src`` to its stored facts."""

    def __init__(self, images: Mapping[str, UploadedImage]) -> None:
        super().__init__()
        self.images = images

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(ResponsiveImages(md, self.images), "images", PRIORITY)
