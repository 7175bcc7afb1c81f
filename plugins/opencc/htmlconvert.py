"""Convert the text of an HTML (or Atom) document into one script variant.

The page is read by the core's one text scan (:func:`blog.api.transform_text`), which
hands :class:`VariantConversion` the page's text runs and human-readable attribute values
together: they are converted in one OpenCC call per configuration, and every other byte
comes out unchanged. Corner quotes and any other plugin's text transform share the scan.

Left alone: what the core's rule protects (``pre, code, kbd, samp, math, svg, script,
style, textarea, var, tt``, ``translate="no"``, the class ``noconvert``) and everything
inside an element with ``data-noconvert`` (the ``-{…}-`` mark) or the class
``variant-switcher``. ``<span data-variants='{"zh-tw": …}'>`` (the
``-{zh-hans:…;zh-tw:…}-`` mark) has its content replaced by the text given for the
variant. ``data-variant-rules`` on an element adds phrase rules for the text inside it,
``data-variant-groups`` (space-separated names) adds conversion groups; ``lang`` says
which script the text is in.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import cast

from blog.api import LEFT_ALONE, FragmentCache, Opening, Runs, Tag, TextTransform, transform_text

from .converters import SEPARATOR, convert_many
from .rules import Rule, RuleError
from .variants import HANS, pick_form, script_of_lang
from .vocabulary import Scope, Vocabulary

#: The variant switcher names each variant in its own script (简, 繁): never converted.
SKIPPED_CLASSES = frozenset({"variant-switcher"})
CONVERTED_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "label"})
#: ``<meta>`` whose ``content`` is prose a reader or a link preview shows.
CONVERTED_META = frozenset(
    {"description", "og:title", "og:description", "og:site_name", "twitter:title",
     "twitter:description", "keywords"}
)  # fmt: skip
_META_ATTRIBUTES = CONVERTED_ATTRIBUTES | {"content"}

#: OpenCC only ever changes CJK characters; text without any is left out of the call.
_CJK = re.compile("[\u2e80-\U0002ffff]")
#: Placeholders for rule replacements and the segment separator live in the supplementary
#: private-use planes; text that already contains such characters is converted without rules.
_PRIVATE = re.compile("[\U000f0000-\U0010ffff]")
_PLACEHOLDER_BASE = 0xF0000
_GROUPS_ATTRIBUTE = re.compile(r'\sdata-variant-groups="([^"]*)"')
#: Every attribute :meth:`VariantConversion.start_tag` acts on has one of these in its
#: name or value (``variant`` covers ``data-variant-*``, ``data-variants`` and the
#: switcher's class). A tag with none of them, and no character reference that could
#: spell one, means nothing to the conversion: most tags of a page.
_ATTENTION = re.compile(
    "lang|noconvert|variant|title|alt|placeholder|label|content|&", re.IGNORECASE
)
_NO_CONVERT_MARK = re.compile(r"\sdata-noconvert(?:[\s=/>])", re.IGNORECASE)


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
class _Segment:
    text: str
    scope: Scope


class _Identity:
    """Hashes and compares ``value`` by identity (a key part for unhashable state)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.value is self.value


class VariantConversion(TextTransform):
    """The text transform converting a page into ``target``'s variant.

    Its context is the :class:`Scope` of the text: script, and the post's rules and groups.
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self.key = (
            "opencc",
            target.code,
            tuple(sorted(target.configs.items())),
            target.default_script,
            _Identity(target.vocabulary),
        )

    def root(self, page: str) -> Hashable:
        """Let one post's groups reach its whole page (title, table of contents, meta).

        As ``{{NoteTA}}`` does on Wikipedia. Only when every post body on the page names
        the same groups: a listing of several posts keeps each body's groups to itself.
        """
        if "data-variant-groups=" not in page:  # a plain search: the pattern's is slow
            return Scope(self.target.default_script)
        named = {html.unescape(value) for value in _GROUPS_ATTRIBUTE.findall(page)}
        if len(named) == 1:
            return Scope(self.target.default_script, tuple(named.pop().split()))
        return Scope(self.target.default_script)

    def start_tag(self, tag: Tag, outer: Hashable) -> Opening | None:
        source = tag.source
        if _ATTENTION.search(source, len(tag.name) + 1) is None:
            return None
        assert isinstance(outer, Scope)
        values = tag.attributes
        if _NO_CONVERT_MARK.search(source) is not None or (
            "class" in values and not SKIPPED_CLASSES.isdisjoint(values["class"].split())
        ):
            return Opening(LEFT_ALONE)
        inner = outer
        # The root's lang is the variant being served (the template context sets it), not
        # the script of the text; that comes from the site's language or inner elements.
        script = values["lang"] if "lang" in values and tag.name.lower() != "html" else None
        rules = values.get("data-variant-rules")
        groups = values.get("data-variant-groups")
        if script is not None or rules is not None or groups is not None:
            inner = Scope(
                script_of_lang(script) if script is not None else outer.script,
                tuple(groups.split()) if groups is not None else outer.groups,
                _stored_rules(rules) if rules is not None else outer.rules,
            )
        replacement = None
        if "data-variants" in values:
            form = _variant_form(values["data-variants"], self.target.code)
            if form is not None:
                replacement = html.escape(form, quote=False)
        meta_prose = tag.name == "meta" and (
            values.get("name", "").lower() in CONVERTED_META
            or values.get("property", "").lower() in CONVERTED_META
        )
        converted = _META_ATTRIBUTES if meta_prose else CONVERTED_ATTRIBUTES
        rewritten = {}
        reads_attributes = False
        for name, _start, _end, raw in tag.spans:
            if name == "lang" and raw.lower().startswith("zh"):
                rewritten = {"lang": self.target.html_lang}
            elif name in converted:
                reads_attributes = True
        if inner is outer and replacement is None and not rewritten and not reads_attributes:
            return None  # ``content`` of a viewport meta, say: nothing to do here
        return Opening(
            inner,
            text_attributes=converted if reads_attributes else frozenset(),
            values=rewritten,
            replacement=replacement,
        )

    def convert(self, runs: Runs) -> list[str] | None:
        chosen = [
            index
            for index, (text, context) in enumerate(zip(runs.texts, runs.contexts, strict=True))
            if isinstance(context, Scope) and _CJK.search(text)
        ]
        if not chosen:
            return None
        segments = [
            _Segment(runs.texts[index], cast(Scope, runs.contexts[index])) for index in chosen
        ]
        texts = list(runs.texts)
        converted = _convert_segments(segments, self.target)
        for index, text in zip(chosen, converted, strict=True):
            texts[index] = text
        return texts


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
    result is the same as converting the whole page.
    """
    return transform_text(source, [VariantConversion(target)], xml=xml, cache=cache)
