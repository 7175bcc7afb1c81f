"""Turn one TeX formula into MathML HTML, or into a visible error box.

latex2mathml builds an ElementTree but its own string output copies text verbatim
(``\\text{</math>…}`` comes out as live markup). We therefore take the tree, decode the
character references it stores as literal text, drop ``href`` (it emits
``javascript:`` URLs for ``\\href``), and serialise it ourselves so every text node is
escaped. The result still goes through the core's sanitizer like any other HTML.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from latex2mathml.converter import convert_to_element

TEX_ENCODING = "application/x-tex"

_CHARACTER_REFERENCE = re.compile(r"&#x([0-9A-Fa-f]{1,6});")
_DROPPED_ATTRIBUTES = ("href", "xmlns")
_NESTING_TOKEN = re.compile(
    r"\\\\|\\[{}]|\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\\begin(?![a-zA-Z])|\\end(?![a-zA-Z])|[{}]"
)


# Environments latex2mathml lacks, mapped to ones it has with the same layout:
# ``aligned`` is ``split``'s right/left column pairs inside a larger formula.
_ENVIRONMENT_ALIASES = {"aligned": "split"}
_ENVIRONMENT = re.compile(r"\\(begin|end)\{(" + "|".join(_ENVIRONMENT_ALIASES) + r")\}")
# Cross-reference labels have no rendering; the converter parses their text as math and
# fails on names such as ``eq:e_u_v`` (two subscripts).
_LABEL = re.compile(r"\\label\{[^{}]*\}")


@dataclass(frozen=True)
class Limits:
    """Formulas beyond these bounds are refused before the converter sees them."""

    max_length: int
    max_nesting: int


class MathError(ValueError):
    """A formula that cannot be shown as MathML; the message is for the author."""


# Elements whose MathML meaning depends on an exact number of children; the converter
# emits them short of an argument for input such as ``\\frac{a}``.
_ARITY = {
    "mfrac": 2,
    "msub": 2,
    "msup": 2,
    "mroot": 2,
    "mover": 2,
    "munder": 2,
    "msubsup": 3,
    "munderover": 3,
}


def nesting_depth(tex: str) -> int:
    """Return the deepest nesting of braces, ``\\left…\\right`` and environments."""
    depth = deepest = 0
    for match in _NESTING_TOKEN.finditer(tex):
        piece = match.group()
        if piece in ("\\\\", "\\{", "\\}"):
            continue
        if piece in ("{", "\\left", "\\begin"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def brace_balance(tex: str) -> tuple[int, int]:
    """Return the number of unclosed ``{`` and of stray ``}`` (escaped braces ignored)."""
    depth = stray = 0
    for match in _NESTING_TOKEN.finditer(tex):
        piece = match.group()
        if piece == "{":
            depth += 1
        elif piece == "}":
            if depth:
                depth -= 1
            else:
                stray += 1
    return depth, stray


def check_limits(tex: str, limits: Limits) -> None:
    """Raise :class:`MathError` when ``tex`` is too long or too deeply nested."""
    if len(tex) > limits.max_length:
        raise MathError(f"formula is {len(tex)} characters long; the limit is {limits.max_length}")
    depth = nesting_depth(tex)
    if depth > limits.max_nesting:
        raise MathError(f"formula nests {depth} levels deep; the limit is {limits.max_nesting}")
    unclosed, stray = brace_balance(tex)
    if unclosed:
        raise MathError(f"{unclosed} unclosed '{{' in formula")
    if stray:
        raise MathError(f"{stray} '}}' without a matching '{{' in formula")


def _prepare(tex: str) -> str:
    """Rewrite what the converter lacks into what it has; the annotation keeps the original."""
    tex = _LABEL.sub("", tex)
    return _ENVIRONMENT.sub(
        lambda match: f"\\{match.group(1)}{{{_ENVIRONMENT_ALIASES[match.group(2)]}}}", tex
    )


def _character(match: re.Match[str]) -> str:
    # The converter writes symbols as references; an author's own reference to a
    # control character, surrogate or out-of-range code point stays literal text.
    code_point = int(match.group(1), 16)
    if code_point < 0x20 or 0xD800 <= code_point <= 0xDFFF or code_point > 0x10FFFF:
        return match.group()
    return chr(code_point)


def _decode_references(text: str | None) -> str | None:
    if text is None:
        return None
    return _CHARACTER_REFERENCE.sub(_character, text)


def _clean_tree(element: ET.Element) -> None:
    for node in element.iter():
        expected = _ARITY.get(node.tag)
        if expected is not None and len(node) != expected:
            raise MathError(f"<{node.tag}> needs {expected} arguments, got {len(node)}")
        node.text = _decode_references(node.text)
        node.tail = _decode_references(node.tail)
        for name in _DROPPED_ATTRIBUTES:
            node.attrib.pop(name, None)


def tex_to_mathml(tex: str, *, display: bool, limits: Limits) -> str:
    """Return a ``<math>`` element for ``tex`` with the source kept as its annotation.

    Raises :class:`MathError` for refused or unconvertible formulas. Any exception of the
    converter is turned into one: latex2mathml raises ``IndexError``, ``RecursionError``
    and its own errors on input it does not understand.
    """
    check_limits(tex, limits)
    try:
        converted = convert_to_element(_prepare(tex), display="block" if display else "inline")
    except Exception as exc:  # the converter's failure modes are not a closed set
        detail = str(exc).strip()
        name = type(exc).__name__
        raise MathError(
            f"LaTeX not understood ({name}: {detail})"
            if detail
            else f"LaTeX not understood ({name})"
        ) from exc
    _clean_tree(converted)  # may raise MathError for incomplete structures
    math = ET.Element("math", {"display": "block" if display else "inline"})
    semantics = ET.SubElement(math, "semantics")
    presentation = ET.SubElement(semantics, "mrow")
    presentation.extend(list(converted))
    annotation = ET.SubElement(semantics, "annotation", {"encoding": TEX_ENCODING})
    annotation.text = tex
    return ET.tostring(math, encoding="unicode")


def render_formula(tex: str, source: str, *, display: bool, limits: Limits) -> str:
    """Return the HTML for one formula: MathML in a marked wrapper, or an error box.

    ``source`` is the formula as the author typed it (with delimiters); the error box
    shows it so nothing is lost.
    """
    kind = "math-display" if display else "math-inline"
    try:
        mathml = tex_to_mathml(tex.strip(), display=display, limits=limits)
    except MathError as error:
        message = html.escape(str(error))
        return (
            f'<span class="math {kind} math-error" title="{message}" translate="no">'
            f"<code>{html.escape(source)}</code>"
            f'<span class="math-error-message">{message}</span></span>'
        )
    return f'<span class="math {kind}" translate="no">{mathml}</span>'
