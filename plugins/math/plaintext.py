"""A formula as readable plain text, for places that cannot show MathML.

Excerpts, feeds and search snippets are plain text. Flattening MathML there turns
``10^{-6}`` into "10−6" and ``x_i^2`` into "xi2"; this module writes "10⁻⁶" and "xᵢ²"
instead, with Unicode super- and subscripts where every character has one, and
``^(…)``/``_(…)`` where not. The result is stored as the formula's ``text/plain``
annotation (a MathML ``<semantics>`` alternative, never rendered).
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET

_SUPERSCRIPT = str.maketrans(
    "0123456789+-−=()abcdefghijklmnoprstuvwxyzT⊤′",
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵀᵀ′",
)
_SUPERSCRIPTABLE = frozenset("0123456789+-−=()abcdefghijklmnoprstuvwxyzT⊤′")
# Accents over a symbol become the combining mark that puts them there.
_COMBINING = {
    "ˆ": "\u0302",
    "^": "\u0302",
    "˜": "\u0303",
    "~": "\u0303",
    "¯": "\u0304",
    "‾": "\u0305",
    "˙": "\u0307",
    "¨": "\u0308",
    "→": "\u20d7",
    "\u20d7": "\u20d7",
}
_SUBSCRIPT = str.maketrans("0123456789+-−=()aeijkmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑᵢⱼₖₘₙₒₚᵣₛₜᵤᵥₓ")
_SUBSCRIPTABLE = frozenset("0123456789+-−=()aeijkmnoprstuvx")
# Invisible operators (function application, invisible times/separator/plus).
_INVISIBLE = str.maketrans("", "", "\u2061\u2062\u2063\u2064")
_MAX_LENGTH = 200


def _script(text: str, table: dict[int, int], allowed: frozenset[str], marker: str) -> str:
    compact = text.replace(" ", "")
    if compact and all(char in allowed for char in compact):
        return compact.translate(table)
    return f"{marker}({text})" if len(compact) > 1 else f"{marker}{text}"


def _grouped(text: str) -> str:
    return text if len(text) <= 1 or text.isalnum() else f"({text})"


def _text(node: ET.Element) -> str:
    tag = node.tag
    children = list(node)
    if tag in ("annotation", "mphantom"):
        return ""
    if tag in ("mi", "mn", "mo", "mtext", "ms"):
        return "".join(node.itertext()).translate(_INVISIBLE)
    if tag == "mspace":
        return " " if (node.get("width") or "").startswith(("1", "2")) else ""
    parts = [_text(child) for child in children]
    if tag == "msup" and len(parts) == 2:
        return parts[0] + _script(parts[1], _SUPERSCRIPT, _SUPERSCRIPTABLE, "^")
    if tag == "msub" and len(parts) == 2:
        return parts[0] + _script(parts[1], _SUBSCRIPT, _SUBSCRIPTABLE, "_")
    if tag == "msubsup" and len(parts) == 3:
        return (
            parts[0]
            + _script(parts[1], _SUBSCRIPT, _SUBSCRIPTABLE, "_")
            + _script(parts[2], _SUPERSCRIPT, _SUPERSCRIPTABLE, "^")
        )
    if tag in ("munder", "munderover", "mover") and parts:
        if node.get("accent") == "true" or node.get("accentunder") == "true":
            mark = _COMBINING.get(parts[-1].strip(), "") if tag == "mover" else ""
            return parts[0] + mark if len(parts[0]) == 1 else parts[0]
        rest = parts[1:]
        under = rest[0] if tag != "mover" and rest else ""
        over = rest[-1] if tag != "munder" and rest else ""
        text = parts[0]
        if under:
            text += _script(under, _SUBSCRIPT, _SUBSCRIPTABLE, "_")
        if over:
            text += _script(over, _SUPERSCRIPT, _SUPERSCRIPTABLE, "^")
        return text
    if tag == "mfrac" and len(parts) == 2:
        return f"{_grouped(parts[0])}/{_grouped(parts[1])}"
    if tag == "msqrt":
        return f"√{_grouped(''.join(parts))}"
    if tag == "mroot" and len(parts) == 2:
        return f"{_script(parts[1], _SUPERSCRIPT, _SUPERSCRIPTABLE, '^')}√{_grouped(parts[0])}"
    if tag == "mtr":
        return " ".join(part for part in parts if part)
    if tag == "mtable":
        return "; ".join(part for part in parts if part)
    if tag == "semantics":
        return parts[0] if parts else ""
    return "".join(parts)


def plain_text(math: ET.Element) -> str:
    """Return ``math`` (a converted ``<math>`` tree) as one line of readable text."""
    text = unicodedata.normalize("NFC", " ".join(_text(math).split()))
    return text if len(text) <= _MAX_LENGTH else text[: _MAX_LENGTH - 1] + "…"
