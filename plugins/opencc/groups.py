"""Conversion groups: MediaWiki's ``Module:CGroup`` vocabulary lists, loaded from files.

A group is a named list of rules in MediaWiki's rule syntax, the same a Wikipedia article
gets from ``{{NoteTA|G1=IT}}``:

* two-way, ``zh-cn:算法; zh-tw:演算法; zh-hk:算法;`` — any of the forms becomes the form of
  the variant being shown;
* one-way, ``访问=>zh-tw:存取;`` — ``访问`` becomes ``存取`` on zh-tw pages, and nothing else
  changes (the other forms are not sources, the other variants are left to OpenCC).

A rule may mix both kinds and name several one-way parts (``存取=>zh-cn:访问; 存取=>zh-tw:存取;``).

Missing forms of a two-way rule are filled as MediaWiki's ``ConverterRule`` fills them:
variants are visited in MediaWiki's order and each missing one takes the form of its first
fallback that has one (so ``zh-hant`` takes ``zh-tw`` before ``zh-hk``, and ``zh-hk`` then
takes ``zh-hant``). One-way parts are never filled.

Files live in ``instance/variant_groups/``: ``NAME.json`` in the shape of the zhconv-rs
extract (``{"name", "description", "rules": [{"original", "conv"}]}``) or ``NAME.txt`` with
one rule per line (``#`` starts a comment line). Each group is compiled once into one
replacement table per variant; :class:`GroupError` names the file, line and rule of a
malformed rule, a rule with an empty side, conflicting duplicates, or a cycle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .variants import KNOWN_VARIANTS

#: Variant codes MediaWiki's Chinese converter knows, in the order it fills missing forms.
MEDIAWIKI_ORDER = ("zh", "zh-hans", "zh-hant", "zh-cn", "zh-hk", "zh-mo", "zh-my", "zh-sg", "zh-tw")
#: MediaWiki's fallbacks per variant (LanguageZh); ``zh`` (unconverted) has none of its own.
MEDIAWIKI_FALLBACKS: dict[str, tuple[str, ...]] = {
    "zh": (),
    "zh-hans": ("zh-cn", "zh-sg", "zh-my"),
    "zh-hant": ("zh-tw", "zh-hk", "zh-mo"),
    "zh-cn": ("zh-hans", "zh-sg", "zh-my"),
    "zh-sg": ("zh-hans", "zh-cn", "zh-my"),
    "zh-my": ("zh-hans", "zh-sg", "zh-cn"),
    "zh-tw": ("zh-hant", "zh-hk", "zh-mo"),
    "zh-hk": ("zh-hant", "zh-mo", "zh-tw"),
    "zh-mo": ("zh-hant", "zh-hk", "zh-tw"),
}
GROUP_CODES = frozenset(MEDIAWIKI_ORDER)
SUFFIXES = (".json", ".txt")
#: A group's name is its file name: letters, digits, ``_`` and ``-`` only, so a name from
#: front matter or the command line can never point outside the groups folder.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

_CODE = r"zh(?:-[A-Za-z]+)?"
#: MediaWiki splits a rule at ``;`` only where a ``code:`` or ``text=>code:`` part follows,
#: so a form may itself contain ``;`` (an HTML entity, say).
_PART_SEPARATOR = re.compile(rf";\s*(?=(?:{_CODE})\s*:|[^;]*?=>\s*(?:{_CODE})\s*:)")


class GroupError(ValueError):
    """A group file that cannot be used; the message names the file, the line and the rule."""


@dataclass(frozen=True)
class GroupRule:
    """One rule of a group: its two-way forms and its one-way parts, as written."""

    text: str
    line: int
    two_way: tuple[tuple[str, str], ...]
    one_way: tuple[tuple[str, str, str], ...]  # (source, variant, target)

    def tables(self) -> dict[str, dict[str, tuple[str, bool]]]:
        """Return ``{variant: {source: (target, written)}}`` for the variants served here.

        ``written`` is false where the target was filled in from a fallback rather than
        written for that variant: such an entry gives way to a written one silently.
        """
        # A variant named twice keeps its last form, as in MediaWiki; the earlier forms
        # stay sources, so they too become the form shown.
        written = dict(self.two_way)
        filled = dict(written)
        sources = list(dict.fromkeys(form for _code, form in self.two_way))
        for code in MEDIAWIKI_ORDER:
            if code not in filled:
                for fallback in MEDIAWIKI_FALLBACKS[code]:
                    if fallback in filled:
                        filled[code] = filled[fallback]
                        break
        tables: dict[str, dict[str, tuple[str, bool]]] = {}
        for code in KNOWN_VARIANTS:
            table: dict[str, tuple[str, bool]] = {}
            if code in filled:
                for source in (*sources, *filled.values()):
                    table[source] = (filled[code], code in written)
            for source, variant, target in self.one_way:
                if variant == code:
                    table[source] = (target, True)
            if table:
                tables[code] = table
        return tables


def parse_group_rule(text: str, line: int = 0) -> GroupRule:
    """Parse one rule in MediaWiki's syntax; raise :class:`GroupError` (without the file)."""
    two_way: list[tuple[str, str]] = []
    one_way: list[tuple[str, str, str]] = []
    body = text.strip()
    if not body:
        raise GroupError("empty rule")
    for raw in _PART_SEPARATOR.split(body):
        part = raw.strip().removesuffix(";").strip()
        if not part:
            continue
        source = None
        if "=>" in part:
            source, _arrow, part = (piece.strip() for piece in part.partition("=>"))
            if not source:
                raise GroupError(f"nothing before '=>' in {raw.strip()!r}")
        code, colon, form = (piece.strip() for piece in part.partition(":"))
        code = code.lower()
        if not colon or code not in GROUP_CODES:
            raise GroupError(
                f"expected 'variant:text' with a variant among {', '.join(MEDIAWIKI_ORDER)}, "
                f"got {raw.strip()!r}"
            )
        if not form:
            raise GroupError(f"empty text for {code} in {raw.strip()!r}")
        if source is not None:
            one_way.append((source, code, form))
        else:
            two_way.append((code, form))
    if not two_way and not one_way:
        raise GroupError("no 'variant:text' part")
    return GroupRule(body, line, tuple(two_way), tuple(one_way))


