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
from .variants import HANS

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

    def __init__(self, replacements: dict[str, str]) -> None:
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
        """Replace each phrase found in ``text`` by ``replace(its replacement)``."""
        if self.automaton is None:
            return text, 0
        matches = self.automaton.find_matches_as_indexes(text)
        if not matches:
            return text, 0
        pieces, position = [], 0
        for index, start, end in matches:
            pieces += [text[position:start], replace(self.replacements[self.phrases[index]])]
            position = end
        pieces.append(text[position:])
        return "".join(pieces), len(matches)


@dataclass
class Vocabulary:
    """The site's glossary and installed groups, with the merged tables compiled so far."""

    glossary: tuple[Rule, ...] = ()
    groups: Mapping[str, Group] = field(default_factory=dict)
    default_groups: tuple[str, ...] = ()
    _compiled: dict[tuple[str, Scope], Replacements] = field(default_factory=dict)
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

    def merged(self, code: str, scope: Scope) -> dict[str, str]:
        """Merge every source for ``code`` and ``scope``, weakest first, stronger overwriting."""
        merged: dict[str, str] = {}
        if scope.script == HANS:
            _add_rules(merged, self.glossary, code)
        for name in dict.fromkeys((*self.default_groups, *scope.groups)):
            group = self.groups.get(name.lower())
            if group is not None:
                merged.update(group.tables.get(code, {}))
        _add_rules(merged, scope.rules, code)
        return merged


def _add_rules(merged: dict[str, str], rules: Iterable[Rule], code: str) -> None:
    for rule in rules:
        form = rule.form_for(code)
        if form is None:
            continue
        for source in rule.sources:
            merged[source] = form
