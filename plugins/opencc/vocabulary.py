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

A merged table is compiled into a trie-shaped regular expression (one alternative per
first character, sharing prefixes), which matches leftmost-longest like the plain
alternation it replaces but stays fast with thousands of phrases; each combination of
variant, script, groups and post rules is compiled once and kept.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
    """One variant's merged phrases and the pattern that finds them, longest first."""

    def __init__(self, replacements: dict[str, str]) -> None:
        self.replacements = replacements
        self.pattern = trie_pattern(replacements) if replacements else None

    def __bool__(self) -> bool:
        return self.pattern is not None


def trie_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """Compile ``words`` into one pattern that matches the longest word at each position."""
    trie: dict[str, Any] = {}  # nested to any depth; "" marks the end of a word
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends_here = "" in node
        branches = [re.escape(char) + build(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy: the longer word is tried first, the shorter one is kept if it fails.
        return f"(?:{body})?" if ends_here else body

    return re.compile(build(trie))


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
