"""One scan of an outgoing page's text for every response text transform.

Plugins that change the text of pages as they are sent (script conversion, corner quotes)
contribute a :class:`TextTransform` through the ``blog_text_transform`` hook instead of
parsing the page each. The core reads the page once: it slices it into markup and text
runs with a small regular-expression scanner (every byte outside the runs a transform
changes comes out as it was: entities, attribute quoting, whitespace, comments), keeps
track of the open elements, applies the single "do not touch" rule of
:mod:`blog.elements` for every transform, and numbers paragraphs (block elements and the
paragraph separator character end one). Each transform is asked what an element means to
it (:meth:`TextTransform.start_tag`: a context for the text inside, attribute values that
are text, content it replaces) and is then handed all the runs at once
(:meth:`TextTransform.convert`), in plugin order, each seeing the previous one's output.

Stored HTML a page shows as it is (between the marks of :mod:`blog.fragments`) is
transformed on its own, in the contexts its place gives it, and kept in a
:class:`~blog.fragments.FragmentCache`; a fragment whose result could depend on the page
around it (:meth:`TextTransform.separable`) is scanned in place instead. Either way the
bytes are those of scanning the whole page.
"""

from __future__ import annotations

import html
import re
import weakref
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from blog import fragments
from blog.elements import (
    BLOCK_ELEMENTS,
    HIDDEN_ELEMENTS,
    VERBATIM_ELEMENTS,
    VOID_ELEMENTS,
    leaves_text_alone,
)


class _LeftAlone:
    """The context of text no transform may change (the type of :data:`LEFT_ALONE`)."""

    def __repr__(self) -> str:
        return "LEFT_ALONE"


#: The context of text a transform must leave as it is. The core gives it to every
#: transform inside what :func:`blog.elements.leaves_text_alone` protects; a transform may
#: give it to more (an element it has its own reason to skip).
LEFT_ALONE: Final = _LeftAlone()

#: Where an app keeps the fragments its pages' transforms made (``app.extensions``).
TEXT_FRAGMENTS_KEY = "blog.text_fragments"
#: Paragraph separator: in text, it ends a paragraph as a block element's edge does.
PARAGRAPH_BREAK = "\u2029"

_TOKEN = re.compile(
    r"""
    <!--.*?(?:-->|\Z)
  | <!\[CDATA\[.*?(?:\]\]>|\Z)
  | <[!?][^>]*>?
  | </[A-Za-z][^>]*>?
  | <[A-Za-z][^\s/>]*(?:[^>"']|"[^"]*"|'[^']*')*>
    """,
    re.DOTALL | re.VERBOSE,
)
_TAG_NAME = re.compile(r"</?([A-Za-z][^\s/>]*)")
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
#: Elements an HTML parser reads as text up to their end tag, among those pages hold.
_RAW_TEXT_ELEMENTS = frozenset({"script", "style", "textarea", "title"})
#: What the core's rule reads besides the element's name: a tag without these (or a
#: character reference that could spell them) is not read attribute by attribute.
_RULE_ATTENTION = re.compile("translate|noconvert|&", re.IGNORECASE)
#: A paragraph break written in text: the character or a reference to it.
_BREAK = re.compile(r"\u2029|&#(?:0*8233(?![0-9])|[xX]0*2029(?![0-9a-fA-F]));?")
#: In a subtree left alone: what the one-piece copy does not handle (comments, raw text,
#: hidden elements), so such a subtree is read token by token.
_UNUSUAL = re.compile(
    r"<[!?]|<(?:script|style|template|noscript|textarea|title)(?=[\s/>])", re.IGNORECASE
)
_END_TAG_NAMES = re.compile(r"</([A-Za-z][^\s/>]*)")
_BLOCK_TAG = re.compile(
    r"</?(?:" + "|".join(sorted(BLOCK_ELEMENTS)) + r")(?=[\s/>])", re.IGNORECASE
)


