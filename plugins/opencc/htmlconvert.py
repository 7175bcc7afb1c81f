"""Convert the text of an HTML (or Atom) document into one script variant.

The document is tokenized with a small regular-expression scanner that only slices the
input, so every byte outside converted text and attribute values comes out unchanged
(entities, attribute quoting, whitespace, comments). Text nodes and human-readable
attributes are collected first and converted together, one OpenCC call per configuration,
then spliced back.

Left alone: ``pre, code, kbd, samp, math, svg, script, style, textarea`` and everything
inside an element with ``translate="no"``, ``data-noconvert`` (the ``-{…}-`` mark) or the
class ``variant-switcher``.
``<span data-variants='{"zh-tw": …}'>`` (the ``-{zh-hans:…;zh-tw:…}-`` mark) has its
content replaced by the text given for the variant. ``data-variant-rules`` on an element
adds phrase rules for the text inside it, ``data-variant-groups`` (space-separated names)
adds conversion groups; ``lang`` says which script the text is in.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from blog.api import FragmentCache, join_fragments, split_fragments

from .converters import SEPARATOR, convert_many
from .rules import Rule, RuleError
from .variants import HANS, pick_form, script_of_lang
from .vocabulary import Scope, Vocabulary

SKIPPED_ELEMENTS = frozenset(
    {"pre", "code", "kbd", "samp", "math", "svg", "script", "style", "textarea"}
)
VOID_ELEMENTS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link",
        "meta", "param", "source", "track", "wbr",
    }
)  # fmt: skip
#: Elements whose content the HTML parser reads as text up to the closing tag.
RAW_TEXT_ELEMENTS = frozenset({"script", "style", "textarea", "title"})
#: The variant switcher names each variant in its own script (简, 繁): never converted.
SKIPPED_CLASSES = frozenset({"variant-switcher"})
CONVERTED_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "label"})
#: ``<meta>`` whose ``content`` is prose a reader or a link preview shows.
CONVERTED_META = frozenset(
    {"description", "og:title", "og:description", "og:site_name", "twitter:title",
     "twitter:description", "keywords"}
)  # fmt: skip

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
#: OpenCC only ever changes CJK characters; text without any is left out of the call.
_CJK = re.compile("[\u2e80-\U0002ffff]")
#: Placeholders for rule replacements and the segment separator live in the supplementary
#: private-use planes; text that already contains such characters is converted without rules.
_PRIVATE = re.compile("[\U000f0000-\U0010ffff]")
_PLACEHOLDER_BASE = 0xF0000
_GROUPS_ATTRIBUTE = re.compile(r'\sdata-variant-groups="([^"]*)"')
#: Every attribute :meth:`_Converter.start_tag` acts on has one of these in its name or
#: value (``variant`` covers ``data-variant-*``, ``data-variants`` and the switcher's
#: class). A tag with none of them, and no character reference that could spell one, is
#: copied as it is without reading its attributes: most tags of a page.
_ATTENTION = re.compile(
    "lang|translate|noconvert|variant|title|alt|placeholder|label|content|&", re.IGNORECASE
)
_NO_CONVERT_MARK = re.compile(r"\sdata-noconvert(?:[\s=/>])", re.IGNORECASE)
#: The place :func:`blog.api.split_fragments` leaves for a fragment: its start mark.
_FRAGMENT_SLOT = "<!--blog:fragment-->"


@dataclass(frozen=True)
class Target:
    """What to convert into: the variant, and the OpenCC configuration per source script."""

    code: str
    html_lang: str
    configs: dict[str, str]
    default_script: str = HANS
    glossary: tuple[Rule, ...] = ()
    #: The glossary, groups and compiled tables; built from ``glossary`` alone when absent.
    vocabulary: Vocabulary | None = None

    def __post_init__(self) -> None:
        if self.vocabulary is None:
            object.__setattr__(self, "vocabulary", Vocabulary(glossary=self.glossary))


@dataclass
class _Open:
    name: str
    skip: bool = False
    script: str | None = None
    rules: tuple[Rule, ...] | None = None
    groups: tuple[str, ...] | None = None
    replaced: bool = False
    #: The scope inside this element, resolved when it is opened (shared with the parent
    #: when the element changes nothing), so text needs no walk up the stack.
    inner: Scope | None = None


@dataclass
class _Segment:
    text: str
    scope: Scope


@dataclass
class _Document:
    pieces: list[str | int] = field(default_factory=list)
    segments: list[_Segment] = field(default_factory=list)

    def text(self, text: str, scope: Scope) -> None:
        if _CJK.search(text):
            self.pieces.append(len(self.segments))
            self.segments.append(_Segment(text, scope))
        else:
            self.pieces.append(text)


def _attributes(tag: str) -> Iterator[tuple[str, int, int, str]]:
    """Yield ``(name, value_start, value_end, raw_value)`` for each valued attribute of ``tag``."""
    name_match = _TAG_NAME.match(tag)
    start = name_match.end() if name_match else 0
    for match in _ATTRIBUTE.finditer(tag, start):
        for group in (2, 3, 4):
            value = match.group(group)
            if value is not None:
                yield match.group(1).lower(), match.start(group), match.end(group), value
                break


class _Converter:
    def __init__(self, target: Target, xml: bool) -> None:
        self.target = target
        self.xml = xml
        self.stack: list[_Open] = []
        #: How many open elements skip conversion / had their content replaced: kept as
        #: counts so that the thousands of tags inside MathML and code cost no stack walk.
        self.skip_depth = 0
        self.replaced_depth = 0
        self.doc = _Document()
        self.root_scope = Scope(target.default_script)
        #: The scope at each fragment's place (``None``: where text is left alone).
        self.slots: list[Scope | None] = []

    def page_groups(self, source: str) -> None:
        """Let one post's groups reach its whole page (title, table of contents, meta).

        As ``{{NoteTA}}`` does on Wikipedia. Only when every post body on the page names
        the same groups: a listing of several posts keeps each body's groups to itself.
        """
        named = {html.unescape(value) for value in _GROUPS_ATTRIBUTE.findall(source)}
        if len(named) == 1:
            self.root_scope = Scope(self.target.default_script, tuple(named.pop().split()))

    # -- context of the current position --------------------------------------------

    def skipping(self) -> bool:
        return self.skip_depth > 0

    def replaced(self) -> bool:
        return self.replaced_depth > 0

    def _push(self, entry: _Open) -> None:
        outer = self.scope()
        if entry.script is None and entry.rules is None and entry.groups is None:
            entry.inner = outer
        else:
            entry.inner = Scope(
                entry.script if entry.script is not None else outer.script,
                entry.groups if entry.groups is not None else outer.groups,
                entry.rules if entry.rules is not None else outer.rules,
            )
        self.stack.append(entry)
        self.skip_depth += entry.skip
        self.replaced_depth += entry.replaced

    def _pop_to(self, index: int) -> None:
        for entry in self.stack[index:]:
            self.skip_depth -= entry.skip
            self.replaced_depth -= entry.replaced
        del self.stack[index:]

    def scope(self) -> Scope:
        """The script and the post's rules and groups in force at the current position."""
        if self.stack:
            inner = self.stack[-1].inner
            if inner is not None:
                return inner
        return self.root_scope

    def add_text(self, text: str) -> None:
        if self.replaced():
            return
        if self.skipping():
            self.doc.pieces.append(text)
            return
        self.doc.text(text, self.scope())

    # -- tags -----------------------------------------------------------------------

    def start_tag(self, tag: str) -> str:
        """Handle a start tag; return the element name (lower case unless XML)."""
        raw_name = _TAG_NAME.match(tag)
        name = raw_name.group(1) if raw_name else ""
        name = name if self.xml else name.lower()
        if self.replaced() or self.skipping():
            if not self.replaced():
                self.doc.pieces.append(tag)
            self._push_if_open(tag, _Open(name))
            return name
        if _ATTENTION.search(tag, raw_name.end() if raw_name else 0) is None:
            self.doc.pieces.append(tag)
            self._push_if_open(tag, _Open(name, skip=name.lower() in SKIPPED_ELEMENTS))
            return name
        values = {attr: html.unescape(raw) for attr, _s, _e, raw in _attributes(tag)}
        entry = _Open(name)
        entry.skip = (
            name.lower() in SKIPPED_ELEMENTS
            or values.get("translate", "").lower() == "no"
            or _NO_CONVERT_MARK.search(tag) is not None
            or not SKIPPED_CLASSES.isdisjoint(values.get("class", "").split())
        )
        # The root's lang is the variant being served (the template context sets it), not
        # the script of the text; that comes from the site's language or inner elements.
        if "lang" in values and name.lower() != "html":
            entry.script = script_of_lang(values["lang"])
        if "data-variant-rules" in values:
            entry.rules = _stored_rules(values["data-variant-rules"])
        if "data-variant-groups" in values:
            entry.groups = tuple(values["data-variant-groups"].split())
        form = None
        if "data-variants" in values and not entry.skip:
            form = _variant_form(values["data-variants"], self.target.code)
        self._emit_start_tag(tag, name, values, converting=not entry.skip)
        if form is not None:
            entry.replaced = True
            self.doc.pieces.append(html.escape(form, quote=False))
        self._push_if_open(tag, entry)
        return name

    def _push_if_open(self, tag: str, entry: _Open) -> None:
        # "/>" closes an element only in XML and in foreign content (MathML, SVG); HTML
        # ignores it on its own elements, which stay open until their end tag.
        foreign = entry.name in {"math", "svg"} or self.skipping()
        if tag.endswith("/>") and (self.xml or foreign):
            return
        if not self.xml and entry.name in VOID_ELEMENTS:
            return
        self._push(entry)

    def _emit_start_tag(
        self, tag: str, name: str, values: dict[str, str], converting: bool
    ) -> None:
        if not converting:
            self.doc.pieces.append(tag)
            return
        meta_prose = name.lower() == "meta" and (
            values.get("name", "").lower() in CONVERTED_META
            or values.get("property", "").lower() in CONVERTED_META
        )
        position = 0
        for attr, start, end, raw in _attributes(tag):
            if attr == "lang" and raw.lower().startswith("zh"):
                self.doc.pieces.append(tag[position:start])
                self.doc.pieces.append(self.target.html_lang)
                position = end
            elif attr in CONVERTED_ATTRIBUTES or (attr == "content" and meta_prose):
                self.doc.pieces.append(tag[position:start])
                self.doc.text(raw, self.scope())
                position = end
        self.doc.pieces.append(tag[position:])

    def end_tag(self, tag: str) -> None:
        raw_name = _TAG_NAME.match(tag)
        name = raw_name.group(1) if raw_name else ""
        name = name if self.xml else name.lower()
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index].name == name:
                closes_replacement = self.stack[index].replaced
                self._pop_to(index)
                if not self.replaced() or closes_replacement:
                    self.doc.pieces.append(tag)
                return
        if not self.replaced():
            self.doc.pieces.append(tag)

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
                if token == _FRAGMENT_SLOT:
                    self.slots.append(None if self.skipping() or self.replaced() else self.scope())
                if not self.replaced():
                    self.doc.pieces.append(token)
            else:
                depth = len(self.stack)
                name = self.start_tag(token)
                if not self.xml and name in RAW_TEXT_ELEMENTS and not token.endswith("/>"):
                    position = self._raw_text(source, position, name)
                elif len(self.stack) > depth and self.skip_depth == 1 and self.stack[-1].skip:
                    position = self._skipped_subtree(source, position, name)

    def _skipped_subtree(self, source: str, position: int, name: str) -> int:
        """Copy the content of a just-opened skipped element up to its matching end tag.

        Formulas and highlighted code are thousands of tags that are copied unchanged, so
        they are passed over with one search instead of being tokenized. If the end tag
        cannot be found the content is tokenized as usual.
        """
        flags = 0 if self.xml else re.IGNORECASE
        same_name = re.compile(rf"<(/?){re.escape(name)}(?=[\s/>])", flags)
        depth = 1
        for match in same_name.finditer(source, position):
            depth += -1 if match.group(1) else 1
            if depth == 0:
                if match.start() > position:
                    self.doc.pieces.append(source[position : match.start()])
                return match.start()
        return position

    def _raw_text(self, source: str, position: int, name: str) -> int:
        closing = re.compile(rf"</{name}[\s/>]", re.IGNORECASE).search(source, position)
        end = closing.start() if closing else len(source)
        content = source[position:end]
        if content:
            if name == "title":
                self.add_text(content)
            elif not self.replaced():
                self.doc.pieces.append(content)
        return end

    # -- conversion -----------------------------------------------------------------

    def result(self) -> str:
        converted = _convert_segments(self.doc.segments, self.target)
        return "".join(
            piece if isinstance(piece, str) else converted[piece] for piece in self.doc.pieces
        )


