"""What overrides OpenCC on a page, merged in order of precedence and compiled once.

Four sources give phrases, from weakest to strongest: OpenCC's own dictionaries, the
glossaries (the plugin's default, then the site's ``glossary.toml``), the conversion groups
(the site's default list, then the post's ``variants_groups``, later names winning) and the
post's ``variants_rules``. They are merged into one replacement table per variant: where
two sources give the same phrase the stronger one wins. The table is matched leftmost and
longest first, so a longer phrase wins whatever its source (a group's ``访问控制表`` over a
post rule's ``访问``), as in a single dictionary; OpenCC then converts what no rule took.

The glossaries hold Simplified phrases and apply to Simplified text only; groups and post
rules list the forms of every variant and apply to text in either script.

A merged table is compiled into an Aho–Corasick automaton (``ahocorasick_rs``, matching
leftmost-longest): a regular expression of a few thousand phrases took 3.5 µs a
character, the automaton a hundredth of that. Each combination of variant, script,
groups and post rules is compiled once and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ahocorasick_rs import AhoCorasick, MatchKind

from .groups import Group
from .rules import Rule
from .segmentation import segmentation_phrases
from .variants import HANS, HANT

#: Compiled tables kept per vocabulary; a site has a handful of group combinations, so
#: this bounds memory only against pathological front matter.
CACHE_SIZE = 256


@dataclass(frozen=True)
class Scope:
    """Where a piece of text sits: its script, and the post's groups and rules around it."""

    script: str = HANS
    groups: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()


class Replacements:
    """One variant's merged phrases and an automaton that finds them, leftmost-longest."""

    def __init__(self, replacements: dict[str, str | None]) -> None:
        self.replacements = replacements
        self.phrases = list(replacements)
        self.automaton = (
            AhoCorasick(self.phrases, matchkind=MatchKind.LeftmostLongest) if self.phrases else None
        )

    def __bool__(self) -> bool:
        return self.automaton is not None

    def find(self, text: str) -> list[str]:
        """Return the phrases found in ``text``, leftmost-longest and not overlapping."""
        return list(self.automaton.find_matches_as_strings(text)) if self.automaton else []

    def sub(self, text: str, replace: Callable[[str], str]) -> tuple[str, int]:
        """Replace each phrase found in ``text`` by ``replace(its replacement)``.

        A phrase whose replacement is ``None`` (an OpenCC phrase shielded from a shorter
        rule inside it) is left as it is, for OpenCC.
        """
        if self.automaton is None:
            return text, 0
        matches = self.automaton.find_matches_as_indexes(text)
        if not matches:
            return text, 0
        pieces, position, count = [], 0, 0
        for index, start, end in matches:
            replacement = self.replacements[self.phrases[index]]
            if replacement is None:
                continue
            pieces += [text[position:start], replace(replacement)]
            position = end
            count += 1
        pieces.append(text[position:])
        return "".join(pieces), count


@dataclass
class Vocabulary:
    """The site's glossary and installed groups, with the merged tables compiled so far."""

    glossary: tuple[Rule, ...] = ()
    groups: Mapping[str, Group] = field(default_factory=dict)
    default_groups: tuple[str, ...] = ()
    _compiled: dict[tuple[str, Scope], Replacements] = field(default_factory=dict)
    _shields: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def known(self, name: str) -> bool:
        return name.lower() in self.groups

    def table(self, code: str, scope: Scope) -> Replacements:
        """Return the compiled table for variant ``code`` and text in ``scope``."""
        key = (code, scope)
        found = self._compiled.get(key)
        if found is not None:
            return found
        compiled = Replacements(self.merged(code, scope))
        with self._lock:
            if len(self._compiled) >= CACHE_SIZE:
                self._compiled.clear()
            self._compiled[key] = compiled
        return compiled

    def merged(self, code: str, scope: Scope) -> dict[str, str | None]:
        """Merge every source for ``code`` and ``scope``, weakest first, stronger overwriting.

        OpenCC's phrases that hold a group phrase come first, mapped to ``None``: matched
        longest first, they keep the group phrase from splitting them.
        """
        active = [
            self.groups[name.lower()]
            for name in dict.fromkeys((*self.default_groups, *scope.groups))
            if name.lower() in self.groups
        ]
        merged: dict[str, str | None] = {}
        for group in active:
            merged.update(dict.fromkeys(self.shields(group, scope.script)))
        if scope.script == HANS:
            _add_rules(merged, self.glossary, code)
        for group in active:
            merged.update(group.tables.get(code, {}))
        _add_rules(merged, scope.rules, code)
        return merged

    def shields(self, group: Group, script: str) -> frozenset[str]:
        """Return OpenCC's segmentation phrases of ``script`` that hold a phrase of ``group``."""
        key = (group.name, script)
        found = self._shields.get(key)
        if found is None:
            sources = {source for table in group.tables.values() for source in table}
            automaton = AhoCorasick(list(sources), matchkind=MatchKind.LeftmostLongest)
            found = frozenset(
                phrase
                for phrase in segmentation_phrases(script)
                if phrase not in sources and automaton.find_matches_as_indexes(phrase)
            )
            self._shields[key] = found
        return found

    def prepare(self) -> None:
        """Compile what the site's pages will need at once, so no reader waits for it."""
        for group in self.groups.values():
            for script in (HANS, HANT):
                self.shields(group, script)


def _add_rules(merged: dict[str, str | None], rules: Iterable[Rule], code: str) -> None:
    for rule in rules:
        form = rule.form_for(code)
        if form is None:
            continue
        for source in rule.sources:
            merged[source] = form