def _breaks(text: str) -> bool:
    """Whether ``text`` (as written, references undecoded) holds a paragraph break."""
    if PARAGRAPH_BREAK in text:
        return True
    return "&" in text and PARAGRAPH_BREAK in html.unescape(text)


class Tag:
    """A start tag as the scan found it: its element name and source, attributes on demand."""

    __slots__ = ("_attributes", "_spans", "name", "source")

    def __init__(self, name: str, source: str) -> None:
        #: The element name: lower case, unless the page is XML.
        self.name = name
        #: The tag exactly as written, ``<`` to ``>``.
        self.source = source
        self._spans: list[tuple[str, int, int, str]] | None = None
        self._attributes: dict[str, str] | None = None

    @property
    def spans(self) -> list[tuple[str, int, int, str]]:
        """``(name, value_start, value_end, raw_value)`` of each attribute with a value, in
        source order; names in lower case, values as written (offsets into ``source``)."""
        if self._spans is None:
            self._spans = _spans(self.source)
        return self._spans

    @property
    def attributes(self) -> dict[str, str]:
        """The attribute values, decoded (the last of a repeated name wins)."""
        if self._attributes is None:
            self._attributes = {
                name: html.unescape(raw) if "&" in raw else raw
                for name, _start, _end, raw in self.spans
            }
        return self._attributes


def _spans(source: str) -> list[tuple[str, int, int, str]]:
    found = []
    name_match = _TAG_NAME.match(source)
    start = name_match.end() if name_match else 0
    for match in _ATTRIBUTE.finditer(source, start):
        for group in (2, 3, 4):
            value = match.group(group)
            if value is not None:
                found.append((match.group(1).lower(), match.start(group), match.end(group), value))
                break
    return found


@dataclass(frozen=True)
class Opening:
    """What an element means to one transform (returned by :meth:`TextTransform.start_tag`)."""

    #: The context of the text inside the element (``LEFT_ALONE``: not to be changed).
    inner: Hashable
    #: Attributes of this element whose values are text for the transform, in the
    #: context outside the element (``title``, ``alt``…): they become runs of their own.
    text_attributes: frozenset[str] = frozenset()
    #: Attribute values replaced outright, as written in HTML (``lang`` of a variant).
    values: Mapping[str, str] = field(default_factory=dict)
    #: HTML shown instead of the element's content, which is dropped; later transforms see
    #: it as text in ``inner``.
    replacement: str | None = None


@dataclass
class Runs:
    """The text runs of a page as one transform sees them, in page order."""

    #: Each run as written in the page (references undecoded), after earlier transforms.
    texts: list[str]
    #: The transform's own context of each run (``LEFT_ALONE`` where it must not change it).
    contexts: list[Hashable]
    #: The paragraph each run is in: runs in different paragraphs have different numbers.
    paragraphs: list[int]


class TextTransform:
    """A change to the text of an outgoing page, applied in the core's one scan.

    Subclass it and return an instance from ``blog_text_transform``. Contexts are any
    hashable values the transform chooses (its script, its rules…); the core carries
    them down the open elements and keys cached fragments with them.
    """

    #: Everything the transform's result depends on besides the page and the contexts (a
    #: variant, a glossary): cached fragments are keyed with it. Hashable.
    key: Hashable = None

    def root(self, page: str) -> Hashable:
        """The context of text outside every element; ``page`` is the whole page."""
        return ()

    def start_tag(self, tag: Tag, outer: Hashable) -> Opening | None:
        """What element ``tag`` means to this transform, inside context ``outer``.

        ``None`` (the default): nothing; its content keeps ``outer``. Not asked about
        elements the core leaves alone, nor inside them. The answer must depend only on
        ``tag.source``, ``outer`` and :attr:`key`: the core keeps it per app and asks again
        only for a tag it has not seen in that context (a page's chrome repeats on every
        request).
        """
        return None

    def convert(self, runs: Runs) -> list[str] | None:
        """Return the new text of every run (as HTML text), or ``None`` when none changed."""
        return None

    def separable(self, runs: Runs, before: Sequence[int], after: Sequence[int]) -> bool:
        """Whether a fragment may be transformed apart from the page around it.

        ``before`` and ``after`` index the page's runs in the fragment's paragraph before
        and after it. A transform that changes each run on its own answers ``True`` (the
        default); one that pairs text across runs within a paragraph answers ``False`` when
        any of them could pair with the fragment's text.
        """
        return True


