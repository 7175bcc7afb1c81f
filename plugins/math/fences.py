"""Draw ``\\left…\\right`` at the normal size where TeX would, instead of stretching it.

Chromium gives every stretchy operator an inline box as wide as the font's widest size
variant of its glyph, whatever size it is drawn at: with Latin Modern Math a stretchy
``(`` takes 0.875em where its glyph is 0.389em wide, so ``f\\left(x\\right)`` reads as
``f( x )``. TeX draws the normal-size delimiter, tight against its content, unless the
content is taller than that delimiter by more than ``\\delimiterfactor`` (901) and
``\\delimitershortfall`` (5pt) allow, and that is the common case on real posts (a
parenthesised argument, a bracketed list). :func:`fit_fences` finds each fenced group
whose content is no taller than that and makes its delimiters non-stretchy (the normal
glyph at its natural width); groups around fractions, tables, radicals, large operators
and anything the estimate cannot size keep their stretchy delimiters, as there the growth
matters more than the gap.

The content's height and depth are estimated from the MathML tree with Latin Modern
Math's metrics and TeX's rules for scripts (a character's height and depth; a
superscript raised by 0.363em, a subscript lowered by 0.247em, scripts at 70%). TeX's own
threshold lets the content pass the normal delimiter (1em tall, centred on the math axis
0.25em above the baseline) by about 0.055em at either end: a plain superscript
(``\\left(x^2\\right)``, 0.064em over) already crosses it, and TeX prints ``\\bigl(``. Here
the content may pass it by :data:`OVERHANG`: one level of ordinary scripts, an accent
on a small letter or a bar over a capital stay at the normal size (the script tip shows
over the delimiter as it does around ``(x^2)`` written with plain parentheses), while a
script on a script (``e^{-x^2}``), an accent over a tall letter or anything deeper
stretches.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from functools import lru_cache

#: Big operators (``\\sum``, ``\\int``…), which size themselves and their limits.
LARGE_OPERATORS = frozenset("∑∏∐⋃⋂⨁⨂⨀⨄⋁⋀∫∬∭∮∯∰")

#: How far (em) content may pass the normal-size delimiter at its top or bottom and still
#: be fenced by it (TeX's \\delimiterfactor allows about 0.055em; see the module's note).
OVERHANG = 0.15

# Latin Modern Math (its MATH table and glyph boxes), in em.
_AXIS = 0.25
_NORMAL_HALF = 0.5  # the normal-size ( [ { | ⟨ reach 0.75em up and 0.25em down
_SCRIPT_SCALE = 0.7
_SUPERSCRIPT_UP = 0.363
_SUPERSCRIPT_BOTTOM_MIN = 0.108
_SUPERSCRIPT_DROP_MAX = 0.25
_SUBSCRIPT_DOWN = 0.247
_SUBSCRIPT_TOP_MAX = 0.344
_SUBSCRIPT_DROP_MIN = 0.2
_X_HEIGHT = 0.431
_ASCENDER = 0.694
_CAPITAL = 0.683
_DIGIT = 0.666
_DESCENDER = 0.194
_ACCENT = 0.27  # an accent's top over the x-height of its base
_LIMIT_GAP = 0.15  # between a base and a limit set over or under it
_RULE = 0.165  # \\overline's rule and gap (math.css: 0.065em border, 0.1em padding)
_CJK = (0.85, 0.1)  # ink of an ideograph in the fallback CJK face
_UNKNOWN = (0.75, 0.25)  # no taller than the normal delimiter

#: What math-core writes for the empty delimiter of ``\\left.``/``\\right.``.
NULL_DELIMITER = "\u2063"
#: Delimiters that ``\\left``/``\\right``/``\\middle`` can take.
DELIMITERS = frozenset("()[]{}|‖⟨⟩⌊⌋⌈⌉/\\↑↓↕⇑⇓⇕⟦⟧⟮⟯∣∥⎰⎱⌜⌝⌞⌟" + NULL_DELIMITER)

_TALL_GREEK = frozenset({"BETA", "DELTA", "ZETA", "THETA", "LAMDA", "XI", "PHI"})
_DEEP_GREEK = frozenset(
    {"BETA", "GAMMA", "ZETA", "ETA", "MU", "XI", "RHO", "FINAL", "PHI", "CHI", "PSI"}
)
_TALL_LATIN = frozenset("bdfhklt")
_DEEP_LATIN = frozenset("fgjpqy")
_FLAT = {",": (0.1, _DESCENDER), ";": (_X_HEIGHT, _DESCENDER), ".": (0.11, 0.0)}
_BAR = (0.75, 0.25)
_FULL = {"|": _BAR, "∣": _BAR, "‖": _BAR, "∥": _BAR, "/": _BAR, "\\": _BAR}
# By Unicode category: operators and relations (+ − = < ∈ ⊤ …), punctuation (: ! * …).
_CATEGORY = {"Sm": (0.69, 0.1), "Po": (0.7, 0.0), "Pd": (0.3, 0.0), "So": (0.69, 0.1)}
_EM = re.compile(r"(-?(?:\d+\.?\d*|\.\d+))em")
_TRANSPARENT = frozenset({"mrow", "mstyle", "mphantom", "math", "semantics"})
_TOKENS = frozenset({"mi", "mn", "mo", "mtext", "ms"})
_SCRIPTS = frozenset({"msub", "msup", "msubsup"})
_LIMITS = frozenset({"munder", "mover", "munderover"})
_PADDED = frozenset({"mc-box", "mc-colorbox", "mc-colorframe"})

Extent = tuple[float, float]


def _glyph(char: str) -> Extent | None:
    """Return the height and depth of one character, or ``None`` for a big operator."""
    if char in LARGE_OPERATORS:
        return None
    if char in _FLAT:
        return _FLAT[char]
    if char in _FULL:
        return _FULL[char]
    name = unicodedata.name(char, "")
    words = name.split()
    if "DIGIT" in words:
        return _DIGIT, 0.0
    if "CAPITAL" in words:
        return _CAPITAL, 0.0
    if "SMALL" in words:
        letter = words[-1]
        if "GREEK" in words or len(letter) > 1:
            tall = _ASCENDER if _TALL_GREEK & set(words) else _X_HEIGHT
            return tall, _DESCENDER if _DEEP_GREEK & set(words) else 0.0
        lower = letter.lower()
        height = _ASCENDER if lower in _TALL_LATIN else 0.66 if lower in "ij" else _X_HEIGHT
        return height, _DESCENDER if lower in _DEEP_LATIN else 0.0
    if name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL")) or "\u3000" <= char <= "\uffef":
        return _CJK
    return _CATEGORY.get(unicodedata.category(char), _UNKNOWN)


@lru_cache(maxsize=4096)
def _text(text: str) -> Extent | None:
    """Return the height and depth of a token's text (the same few texts recur)."""
    height = depth = 0.0
    for char in text:
        if char.isspace() or unicodedata.category(char) in ("Mn", "Cf"):
            continue  # variation selectors, invisible operators, combining marks
        glyph = _glyph(char)
        if glyph is None:
            return None
        height, depth = max(height, glyph[0]), max(depth, glyph[1])
    return height, depth