@dataclass
class Group:
    """A loaded group: its rules and one compiled replacement table per variant."""

    name: str
    path: Path
    description: str
    rules: tuple[GroupRule, ...]
    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Rules that give a written form a second, different target (see :func:`compile_group`).
    conflicts: tuple[str, ...] = ()

    @property
    def rule_count(self) -> int:
        return len(self.rules)


def _where(path: Path, rule: GroupRule) -> str:
    return f"{path}: line {rule.line}: rule {rule.text!r}"


def compile_group(
    name: str,
    path: Path,
    description: str,
    rules: Iterable[GroupRule],
    strict: bool = True,
) -> Group:
    """Build the per-variant tables of ``rules``; refuse cycles, and conflicts if ``strict``.

    Two rules conflict when both write a target for the same source in the same variant and
    the targets differ (``zh-cn:等离子体; zh-tw:電漿體;`` and ``zh-cn:等离子体; zh-tw:電漿;``).
    Strict loading refuses that with the file, line and rule; otherwise the later rule wins,
    as on Wikipedia (whose own groups hold a few such pairs), and the conflict is listed.
    A target only filled in from a fallback gives way to a written one without complaint.
    """
    rule_list = tuple(rules)
    tables: dict[str, dict[str, str]] = {}
    origin: dict[tuple[str, str], tuple[GroupRule, bool]] = {}
    conflicts: list[str] = []
    for rule in rule_list:
        for code, table in rule.tables().items():
            merged = tables.setdefault(code, {})
            for source, (target, written) in table.items():
                earlier = merged.get(source)
                if earlier is not None and earlier != target:
                    first, first_written = origin[(code, source)]
                    if not written and first_written:
                        continue
                    if written and first_written:
                        message = (
                            f"{_where(path, rule)}: {source!r} becomes {target!r} in {code}, "
                            f"but line {first.line} ({first.text!r}) makes it {earlier!r}"
                        )
                        if strict:
                            raise GroupError(message + " (conflicting rules)")
                        conflicts.append(message)
                merged[source] = target
                origin[(code, source)] = (rule, written)
    for code, variant_table in tables.items():
        for source in variant_table:
            cycle = _cycle(variant_table, source)
            if cycle:
                rule, _written = origin[(code, source)]
                raise GroupError(
                    f"{_where(path, rule)}: rules form a cycle in {code}: {' → '.join(cycle)}"
                )
    return Group(name, path, description, rule_list, tables, tuple(conflicts))