class TransformFailed(Exception):
    """A transform raised in ``method``; the exception is the ``__cause__``."""

    def __init__(self, transform: TextTransform, method: str) -> None:
        kind = type(transform)
        super().__init__(f"text transform {kind.__module__}.{kind.__qualname__} raised in {method}")
        self.transform = transform


#: What a start tag means, as :meth:`_Scan.start_tag` decides it: ``LEFT_ALONE`` by the
#: core's rule, ``None`` when it means nothing to any transform, else each transform's
#: :class:`Opening` (``None`` for those it means nothing to).
_Meaning = tuple[Opening | None, ...] | _LeftAlone | None
#: The meanings found for a fragment cache's app, by transform keys, XML or not, the tag's
#: source and the contexts outside it: a page's chrome is the same hundred tags on every
#: miss, and asking each transform about each of them was a third of a scan. The answer
#: may depend on nothing else (``TextTransform.start_tag``), as the fragment cache's keys
#: already have it. Held with the cache, so a closed app's meanings go with it.
_MEANINGS: weakref.WeakKeyDictionary[
    fragments.FragmentCache, dict[Hashable, dict[Hashable, _Meaning]]
] = weakref.WeakKeyDictionary()
#: Meanings kept per app and transform keys at most (a site's chrome has a few hundred
#: distinct tags), and the longest tag kept (an inline image's data URL is seen once).
MAX_MEANINGS = 20_000
MAX_MEANING_TAG_CHARS = 1_000
_UNKNOWN = object()


@dataclass
class _Open:
    name: str
    #: The contexts inside the element, one per transform.
    inner: tuple[Hashable, ...]
    #: The element starts a region every transform leaves alone.
    alone: bool = False
    replaced: bool = False
    hidden: bool = False


@dataclass
class _Slot:
    """A fragment's place: the page's contexts and paragraph there, and the runs around."""

    index: int
    contexts: tuple[Hashable, ...]
    paragraph: int
    #: How many runs the page had when the slot came.
    runs_before: int


