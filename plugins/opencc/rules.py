"""Phrase rules that override OpenCC: the glossaries and the per-post ``variants_rules``.

A rule names the text to look for (``sources``) and what to write instead in each variant
(``forms``, with fallbacks). Rules are applied to the source text before OpenCC sees it,
so a rule wins over any OpenCC phrase that overlaps it: ``改变量子`` protected as one
rule stops OpenCC's ``變量 → 變數`` from eating the ``量`` of ``量子``.

Rule text, in a post's front matter (``variants_rules: [...]``), is one of:

* ``程序=>程式`` — one-way: ``程序`` becomes ``程式`` in every variant of the other script
  (the Traditional ones for a Simplified post, ``zh-hans`` for a Traditional one);
* ``程序=>zh-tw:程式;zh-hk:程式`` — one-way, per variant (fallbacks apply);
* ``zh-hans:程序;zh-tw:程式;zh-hk:程式`` — two-way, as MediaWiki's ``-{H|…}-``: any of
  the forms becomes the form of the variant being shown.

A glossary file is TOML with one ``[[rule]]`` table per phrase: ``from`` (the phrase as
Simplified text), one key per variant code, and an optional ``note``. Glossary rules apply
to Simplified source text only, and only in the variants they name (no fallbacks).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .variants import HANS, HANT, KNOWN_VARIANTS, RULE_CODES, pick_form


class RuleError(ValueError):
    """A rule or glossary entry that cannot be understood; the message says why."""


@dataclass(frozen=True)
class Rule:
    sources: tuple[str, ...]
    forms: tuple[tuple[str, str], ...]
    #: Glossary fixes target one converter's mistakes, so they apply only to the variants
    #: they name; authors' rules fall back like MediaWiki's (zh-hk → zh-hant → zh-tw).
    fallback: bool = True

    def form_for(self, code: str) -> str | None:
        forms = dict(self.forms)
        return pick_form(forms, code) if self.fallback else forms.get(code)

    def to_json(self) -> dict[str, Any]:
        return {"from": list(self.sources), "to": dict(self.forms)}

    @classmethod
    def from_json(cls, data: Any) -> Rule:
        if not isinstance(data, dict):
            raise RuleError(f"a stored rule must be an object, got {data!r}")
        sources, forms = data.get("from"), data.get("to")
        if not isinstance(sources, list) or not isinstance(forms, dict):
            raise RuleError(f"a stored rule needs 'from' (list) and 'to' (object): {data!r}")
        return _checked(sources, forms, repr(data))


def _checked(
    sources: Iterable[Any], forms: dict[Any, Any], where: str, fallback: bool = True
) -> Rule:
    source_list = [s for s in sources if isinstance(s, str) and s]
    if not source_list:
        raise RuleError(f"{where}: nothing to look for")
    for code, text in forms.items():
        if code not in RULE_CODES:
            raise RuleError(
                f"{where}: unknown variant {code!r} (use one of {', '.join(sorted(RULE_CODES))})"
            )
        if not isinstance(text, str) or not text:
            raise RuleError(f"{where}: the text for {code} must be a non-empty string")
    if not forms:
        raise RuleError(f"{where}: no replacement text")
    return Rule(tuple(dict.fromkeys(source_list)), tuple(sorted(forms.items())), fallback)


def parse_forms(text: str, where: str) -> dict[str, str]:
    """Parse ``zh-hans:程序;zh-tw:程式`` into a dict; raise :class:`RuleError` if malformed."""
    forms: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        code, colon, value = part.partition(":")
        code = code.strip().lower()
        if not colon or not value.strip():
            raise RuleError(f"{where}: expected 'variant:text', got {part.strip()!r}")
        if code in forms:
            raise RuleError(f"{where}: variant {code} given twice")
        forms[code] = value.strip()
    return forms


def looks_like_forms(text: str) -> bool:
    """Whether ``text`` is a ``variant:text;…`` list rather than plain text."""
    first = text.split(";", 1)[0]
    code, colon, _value = first.partition(":")
    return bool(colon) and code.strip().lower() in RULE_CODES


def parse_rule(text: str, own_script: str) -> Rule:
    """Parse one rule string written in a post whose source script is ``own_script``."""
    where = f"rule {text!r}"
    if not isinstance(text, str):
        raise RuleError(f"a rule must be a string, got {text!r}")
    if "=>" in text:
        source, _arrow, target = (part.strip() for part in text.partition("=>"))
        if not source:
            raise RuleError(f"{where}: nothing before '=>'")
        if looks_like_forms(target):
            return _checked([source], parse_forms(target, where), where)
        if not target:
            raise RuleError(f"{where}: nothing after '=>'")
        other = HANT if own_script == HANS else HANS
        codes = [v.code for v in KNOWN_VARIANTS.values() if v.script == other]
        return _checked([source], dict.fromkeys(codes, target), where)
    if not looks_like_forms(text):
        raise RuleError(f"{where}: expected 'from=>to' or 'variant:text;variant:text'")
    forms = parse_forms(text, where)
    return _checked(forms.values(), forms, where)


def parse_rules(texts: Any, own_script: str) -> tuple[list[Rule], list[str]]:
    """Parse a front-matter ``variants_rules`` value; return the good rules and the errors."""
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list):
        return [], [f"variants_rules must be a list of strings, got {type(texts).__name__}"]
    rules, errors = [], []
    for text in texts:
        try:
            rules.append(parse_rule(text, own_script))
        except RuleError as error:
            errors.append(str(error))
    return rules, errors


def load_glossary(path: Path) -> list[Rule]:
    """Read a glossary TOML file; raise :class:`RuleError` naming the file and the entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RuleError(f"{path}: {error}") from None
    entries = data.pop("rule", [])
    if data:
        raise RuleError(f"{path}: unknown top-level keys {sorted(data)} (expected [[rule]])")
    if not isinstance(entries, list):
        raise RuleError(f"{path}: 'rule' must be an array of tables ([[rule]])")
    rules = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: rule {number}"
        if not isinstance(entry, dict):
            raise RuleError(f"{where}: must be a table")
        fields = dict(entry)
        source = fields.pop("from", None)
        note = fields.pop("note", "")
        if not isinstance(source, str) or not source:
            raise RuleError(f"{where}: 'from' must be a non-empty string")
        if not isinstance(note, str):
            raise RuleError(f"{where}: 'note' must be a string")
        rules.append(_checked([source], fields, where, fallback=False))
    return rules