def _cycle(table: dict[str, str], source: str) -> list[str]:
    """Return the chain ``source → … → source`` if following ``table`` comes back, else []."""
    chain = [source]
    current = table[source]
    while current != chain[-1]:  # a form that maps to itself ends the chain
        if current == source:
            return [*chain, source]
        if current in chain:
            return []  # a cycle that does not pass through source: found from its own members
        chain.append(current)
        following = table.get(current)
        if following is None:
            return []
        current = following
    return []


def _json_rule_lines(text: str) -> Iterator[int]:
    """Yield the line of each ``"conv"`` key in a JSON group, in order."""
    for match in re.finditer(r'"conv"\s*:', text):
        yield text.count("\n", 0, match.start()) + 1


def load_group(path: Path, strict: bool = False) -> Group:
    """Read and compile one group file; raise :class:`GroupError` naming what is wrong.

    ``strict`` also refuses conflicting rules (``blog groups add`` checks that way); an
    installed file is loaded with the later of two conflicting rules winning.
    """
    name = path.stem
    if path.suffix not in SUFFIXES:
        raise GroupError(f"{path}: a group file ends in .json or .txt")
    if not NAME_PATTERN.match(name):
        raise GroupError(
            f"{path}: a group's file name may hold only letters, digits, '_' and '-' "
            "(it is the name posts use)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise GroupError(f"{path}: {error}") from None
    rules: list[GroupRule] = []
    description = ""
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as error:
            raise GroupError(f"{path}: not JSON: {error}") from None
        entries = data.get("rules") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise GroupError(f"{path}: expected an object with a 'rules' list")
        description = str(data.get("description") or "")
        lines = list(_json_rule_lines(text))
        for number, entry in enumerate(entries, start=1):
            line = lines[number - 1] if len(lines) == len(entries) else 0
            conv = entry.get("conv") if isinstance(entry, dict) else None
            where = f"{path}: line {line}: rule {number}"
            if not isinstance(conv, str):
                raise GroupError(f"{where}: expected {{'original', 'conv'}} with 'conv' a string")
            try:
                rules.append(parse_group_rule(conv, line))
            except GroupError as error:
                raise GroupError(f"{where} {conv!r}: {error}") from None
    else:
        for line, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                rules.append(parse_group_rule(stripped, line))
            except GroupError as error:
                raise GroupError(f"{path}: line {line}: rule {stripped!r}: {error}") from None
    if not rules:
        raise GroupError(f"{path}: no rules")
    return compile_group(name, path, description, rules, strict)


def group_files(folder: Path) -> list[Path]:
    """Return the group files in ``folder`` (none if it does not exist), sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()),
        key=lambda p: p.name.lower(),
    )


def load_groups(folder: Path) -> dict[str, Group]:
    """Load every group in ``folder``, keyed by lower-case name; raise on the first problem."""
    groups: dict[str, Group] = {}
    for path in group_files(folder):
        group = load_group(path)
        key = group.name.lower()
        if key in groups:
            raise GroupError(
                f"{path}: group {group.name!r} is also defined by {groups[key].path.name}"
            )
        groups[key] = group
    return groups