class _Scan:
    def __init__(
        self,
        transforms: Sequence[TextTransform],
        roots: tuple[Hashable, ...],
        xml: bool,
        slots: bool,
        meanings: dict[Hashable, _Meaning] | None = None,
    ) -> None:
        self.transforms = transforms
        #: Tag meanings already found for these transforms (see :data:`_MEANINGS`).
        self.meanings = meanings
        #: Whether the page has fragments cut out (else the marks are plain comments).
        self.with_slots = slots
        self.roots = roots
        self.xml = xml
        self.stack: list[_Open] = []
        self.alone_depth = 0 if any(c is not LEFT_ALONE for c in roots) else 1
        self.replaced_depth = 0
        self.hidden_depth = 0
        self.paragraph = 0
        self.pieces: list[str | int | _Slot] = []
        self.texts: list[str] = []
        self.contexts: list[tuple[Hashable, ...]] = []
        self.paragraphs: list[int] = []
        self.slots: list[_Slot] = []
        self.fragment_count = 0

    def current(self) -> tuple[Hashable, ...]:
        return self.stack[-1].inner if self.stack else self.roots

    def _run(self, text: str, contexts: tuple[Hashable, ...]) -> None:
        self.pieces.append(len(self.texts))
        self.texts.append(text)
        self.contexts.append(contexts)
        self.paragraphs.append(self.paragraph)

    # -- text -----------------------------------------------------------------------

    def add_text(self, text: str) -> None:
        if self.replaced_depth:
            return
        if self.alone_depth:
            self.pieces.append(text)
            if not self.hidden_depth and _breaks(text):
                self.paragraph += 1
            return
        contexts = self.current()
        if self.hidden_depth or not _breaks(text):
            self._run(text, contexts)
            return
        # A break inside the text: the runs on its two sides are in different paragraphs.
        position = 0
        for found in _BREAK.finditer(text):
            if found.start() > position:
                self._run(text[position : found.start()], contexts)
            self.pieces.append(found.group())
            self.paragraph += 1
            position = found.end()
        if position < len(text):
            self._run(text[position:], contexts)

    # -- tags -----------------------------------------------------------------------

    def start_tag(self, token: str) -> str:
        raw_name = _TAG_NAME.match(token)
        name = raw_name.group(1) if raw_name else ""
        if self.xml:
            lower = name.lower()
        else:
            name = lower = name.lower()
        if self.replaced_depth:
            self._push_if_open(token, _Open(name, self.current()))
            return name
        if lower in BLOCK_ELEMENTS:
            self.paragraph += 1
        hidden = lower in HIDDEN_ELEMENTS
        outer = self.current()
        if self.alone_depth:
            self.pieces.append(token)
            self._push_if_open(token, _Open(name, outer, hidden=hidden))
            return name
        tag = Tag(name, token)
        openings = self._meaning(tag, lower, raw_name.end() if raw_name else 0, outer)
        if openings is LEFT_ALONE:
            self.pieces.append(token)
            inner: tuple[Hashable, ...] = (LEFT_ALONE,) * len(outer)
            self._push_if_open(token, _Open(name, inner, alone=True, hidden=hidden))
            return name
        assert not isinstance(openings, _LeftAlone)
        if openings is None:  # most tags: they mean nothing to any transform
            self.pieces.append(token)
            self._push_if_open(token, _Open(name, outer, hidden=hidden))
            return name
        inner = tuple(
            context if opening is None else opening.inner
            for context, opening in zip(outer, openings, strict=True)
        )
        if any(o is not None and (o.text_attributes or o.values) for o in openings):
            self._emit_attributes(tag, outer, openings)
        else:
            self.pieces.append(token)
        entry = _Open(name, inner, hidden=hidden)
        entry.alone = all(context is LEFT_ALONE for context in inner)
        for index, opening in enumerate(openings):
            if opening is not None and opening.replacement is not None:
                self._run(
                    opening.replacement,
                    tuple(LEFT_ALONE if i <= index else c for i, c in enumerate(inner)),
                )
                entry.replaced = True
                break
        self._push_if_open(token, entry)
        return name

    def _meaning(
        self, tag: Tag, lower: str, name_end: int, outer: tuple[Hashable, ...]
    ) -> _Meaning:
        memo = self.meanings
        if memo is None or len(tag.source) > MAX_MEANING_TAG_CHARS:
            return self._ask(tag, lower, name_end, outer)
        key = (tag.source, outer)
        found = memo.get(key, _UNKNOWN)
        if found is not _UNKNOWN:
            return found  # type: ignore[return-value]
        meaning = self._ask(tag, lower, name_end, outer)
        if len(memo) >= MAX_MEANINGS:
            memo.clear()  # simpler than LRU order; a site's chrome fills it again at once
        memo[key] = meaning
        return meaning

    def _ask(self, tag: Tag, lower: str, name_end: int, outer: tuple[Hashable, ...]) -> _Meaning:
        """What ``tag`` means: the core's rule first, then each transform in turn."""
        if lower in VERBATIM_ELEMENTS or (
            _RULE_ATTENTION.search(tag.source, name_end) is not None
            and leaves_text_alone(lower, tag.attributes)
        ):
            return LEFT_ALONE
        openings: list[Opening | None] | None = None
        for index, transform in enumerate(self.transforms):
            context = outer[index]
            if context is LEFT_ALONE:
                continue
            try:
                opening = transform.start_tag(tag, context)
            except Exception as error:
                raise TransformFailed(transform, "start_tag") from error
            if opening is not None:
                if openings is None:
                    openings = [None] * len(outer)
                openings[index] = opening
        return None if openings is None else tuple(openings)

    def _emit_attributes(
        self, tag: Tag, outer: tuple[Hashable, ...], openings: Sequence[Opening | None]
    ) -> None:
        source = tag.source
        position = 0
        for attribute, start, end, raw in tag.spans:
            value = None
            readers: list[Hashable] | None = None
            for index, opening in enumerate(openings):
                if opening is None:
                    continue
                if value is None and attribute in opening.values:
                    value = opening.values[attribute]
                elif attribute in opening.text_attributes:
                    if readers is None:
                        readers = [LEFT_ALONE] * len(openings)
                    readers[index] = outer[index]
            if value is not None:
                self.pieces.append(source[position:start])
                self.pieces.append(value)
                position = end
            elif readers is not None:
                self.pieces.append(source[position:start])
                self._run(raw, tuple(readers))
                position = end
        self.pieces.append(source[position:])

    def _push_if_open(self, token: str, entry: _Open) -> None:
        # "/>" closes an element only in XML and in foreign content (MathML, SVG); HTML
        # ignores it on its own elements, which stay open until their end tag.
        foreign = entry.name in {"math", "svg"} or self.alone_depth > 0
        if token.endswith("/>") and (self.xml or foreign):
            return
        if not self.xml and entry.name in VOID_ELEMENTS:
            return
        self.stack.append(entry)
        self.alone_depth += entry.alone
        self.replaced_depth += entry.replaced
        self.hidden_depth += entry.hidden

    def end_tag(self, token: str) -> None:
        raw_name = _TAG_NAME.match(token)
        name = raw_name.group(1) if raw_name else ""
        name = name if self.xml else name.lower()
        kept = not self.replaced_depth
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index].name == name:
                closes_replacement = self.stack[index].replaced
                for entry in self.stack[index:]:
                    self.alone_depth -= entry.alone
                    self.replaced_depth -= entry.replaced
                    self.hidden_depth -= entry.hidden
                del self.stack[index:]
                kept = not self.replaced_depth or closes_replacement
                break
        if kept:
            self.pieces.append(token)
            if (name if not self.xml else name.lower()) in BLOCK_ELEMENTS:
                self.paragraph += 1

    # -- the scan -------------------------------------------------------------------

    def feed(self, source: str) -> None:
        position = 0
        length = len(source)
        while position < length:
            next_lt = source.find("<", position)
            if next_lt < 0:
                self.add_text(source[position:])
                return
            if next_lt > position:
                self.add_text(source[position:next_lt])
            match = _TOKEN.match(source, next_lt)
            if match is None:
                self.add_text("<")
                position = next_lt + 1
                continue
            token = match.group(0)
            position = match.end()
            if token.startswith("</"):
                self.end_tag(token)
            elif token.startswith("<!") or token.startswith("<?"):
                if (
                    self.with_slots
                    and token == fragments.START
                    and source.startswith(fragments.END, position)
                ):
                    position += len(fragments.END)
                    self._slot()
                elif not self.replaced_depth:
                    self.pieces.append(token)
            else:
                depth = len(self.stack)
                name = self.start_tag(token)
                if not self.xml and name in _RAW_TEXT_ELEMENTS and not token.endswith("/>"):
                    position = self._raw_text(source, position, name)
                elif len(self.stack) > depth and self.stack[-1].alone and self.alone_depth == 1:
                    position = self._alone_subtree(source, position, name)

    def _slot(self) -> None:
        index = self.fragment_count
        self.fragment_count += 1
        if self.replaced_depth:
            return  # inside content a transform replaced: the fragment goes with it
        slot = _Slot(index, self.current(), self.paragraph, len(self.texts))
        self.slots.append(slot)
        self.pieces.append(slot)

    def _alone_subtree(self, source: str, position: int, name: str) -> int:
        """Copy the content of a just-opened element left alone up to its end tag.

        Formulas and highlighted code are thousands of tags that are copied unchanged, so
        they are passed over with one search, noting only whether they end a paragraph.
        Content holding comments, raw text, hidden elements or the end tag of an element
        opened outside is read as usual.
        """
        flags = 0 if self.xml else re.IGNORECASE
        same_name = re.compile(rf"<(/?){re.escape(name)}(?=[\s/>])", flags)
        depth = 1
        for match in same_name.finditer(source, position):
            depth += -1 if match.group(1) else 1
            if depth == 0:
                inner = source[position : match.start()]
                if _UNUSUAL.search(inner):
                    return position
                outside = {entry.name for entry in self.stack[:-1]}
                if outside and any(
                    (name if self.xml else name.lower()) in outside
                    for name in _END_TAG_NAMES.findall(inner)
                ):
                    return position  # it closes an element opened outside: read it all
                if inner:
                    self.pieces.append(inner)
                    if _breaks_paragraph(inner):
                        self.paragraph += 1
                return match.start()
        return position

    def _raw_text(self, source: str, position: int, name: str) -> int:
        closing = re.compile(rf"</{name}[\s/>]", re.IGNORECASE).search(source, position)
        end = closing.start() if closing else len(source)
        content = source[position:end]
        if content:
            if name == "title":
                self.add_text(content)
            elif not self.replaced_depth:
                self.pieces.append(content)
                if not self.hidden_depth and _breaks(content):
                    self.paragraph += 1
        return end


