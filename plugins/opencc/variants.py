"""The script variants this plugin knows: their labels, language tags and fallbacks.

A variant code is the lower-case URL prefix (``zh-tw``); its ``html_lang`` is the BCP 47
tag pages carry (``zh-Hant-TW``). Fallback chains follow MediaWiki's LanguageConverter:
an explicit per-variant text missing for ``zh-hk`` is taken from ``zh-hant``, then
``zh-tw``, so authors need not spell out every regional form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HANS = "hans"
HANT = "hant"


@dataclass(frozen=True)
class Variant:
    code: str
    label: str
    html_lang: str
    script: str
    fallbacks: tuple[str, ...]


KNOWN_VARIANTS: dict[str, Variant] = {
    v.code: v
    for v in (
        Variant("zh-hans", "简", "zh-Hans", HANS, ("zh-cn", "zh-sg", "zh-my")),
        Variant("zh-hant", "繁", "zh-Hant", HANT, ("zh-tw", "zh-hk", "zh-mo")),
        Variant("zh-tw", "臺", "zh-Hant-TW", HANT, ("zh-hant", "zh-hk", "zh-mo")),
        Variant("zh-hk", "港", "zh-Hant-HK", HANT, ("zh-hant", "zh-mo", "zh-tw")),
    )
}

#: Codes an author may use in ``-{zh-xx:…}-`` and rules, beyond the served variants,
#: because MediaWiki-style text often names them (``zh-cn``, ``zh-mo``…).
RULE_CODES = frozenset({"zh-hans", "zh-hant", "zh-tw", "zh-hk", "zh-cn", "zh-sg", "zh-my", "zh-mo"})

_TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})


def script_of_lang(lang: str | None) -> str:
    """Return the script (``HANS`` or ``HANT``) a language tag implies; Simplified by default."""
    if not lang:
        return HANS
    subtags = lang.lower().replace("_", "-").split("-")
    if subtags[0] != "zh":
        return HANS
    rest = subtags[1:]
    if "hant" in rest:
        return HANT
    if "hans" in rest:
        return HANS
    return HANT if any(tag in _TRADITIONAL_REGIONS for tag in rest) else HANS


def pick_form(forms: dict[str, str], code: str) -> str | None:
    """Return the text ``forms`` gives for variant ``code``, following the fallback chain."""
    if code in forms:
        return forms[code]
    variant = KNOWN_VARIANTS.get(code)
    for fallback in variant.fallbacks if variant else ():
        if fallback in forms:
            return forms[fallback]
    return None


_LANGUAGE_RANGE = re.compile(r"^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")
_QUALITY = re.compile(r"^q=(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$", re.IGNORECASE)


def parse_accept_language(header: str) -> list[str]:
    """Return the language ranges of an ``Accept-Language`` header, most preferred first.

    Malformed entries are dropped one by one (a browser's typo must not cost the reader
    the rest of the header); ranges with ``q=0`` are refused by the client, so dropped too.
    """
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        if not tag or not _LANGUAGE_RANGE.match(tag):
            continue
        quality = 1.0
        qualities = [p for p in params if p.lower().startswith("q=")]
        if len(qualities) > 1 or (qualities and not _QUALITY.match(qualities[0])):
            continue
        if qualities:
            quality = float(qualities[0][2:])
        if quality > 0:
            weighted.append((-quality, position, tag.lower()))
    return [tag for _q, _p, tag in sorted(weighted)]


def variant_for_language(tag: str) -> str | None:
    """Map one language range to the variant that serves it best, or ``None`` if not Chinese."""
    subtags = tag.lower().split("-")
    if subtags[0] != "zh":
        return None
    rest = set(subtags[1:])
    if rest & {"tw"}:
        return "zh-tw"
    if rest & {"hk", "mo"}:
        return "zh-hk"
    if "hant" in rest:
        return "zh-hant"
    return "zh-hans"


def best_variant(header: str, offered: list[str]) -> str | None:
    """Return the offered variant that best matches an ``Accept-Language`` header."""
    for tag in parse_accept_language(header):
        wanted = variant_for_language(tag)
        if wanted is None:
            continue
        for candidate in (wanted, *KNOWN_VARIANTS[wanted].fallbacks):
            if candidate in offered:
                return candidate
    return None