def _length(value: str | None) -> float | None:
    """Return a length in em (``None`` for other units, which are not estimated)."""
    if value is None or value == "0":
        return 0.0
    found = _EM.fullmatch(value)
    return float(found.group(1)) if found else None


def _scaled(extent: Extent | None) -> Extent | None:
    return None if extent is None else (extent[0] * _SCRIPT_SCALE, extent[1] * _SCRIPT_SCALE)


def _scripts(node: ET.Element, sizes: dict[ET.Element, Extent | None]) -> Extent | None:
    base = sizes[node[0]]
    if base is None:
        return None
    height, depth = base
    character = node[0].tag in _TOKENS
    if node.tag in ("msub", "msubsup"):
        sub = _scaled(sizes[node[1]])
        if sub is None:
            return None
        shift = max(_SUBSCRIPT_DOWN, sub[0] - _SUBSCRIPT_TOP_MAX)
        if not character:
            shift = max(shift, depth + _SUBSCRIPT_DROP_MIN)
        depth = max(depth, shift + sub[1])
    if node.tag in ("msup", "msubsup"):
        sup = _scaled(sizes[node[-1]])
        if sup is None:
            return None
        rise = max(_SUPERSCRIPT_UP, _SUPERSCRIPT_BOTTOM_MIN + sup[1])
        if not character:
            rise = max(rise, height - _SUPERSCRIPT_DROP_MAX)
        height = max(height, rise + sup[0])
    return height, depth


def _limits(node: ET.Element, sizes: dict[ET.Element, Extent | None]) -> Extent | None:
    base = sizes[node[0]]
    if base is None:
        return None
    height, depth = base
    accent = node.get("accent") == "true"
    under = node[1] if node.tag in ("munder", "munderover") else None
    over = node[-1] if node.tag in ("mover", "munderover") else None
    if over is not None:
        if accent:
            height = max(height, _X_HEIGHT) + _ACCENT
        else:
            script = _scaled(sizes[over])
            if script is None:
                return None
            height += _LIMIT_GAP + script[0] + script[1]
    if under is not None:
        script = _scaled(sizes[under])
        if script is None:
            return None
        depth += _LIMIT_GAP + script[0] + script[1]
    return height, depth