def _breaks_paragraph(inner: str) -> bool:
    """Whether markup ``inner`` (no comments or raw text) ends a paragraph somewhere."""
    # A cheap test first: most formulas and code hold neither a block tag nor a break.
    if _BLOCK_TAG.search(inner) is None and not _breaks(inner):
        return False
    position = 0
    for markup in _TOKEN.finditer(inner):
        if _breaks(inner[position : markup.start()]):
            return True
        found = _TAG_NAME.match(markup.group())
        if found and found.group(1).lower() in BLOCK_ELEMENTS:
            return True
        position = markup.end()
    return _breaks(inner[position:])


def _convert(scan: _Scan, transforms: Sequence[TextTransform]) -> Iterator[int]:
    """Run each transform over the scan's runs in turn; before each, yield its index so the
    caller can check fragments against the runs as that transform sees them."""
    for index, transform in enumerate(transforms):
        yield index
        runs = Runs(scan.texts, [c[index] for c in scan.contexts], scan.paragraphs)
        try:
            converted = transform.convert(runs)
        except Exception as error:
            raise TransformFailed(transform, "convert") from error
        if converted is not None:
            if len(converted) != len(scan.texts):
                raise TransformFailed(transform, "convert") from ValueError(
                    f"{len(converted)} texts returned for {len(scan.texts)} runs"
                )
            scan.texts = list(converted)