def _stored_rules(raw: str) -> tuple[Rule, ...]:
    try:
        return tuple(Rule.from_json(item) for item in json.loads(raw))
    except (ValueError, TypeError, RuleError):
        return ()


def _variant_form(raw: str, code: str) -> str | None:
    try:
        forms = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(forms, dict):
        return None
    text_forms = {str(k): v for k, v in forms.items() if isinstance(v, str)}
    return pick_form(text_forms, code)


class _Placeholders:
    """Stand-ins for rule replacements: one private-use character per distinct text."""

    def __init__(self) -> None:
        self.by_text: dict[str, str] = {}
        # The reverse table, built once all stand-ins are handed out (a page restores
        # thousands of segments; building it for each was most of their cost).
        self._restoring: dict[int, str] | None = None

    def protect(self, segments: list[_Segment], target: Target) -> tuple[list[str], list[int]]:
        """Put stand-ins for the rules' replacements into ``segments``; say which changed.

        The segments of one scope are matched as one text joined by ``SEPARATOR``, which no
        phrase holds, so nothing matches across two of them: one automaton call per scope
        instead of one per segment. Text that already holds a private-use character (the
        separator among them) is left to OpenCC alone.
        """
        texts = [segment.text for segment in segments]
        if target.vocabulary is None:
            return texts, []
        batches: dict[int, list[int]] = {}
        for index, segment in enumerate(segments):
            if not _PRIVATE.search(segment.text):
                batches.setdefault(id(segment.scope), []).append(index)
        changed: list[int] = []
        for indices in batches.values():
            table = target.vocabulary.table(target.code, segments[indices[0]].scope)
            joined, count = table.sub(SEPARATOR.join(texts[i] for i in indices), self._stand_in)
            if not count:
                continue
            parts = joined.split(SEPARATOR)
            if len(parts) != len(indices):  # a rule's own text held the separator
                parts = [table.sub(texts[i], self._stand_in)[0] for i in indices]
            for index, text in zip(indices, parts, strict=True):
                # A replacement always leaves a stand-in, so an unchanged text took none.
                if text != texts[index]:
                    texts[index] = text
                    changed.append(index)
        return texts, changed

    def _stand_in(self, replacement: str) -> str:
        if replacement not in self.by_text:
            self.by_text[replacement] = chr(_PLACEHOLDER_BASE + len(self.by_text))
            self._restoring = None
        return self.by_text[replacement]

    def restore(self, converted: str) -> str:
        if self._restoring is None:
            self._restoring = {ord(char): text for text, char in self.by_text.items()}
        return converted.translate(self._restoring)


