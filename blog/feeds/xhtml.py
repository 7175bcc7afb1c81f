"""Post bodies as inline XHTML for Atom ``type="xhtml"`` content."""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser

from markupsafe import Markup, escape

from blog.elements import VOID_ELEMENTS

#: Post bodies whose XHTML form is kept; a feed holds FEED_ENTRIES of them.
XHTML_CACHE_ENTRIES = 256
MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 does not allow."""
    return _XML_INVALID.sub("", value)


class _XhtmlWriter(HTMLParser):
    """Re-serialise sanitized HTML as well-formed XHTML with absolute site-relative URLs."""

    def __init__(self, root: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = root
        self.out: list[str] = []
        self.open: list[str] = []

    def _attributes(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        parts = []
        seen = set()
        for name, value in attrs:
            if name in seen or not re.fullmatch(r"[a-z_][a-z0-9_.:-]*", name) or name == "xmlns":
                continue
            seen.add(name)
            text = value if value is not None else name
            if name in ("href", "src") and text.startswith("/") and not text.startswith("//"):
                text = self.root + text
            parts.append(f' {name}="{escape(xml_text(text))}"')
        if tag == "math":
            parts.append(f' xmlns="{MATHML_NAMESPACE}"')
        return "".join(parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_ELEMENTS:
            self.out.append(f"<{tag}{self._attributes(tag, attrs)}/>")
            return
        self.out.append(f"<{tag}{self._attributes(tag, attrs)}>")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(f"<{tag}{self._attributes(tag, attrs)}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.open:
            return
        while self.open:
            name = self.open.pop()
            self.out.append(f"</{name}>")
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(str(escape(xml_text(data))))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{name}>" for name in reversed(self.open))


@functools.lru_cache(maxsize=XHTML_CACHE_ENTRIES)
def html_to_xhtml(html: str, root: str) -> Markup:
    """Well-formed XHTML for ``html``; site-relative links and images become absolute.

    Memoised: a post appears in the site feed, its category's and each tag's, in every
    variant, and parsing its body is most of a feed's cost (``blog build`` writes them all).
    """
    writer = _XhtmlWriter(root)
    writer.feed(html)
    # Every text and attribute value was escaped by the writer; tags come only from ``html``.
    return Markup(writer.result())  # noqa: S704