def _separable(scan: _Scan, slot: _Slot, index: int, transform: TextTransform) -> bool:
    paragraphs = scan.paragraphs
    before = []
    run = slot.runs_before - 1
    while run >= 0 and paragraphs[run] == slot.paragraph:
        before.append(run)
        run -= 1
    before.reverse()
    after = []
    run = slot.runs_before
    while run < len(paragraphs) and paragraphs[run] == slot.paragraph:
        after.append(run)
        run += 1
    if not before and not after:
        return True
    runs = Runs(scan.texts, [c[index] for c in scan.contexts], paragraphs)
    try:
        return transform.separable(runs, before, after)
    except Exception as error:
        raise TransformFailed(transform, "separable") from error


def transform_text(
    page: str,
    transforms: Sequence[TextTransform],
    *,
    xml: bool = False,
    cache: fragments.FragmentCache | None = None,
) -> str:
    """Return ``page`` with every transform applied to its text, in order, in one scan.

    ``xml``: element names keep their case, ``/>`` closes any element and no element is
    raw text. With ``cache``, marked fragments are transformed once and kept (see the
    module's description). Raises :class:`TransformFailed` naming a transform that raised.
    """
    if not transforms or not page:
        return page
    roots = []
    for transform in transforms:
        try:
            roots.append(transform.root(page))
        except Exception as error:
            raise TransformFailed(transform, "root") from error
    return _transform(page, transforms, tuple(roots), xml, cache)


