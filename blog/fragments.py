"""Stored HTML a page shows as it is (a post's body), marked so text filters convert it once.

A response filter that changes a page's text (variant conversion, corner quotes) must scan
the whole page on every cache miss, and a post's body is most of a page while it changes
only when the post does. Templates wrap such HTML with :func:`mark` (the ``fragment``
filter); a filter calls :func:`split` to get the page with each fragment's place left
empty, filters that page, converts each fragment on its own (through a
:class:`FragmentCache` keyed by the fragment's text and whatever else its result depends
on), and puts the page back together with :func:`join`. The core removes the marks with
:func:`unmark` before the page is sent, so readers get the same bytes as without them.

The marks are HTML comments: the sanitizer strips comments from stored HTML and every
other text of a page is escaped, so a page holds them only where a template put them.
A filter that does not know about fragments passes them through as comments.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from markupsafe import Markup

START = "<!--blog:fragment-->"
END = "<!--/blog:fragment-->"
#: A fragment's place in the page :func:`split` returns.
SLOT = START + END


def mark(html: str | None) -> Markup:
    """``html`` (already safe: sanitized at save time) between the fragment marks."""
    if not html:
        return Markup("")
    return Markup(START + str(html) + END)  # noqa: S704 - stored HTML, sanitized at save


def split(page: str) -> tuple[str, list[str]]:
    """Return ``page`` with every marked fragment's content cut out, and the fragments.

    A page whose marks do not pair up (a mark inside a fragment, a missing end) comes back
    whole with no fragments: the filter then scans all of it, which is always correct.
    """
    if START not in page:
        return page, []
    pieces: list[str] = []
    fragments: list[str] = []
    position = 0
    while True:
        start = page.find(START, position)
        if start < 0:
            break
        content = start + len(START)
        end = page.find(END, content)
        if end < 0 or page.find(START, content, end) >= 0:
            return page, []
        pieces.append(page[position:start])
        pieces.append(SLOT)
        fragments.append(page[content:end])
        position = end + len(END)
    pieces.append(page[position:])
    if any(END in piece for piece in pieces[0::2]):
        return page, []  # an end mark without its start
    return "".join(pieces), fragments


def join(page: str, fragments: list[str]) -> str | None:
    """Put ``fragments`` back into the slots of a page :func:`split` returned.

    ``None`` when the page no longer has one slot per fragment (a filter dropped or
    doubled a mark): the caller then filters the whole page instead.
    """
    if not fragments:
        return page if SLOT not in page else None
    parts = page.split(SLOT)
    if len(parts) != len(fragments) + 1:
        return None
    joined = [parts[0]]
    for fragment, after in zip(fragments, parts[1:], strict=True):
        joined += [START, fragment, END, after]
    return "".join(joined)


def unmark(page: str) -> str:
    """``page`` without the marks: what the reader gets."""
    if START not in page:
        return page
    return page.replace(START, "").replace(END, "")


class FragmentCache:
    """Converted fragments by key, bounded by the characters held (least recently used out).

    Keys hold the fragment's own text, so an edited post is a new key and nothing needs
    invalidating; what else the conversion depends on (variant, glossary, the text's
    script) must be in the key too, or the cache must belong to the object that holds it
    (a plugin's prepared state). The default bound, 8 million characters of sources and
    results, is about 130 post bodies in one variant each (a bench post with formulas is
    30,000 characters), 16–32 MB of CJK text. Shared by a served process's threads.
    """

    def __init__(self, max_chars: int = 8_000_000) -> None:
        self.max_chars = max_chars
        self._entries: OrderedDict[Hashable, str] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._held = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: str, source_chars: int) -> None:
        """Keep ``value``; ``source_chars`` is the length of the text inside ``key``."""
        size = len(value) + source_chars
        if size > self.max_chars:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = value
            self._sizes[key] = size
            self._held += size
            while self._held > self.max_chars:
                old, _ = self._entries.popitem(last=False)
                self._held -= self._sizes.pop(old)

    def __len__(self) -> int:
        return len(self._entries)