def _convert_segments(segments: list[_Segment], target: Target) -> list[str]:
    """Apply phrase rules, then OpenCC (one call per configuration), then put rules back."""
    placeholders = _Placeholders()
    prepared, protected = placeholders.protect(segments, target)

    by_config: dict[str, list[int]] = {}
    for index, segment in enumerate(segments):
        config = target.configs.get(segment.scope.script, "")
        if config:
            by_config.setdefault(config, []).append(index)
    converted = list(prepared)
    for config, indices in by_config.items():
        texts = convert_many(config, [prepared[i] for i in indices])
        for index, text in zip(indices, texts, strict=True):
            converted[index] = text
    for index in protected:
        converted[index] = placeholders.restore(converted[index])
    return converted


def convert_document(
    source: str, target: Target, xml: bool = False, cache: FragmentCache | None = None
) -> str:
    """Return ``source`` with its prose converted into ``target``'s variant.

    With ``cache``, each marked fragment (a post's body) is converted on its own, in the
    scope its place in the page gives it, and kept: a page scans only its own text. The
    result is the same as converting the whole page: text is converted segment by
    segment, each by its scope alone, and a fragment is balanced HTML (sanitized).
    """
    page, fragments = split_fragments(source) if cache is not None else (source, [])
    converter = _Converter(target, xml)
    converter.page_groups(source)
    converter.feed(page)
    if not fragments:
        return converter.result()
    if len(converter.slots) != len(fragments) or None in converter.slots:
        return convert_document(source, target, xml)  # a slot where text is left alone
    converted = [
        _converted_fragment(fragment, scope, target, xml, cache)
        for fragment, scope in zip(fragments, converter.slots, strict=True)
        if scope is not None
    ]
    joined = join_fragments(converter.result(), converted)
    return joined if joined is not None else convert_document(source, target, xml)


def _converted_fragment(
    fragment: str, scope: Scope, target: Target, xml: bool, cache: FragmentCache | None
) -> str:
    key = (target.code, tuple(sorted(target.configs.items())), scope, xml, fragment)
    found = cache.get(key) if cache is not None else None
    if found is not None:
        return found
    converter = _Converter(target, xml)
    converter.root_scope = scope
    converter.feed(fragment)
    converted = converter.result()
    if cache is not None:
        cache.put(key, converted, len(fragment))
    return converted