def _transform(
    source: str,
    transforms: Sequence[TextTransform],
    roots: tuple[Hashable, ...],
    xml: bool,
    cache: fragments.FragmentCache | None,
) -> str:
    page, parts = fragments.split(source) if cache is not None else (source, [])
    meanings = _meanings_for(cache, transforms, xml)
    inline = [False] * len(parts)
    while True:
        # Fragments still transformed apart, in the order their slots come.
        separate = [part for part, kept in zip(parts, inline, strict=True) if not kept]
        scan = _Scan(transforms, roots, xml, slots=bool(parts), meanings=meanings)
        scan.feed(_with_fragments_inline(page, parts, inline))
        moved = False
        for index in _convert(scan, transforms):
            for slot in scan.slots:
                fragment = separate[slot.index]
                if fragment and not _separable(scan, slot, index, transforms[index]):
                    inline[_nth_separate(inline, slot.index)] = True
                    moved = True
            if moved:
                break
        if not moved:
            break
    out: list[str] = []
    for piece in scan.pieces:
        if isinstance(piece, str):
            out.append(piece)
        elif isinstance(piece, int):
            out.append(scan.texts[piece])
        else:
            converted = _fragment(separate[piece.index], piece, transforms, xml, cache)
            out += [fragments.START, converted, fragments.END]
    return "".join(out)


def _meanings_for(
    cache: fragments.FragmentCache | None, transforms: Sequence[TextTransform], xml: bool
) -> dict[Hashable, _Meaning] | None:
    """The tag meanings kept with ``cache`` for these transforms (none without a cache)."""
    if cache is None:
        return None
    by_keys = _MEANINGS.get(cache)
    if by_keys is None:
        by_keys = _MEANINGS.setdefault(cache, {})
    keys = (tuple((type(t), t.key) for t in transforms), xml)
    found = by_keys.get(keys)
    if found is None:
        if len(by_keys) >= 64:
            by_keys.clear()  # glossaries edited many times over: old vocabularies go
        found = by_keys.setdefault(keys, {})
    return found


def _nth_separate(inline: list[bool], nth: int) -> int:
    """The index among all fragments of the ``nth`` one still transformed apart."""
    seen = -1
    for index, kept in enumerate(inline):
        if not kept:
            seen += 1
            if seen == nth:
                return index
    raise IndexError(nth)


def _with_fragments_inline(page: str, parts: list[str], inline: list[bool]) -> str:
    """``page`` (fragments cut out) with the fragments marked ``inline`` put back in place."""
    if not any(inline):
        return page
    pieces = page.split(fragments.SLOT)
    joined = [pieces[0]]
    for part, kept, after in zip(parts, inline, pieces[1:], strict=True):
        joined.append(fragments.START + part + fragments.END if kept else fragments.SLOT)
        joined.append(after)
    # A fragment put back is no slot: its start mark is followed by its content (empty
    # fragments are never put back).
    return "".join(joined)


def _fragment(
    fragment: str,
    slot: _Slot,
    transforms: Sequence[TextTransform],
    xml: bool,
    cache: fragments.FragmentCache | None,
) -> str:
    if not fragment or all(context is LEFT_ALONE for context in slot.contexts):
        return fragment
    key = (tuple(t.key for t in transforms), slot.contexts, xml, fragment)
    found = cache.get(key) if cache is not None else None
    if found is not None:
        return found
    converted = _transform(fragment, transforms, slot.contexts, xml, None)
    if cache is not None:
        cache.put(key, converted, len(fragment))
    return converted