def _padded(node: ET.Element, content: Extent | None) -> Extent | None:
    if content is None:
        return None
    height, depth = content
    if "height" in node.attrib or "depth" in node.attrib:
        given_height, given_depth = _length(node.get("height")), _length(node.get("depth"))
        if given_height is None or given_depth is None:
            return None
        height = given_height if "height" in node.attrib else height
        depth = given_depth if "depth" in node.attrib else depth
    raised = _length(node.get("voffset"))
    if raised is None:
        return None
    return height + raised, depth - raised


def _row(node: ET.Element, content: Extent | None) -> Extent | None:
    """Return the extent of an ``mrow``-like node from its children's, classes applied."""
    if content is None:
        return None
    height, depth = content
    for name in node.get("class", "").split():
        if name in _PADDED:
            return None
        if name.startswith("mc-size-"):
            scale = int(name.removeprefix("mc-size-")) / 100
            height, depth = height * scale, depth * scale
        elif name.startswith("mc-overline"):
            height += _RULE
        elif name.startswith("mc-underline"):
            depth += _RULE
    return height, depth


def _fenced(node: ET.Element) -> bool:
    """Whether ``node`` is a ``\\left…\\right`` group (math-core marks plain brackets,
    which never stretch, with ``stretchy="false"``)."""
    if node.tag != "mrow" or len(node) < 2:
        return False
    ends = (node[0], node[-1])
    return all(
        end.tag == "mo"
        and (end.text or "").strip() in DELIMITERS
        and end.get("stretchy") != "false"
        and "minsize" not in end.attrib
        for end in ends
    )


def _normal_size(content: Extent | None) -> bool:
    if content is None:
        return False
    reach = max(content[0] - _AXIS, content[1] + _AXIS)
    return reach <= _NORMAL_HALF + OVERHANG


def _fence(node: ET.Element, sizes: dict[ET.Element, Extent | None]) -> Extent | None:
    """Make a fenced group's delimiters the normal-size glyphs when its content is short;
    return the group's extent (``None``: it stretches, so it is tall)."""
    inner = list(node)[1:-1]
    middles = [c for c in inner if c.tag == "mo" and c.get("stretchy") == "true"]
    content = _children([c for c in inner if c not in middles], sizes)
    if not _normal_size(content):
        return None
    assert content is not None
    for delimiter in (node[0], *middles, node[-1]):
        delimiter.set("stretchy", "false")
    visible = (node[0].text or "").strip() != NULL_DELIMITER or (
        node[-1].text or ""
    ).strip() != NULL_DELIMITER
    if not visible:
        return content
    return max(content[0], _AXIS + _NORMAL_HALF), max(content[1], _NORMAL_HALF - _AXIS)


def _children(nodes: list[ET.Element], sizes: dict[ET.Element, Extent | None]) -> Extent | None:
    height = depth = 0.0
    for child in nodes:
        extent = sizes[child]
        if extent is None:
            return None
        height, depth = max(height, extent[0]), max(depth, extent[1])
    return height, depth


def _extent(node: ET.Element, sizes: dict[ET.Element, Extent | None]) -> Extent | None:
    """Return the height and depth (em) of ``node`` from its children's, or ``None`` when
    it is tall or cannot be estimated."""
    tag = node.tag
    if tag in _TOKENS:
        if tag == "mo" and ("minsize" in node.attrib or node.get("largeop") == "true"):
            return None
        return _text("".join(node.itertext()))
    if tag == "mspace":
        return _padded(node, (0.0, 0.0))
    if tag == "mpadded":
        return _padded(node, _children(list(node), sizes))
    if tag in _SCRIPTS and len(node) in (2, 3):
        return _scripts(node, sizes)
    if tag in _LIMITS and len(node) in (2, 3):
        return _limits(node, sizes)
    if tag in _TRANSPARENT:
        if _fenced(node):
            return _row(node, _fence(node, sizes))
        return _row(node, _children(list(node), sizes))
    return None  # fractions, radicals, tables, multiscripts, errors


def fit_fences(tree: ET.Element) -> None:
    """Make the delimiters of each short ``\\left…\\right`` group in ``tree`` non-stretchy.

    Children are sized before their parents (no recursion: formulas may nest deeply), so an
    inner group drawn at the normal size counts as a normal delimiter's height outside it.
    """
    # Only fenced groups are sized; an inner group comes after its outer one in document
    # order, so going backwards sizes (and fits) it first.
    groups = [row for row in tree.iter("mrow") if _fenced(row)]
    sizes: dict[ET.Element, Extent | None] = {}
    for group in reversed(groups):
        stack: list[tuple[ET.Element, bool]] = [(group, False)]
        while stack:
            node, visited = stack.pop()
            if visited:
                sizes[node] = _extent(node, sizes)
            elif node not in sizes:
                stack.append((node, True))
                stack.extend((child, False) for child in node)
