"""Rebuild converter output as MathML Core that passes ``style-src 'self'``.

math-core writes MathML Core, but lays out tables, rules, operator padding and colours
with inline ``style`` attributes and encloses ``\\boxed``/``\\cancel`` in ``menclose``
(not in MathML Core). The page's CSP forbids inline styles, so each declaration becomes
a class that ``static/math.css`` styles, and ``menclose`` becomes an ``mrow`` with
classes. The output is rebuilt as an ElementTree, so whatever the converter wrote, the
serialised result is well-formed and every text node escaped; the core's sanitizer still
runs afterwards.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.entities import html5 as html5_entities
from html.parser import HTMLParser
from itertools import pairwise

from blog_plugins.math.fences import LARGE_OPERATORS, NULL_DELIMITER, fit_fences
from blog_plugins.math.fillins import MARK, SIZES

#: Elements of MathML Core that the converter may emit; anything else is refused.
CORE_ELEMENTS = frozenset(
    {
        "math",
        "semantics",
        "annotation",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msub",
        "msup",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "mover",
        "munder",
        "munderover",
        "mmultiscripts",
        "mprescripts",
        "none",
        "mtable",
        "mtr",
        "mtd",
        "mstyle",
        "mpadded",
        "mphantom",
        "merror",
    }
)

_GLOBAL_ATTRIBUTES = frozenset(
    {"displaystyle", "scriptlevel", "class", "mathcolor", "mathbackground"}
)
#: What ``mathcolor``/``mathbackground`` may hold: a colour name or ``#hex``, nothing that
#: CSS would read as more than a colour. The sanitizer checks stored HTML against it too.
COLOUR_VALUE = r"#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}|[A-Za-z]{1,30}"
_COLOUR_VALUE = re.compile(COLOUR_VALUE)
_COLOUR_ATTRIBUTES = frozenset({"mathcolor", "mathbackground"})
#: Attributes of MathML Core per element (besides the global ones above).
CORE_ATTRIBUTES: dict[str, frozenset[str]] = {
    "math": frozenset({"display"}),
    "annotation": frozenset({"encoding"}),
    "mi": frozenset({"mathvariant"}),
    "mo": frozenset(
        {
            "form",
            "fence",
            "separator",
            "lspace",
            "rspace",
            "stretchy",
            "symmetric",
            "maxsize",
            "minsize",
            "largeop",
            "movablelimits",
        }
    ),
    "mfrac": frozenset({"linethickness"}),
    "mspace": frozenset({"width", "height", "depth"}),
    "mpadded": frozenset({"width", "height", "depth", "lspace", "voffset"}),
    "mover": frozenset({"accent"}),
    "munder": frozenset({"accentunder"}),
    "munderover": frozenset({"accent", "accentunder"}),
    "mtd": frozenset({"columnspan", "rowspan", "id"}),
}

_LENGTH_ATTRIBUTES = frozenset({"lspace", "rspace", "width", "height", "depth", "voffset"})
# MathML Core lengths are CSS lengths; named spaces and "mu" are MathML 3 only.
_CSS_LENGTH = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:r?em|ex|px|pt|%)?|0")

_EM_STEPS = {"0.1667em": "3mu", "0.2222em": "4mu", "0.2778em": "5mu", "1em": "1em"}
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# The colours math-core writes for the names authors use most (red, blue…): math.css
# gives each a shade that reads on the light and the dark theme. Other colours are
# shown as written, through MathML's mathcolor attribute (no inline style).
PALETTE = frozenset(
    {"ff0000", "0000ff", "03ff00", "00ff00", "ff8001", "ffeb3d", "00b9f2", "bf0140", "808080"}
    | {"fb3199"}
)


class ConversionRefused(ValueError):
    """Converter output that cannot be made into MathML Core (the message says why)."""


def _declaration_class(prop: str, value: str) -> str | None:
    """Return the class standing for one CSS declaration, or ``None`` to drop it."""
    value = value.strip().lower()
    if prop == "text-align" and value in ("left", "right", "center"):
        return f"mc-align-{value}"
    if prop in ("padding-left", "padding-right"):
        side = prop.removeprefix("padding-")
        if value in ("0", "0em", "0pt"):
            return f"mc-pad-{side}-0"
        step = _EM_STEPS.get(value)
        return f"mc-pad-{side}-{step}" if step else None
    if prop == "width" and value in ("100%", "50%", "7.5%"):
        return "mc-width-" + value.rstrip("%").replace(".", "-")
    if prop.startswith("border-") and prop.count("-") == 1:
        side = prop.removeprefix("border-")
        kind = "dashed" if "dashed" in value else "solid"
        return f"mc-rule-{side}" + ("-dashed" if kind == "dashed" else "")
    if prop == "margin-left" and value.startswith("-0.1666"):
        return "mc-back-3mu"
    if prop == "color" and _HEX_COLOUR.fullmatch(value) and value[1:] in PALETTE:
        return "mc-color-" + value[1:]
    return None  # justify-items duplicates text-align; other declarations have no class


def style_colour(style: str) -> str | None:
    """Return the text colour of an inline ``style`` when no palette class stands for it."""
    for declaration in style.split(";"):
        prop, _, value = declaration.partition(":")
        value = value.strip().lower()
        if prop.strip().lower() == "color" and _HEX_COLOUR.fullmatch(value):
            return None if value[1:] in PALETTE else value
    return None


def style_classes(style: str) -> list[str]:
    """Return the classes standing for the declarations of an inline ``style``."""
    classes = []
    for declaration in style.split(";"):
        prop, colon, value = declaration.partition(":")
        if colon:
            name = _declaration_class(prop.strip().lower(), value)
            if name and name not in classes:
                classes.append(name)
    return classes


_ENCLOSE_CLASSES = {
    "box": "mc-box",
    "updiagonalstrike": "mc-strike-up",
    "downdiagonalstrike": "mc-strike-down",
    "horizontalstrike": "mc-strike-across",
}


# HTML phrasing that math-core puts inside <mtext> for \\textbf and the like. MathML
# Core text holds no HTML, so the markup is dropped and its look becomes a class on the
# enclosing <mtext> (math-core gives each styled run an <mtext> of its own).
_TEXT_STYLES = {
    "b": "mc-text-bold",
    "strong": "mc-text-bold",
    "i": "mc-text-italic",
    "em": "mc-text-italic",
    "code": "mc-text-mono",
    "tt": "mc-text-mono",
    "s": "mc-text-strike",
    "u": "mc-text-underline",
}
_TRANSPARENT = frozenset({"span", *_TEXT_STYLES})


def _text_style(tag: str, attributes: dict[str, str]) -> list[str]:
    """Return the classes standing for one phrasing element inside ``<mtext>``."""
    classes = [_TEXT_STYLES[tag]] if tag in _TEXT_STYLES else []
    for name in attributes.get("class", "").split():
        if name in ("math-core-sans-serif-font", "math-core-serif-font"):
            classes.append(name.replace("math-core-", "mc-"))
    return classes


def _add_classes(element: ET.Element, classes: list[str]) -> None:
    if classes:
        present = element.get("class", "").split()
        element.set("class", " ".join(dict.fromkeys([*present, *classes])))


def core_element(tag: str, attributes: dict[str, str]) -> ET.Element:
    """Return the MathML Core element standing for one element of the converter's output."""
    attributes = dict(attributes)
    classes = [c for c in attributes.pop("class", "").split() if c.startswith("math-core-")]
    classes = [c.replace("math-core-", "mc-") for c in classes]
    if tag == "menclose":
        for notation in attributes.pop("notation", "").split():
            classes.append(_ENCLOSE_CLASSES.get(notation, "mc-box"))
        tag = "mrow"
    if tag not in CORE_ELEMENTS:
        raise ConversionRefused(f"the converter produced <{tag}>, which is not MathML")
    style = attributes.pop("style", "")
    classes.extend(style_classes(style))
    allowed = CORE_ATTRIBUTES.get(tag, frozenset()) | _GLOBAL_ATTRIBUTES
    kept = {}
    colour = style_colour(style) if style else None
    if colour:
        kept["mathcolor"] = colour
    for name, value in attributes.items():
        if name not in allowed:
            continue
        if name in _COLOUR_ATTRIBUTES and not _COLOUR_VALUE.fullmatch(value):
            continue
        if name == "mathvariant" and value != "normal":
            continue
        if name in _LENGTH_ATTRIBUTES and not _CSS_LENGTH.fullmatch(value):
            continue
        kept[name] = value
    if classes:
        kept["class"] = " ".join(dict.fromkeys(classes))
    return ET.Element(tag, kept)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: ET.Element | None = None
        self.stack: list[ET.Element] = []

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> ET.Element:
        element = core_element(tag, {name: value or "" for name, value in attrs})
        if self.stack:
            self.stack[-1].append(element)
        elif self.root is None:
            self.root = element
        else:
            raise ConversionRefused("the converter produced more than one <math>")
        return element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mrow" and any(
            name == "class" and (value or "").startswith("menclose-") for name, value in attrs
        ):
            # math-core's empty strike-line helpers; the enclosing mrow's class draws them.
            self.stack.append(ET.Element("skip"))
            return
        if tag == "a":
            self.stack.append(ET.Element("skip"))
            return
        if tag in _TRANSPARENT:
            if self.stack and self.stack[-1].tag == "mtext":
                _add_classes(self.stack[-1], _text_style(tag, {n: v or "" for n, v in attrs}))
            return
        element = self._element(tag, attrs)
        if tag != "mspace":
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "mspace" or tag in _TRANSPARENT or not self.stack:
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.stack:
            return
        node = self.stack[-1]
        if node.tag == "skip":
            return
        if len(node):
            node[-1].tail = (node[-1].tail or "") + data
        else:
            node.text = (node.text or "") + data


# math-core writes HTML named references such as &ApplyFunction; that XML lacks.
_ENTITY_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_ENTITIES = {name[:-1]: text for name, text in html5_entities.items() if name.endswith(";")}


def _converted(node: ET.Element) -> ET.Element | None:
    """Return ``node`` rebuilt as MathML Core, or ``None`` if it needs the tolerant path."""
    if node.tag in _TRANSPARENT or node.tag == "a":
        return None
    element = core_element(node.tag, dict(node.attrib))
    element.text = node.text
    for child in node:
        if child.tag == "mrow" and child.get("class", "").startswith("menclose-"):
            if child.tail and child.tail.strip():
                return None
            continue  # math-core's strike-line helpers: the enclosing class draws them
        rebuilt = _converted(child)
        if rebuilt is None:
            return None
        rebuilt.tail = child.tail
        element.append(rebuilt)
    return element


def _table_levels_on_mstyle(tree: ET.Element) -> ET.Element:
    """Move ``scriptlevel`` off ``mtable`` onto a wrapping ``mstyle``.

    Both are MathML Core, but HTML validators still check MathML 3, which allows the
    attribute on ``mstyle`` only; the layout is the same.
    """
    for parent in list(tree.iter()):
        for index, child in enumerate(list(parent)):
            if child.tag == "mtable" and "scriptlevel" in child.attrib:
                style = ET.Element("mstyle", {"scriptlevel": child.attrib.pop("scriptlevel")})
                style.tail, child.tail = child.tail, None
                parent.remove(child)
                style.append(child)
                parent.insert(index, style)
    return tree


#: Accents that ``\\widetilde``/``\\widecheck`` put over their base through ``\\overset``
#: (math-core has no wide forms; see ``BUILTIN_MACROS`` in :mod:`.render`).
WIDE_ACCENTS = frozenset({"\u02dc", "\u02c7"})
# Unicode's variation selector for the roundhand (``\\mathscr``) form of a script letter;
# U+FE00 marks the chancery (``\\mathcal``) form. Latin Modern Math draws both alike,
# so roundhand letters get a class that the script face in math.css answers.
_ROUNDHAND = "\ufe01"


# math-core's \widehat is the combining circumflex, which Chromium draws as nothing.
_COMBINING_WIDE = {"\u0302": "\u02c6", "\u0303": "\u02dc", "\u030c": "\u02c7"}
_SCRIPT_ELEMENTS = frozenset({"msub", "msup", "msubsup", "munder", "mover", "munderover"})


def _estimated_width(node: ET.Element) -> float:
    """Return roughly how many em ``node`` is wide, from its characters (no font metrics)."""
    if node.tag in _SCRIPT_ELEMENTS and len(node):
        return _estimated_width(node[0]) + 0.7 * sum(_estimated_width(c) for c in node[1:])
    width = 0.0
    for char in node.text or "":
        if char.islower():
            width += 0.56
        elif char.isdigit():
            width += 0.5
        elif not char.isspace() and not 0xFE00 <= ord(char) <= 0xFE0F:
            width += 0.9
    return width + sum(_estimated_width(child) for child in node)


def _width_step(base: ET.Element) -> int:
    """Return the ``mc-wide-N`` step (1–4) whose scaled accent spans ``base``."""
    width = _estimated_width(base)
    return 1 if width <= 1 else 2 if width < 1.6 else 3 if width < 2.5 else 4


_SCRIPTED = frozenset({"munder", "munderover", "msub", "msup", "msubsup"})


def _is_large_operator(node: ET.Element) -> bool:
    """Whether ``node`` is a big operator with its limits (``\\sum_{i}``)."""
    if node.tag not in _SCRIPTED or not len(node):
        return False
    base = node[0]
    return base.tag == "mo" and (base.text or "").strip() in LARGE_OPERATORS


def _separate_large_operators(parent: ET.Element) -> None:
    # math-core zeroes the right spacing of a big operator whose operand is a braced group
    # (\\sum_{i}{\\log x}, \\prod_{j}{\\prod_{k} …}); TeX puts a thin space there, without
    # which the operand, or the next operator's limits, touch the limits of this one.
    children = list(parent)
    for current, following in pairwise(children):
        if (
            _is_large_operator(current)
            and current[0].get("rspace") == "0"
            and following.tag != "mo"
        ):
            _add_classes(current, ["mc-op-space"])


_PRIMES = frozenset({"′", "″", "‴", "⁗"})


def _is_prime(node: ET.Element) -> bool:
    return node.tag == "mo" and (node.text or "").strip() in _PRIMES and not len(node)


def _is_rule(node: ET.Element) -> bool:
    return node.tag == "mo" and (node.text or "").strip() == "\u0332" and not len(node)


def _marked(node: ET.Element) -> list[str] | None:
    """Return the kind and arguments of a fill-in marker (see :mod:`.fillins`), if one."""
    if node.tag != "mover" or len(node) != 2 or node[1].tag != "mtext":
        return None
    text = node[1].text or ""
    return text[1:].split() if text.startswith(MARK) and not len(node[1]) else None


_SIZE_STEPS = frozenset(SIZES.values())


# Latin Modern Math's script and scriptscript scale-downs (its MATH table), then CSS's
# default step for each deeper level.
_SCRIPT_SCALES = (1.0, 0.7, 0.5)
_SCRIPTED_CHILDREN = frozenset({"msub", "msup", "msubsup", "munder", "mover", "munderover"})


def _compact(node: ET.Element, parents: dict[ET.Element, ET.Element]) -> bool:
    """Whether ``node`` is laid out in MathML's compact math style (TeX's text style or
    smaller): its own or the nearest ``displaystyle``, else what its place implies."""
    child = node
    while True:
        style = child.get("displaystyle")
        if style in ("true", "false"):
            return style == "false"
        parent = parents.get(child)
        if parent is None:
            return child.get("display") != "block"
        if parent.tag == "mfrac" or (
            parent.tag in (*_SCRIPTED_CHILDREN, "mroot") and child is not parent[0]
        ):
            return True
        child = parent


def _script_level(node: ET.Element, parents: dict[ET.Element, ET.Element]) -> int:
    """Return how many script levels down ``node`` sits: scripts, roots' indexes, the parts
    of a fraction set in compact style (an inline ``\\frac``, as MathML Core's
    ``math-depth: auto-add`` shrinks them) and explicit ``scriptlevel`` changes."""
    level = 0
    child = node
    while child in parents:
        parent = parents[child]
        if parent.tag in _SCRIPTED_CHILDREN and child is not parent[0]:
            level += 1
        elif parent.tag == "mroot" and child is not parent[0]:
            level += 2
        elif parent.tag == "mfrac" and _compact(parent, parents):
            level += 1
        change = parent.get("scriptlevel", "")
        if change.isdigit():
            return level + int(change)  # an absolute level set by \scriptstyle and kin
        child = parent
    return level


_RULE_LENGTH = re.compile(rf"(?:{_CSS_LENGTH.pattern})|-?(?:\d+\.?\d*|\.\d+)mu")


def _text_em(length: str, level: int) -> str:
    # TeX reads the em of \rule in the text font whatever the math style, so a rule in
    # a script is as tall as in the text; in MathML "em" follows the script's smaller size.
    if length.endswith("mu"):
        # Math units (1/18 em of the current math size) shrink with the script as em
        # does in MathML: no scaling back.
        return f"{float(length[:-2]) / 18:.4g}em"
    found = _EM.fullmatch(length)
    if not found or level <= 0:
        return length
    scale = _SCRIPT_SCALES[min(level, 2)] * 0.71 ** max(level - 2, 0)
    return f"{float(found.group(1)) / scale:.4g}em"


def _unmark(node: ET.Element, marked: list[str], level: int = 0) -> None:
    """Rebuild a fill-in marker as the MathML Core it stands for (``level``: the script
    level it sits at)."""
    kind, args = marked[0], marked[1:]
    base = node[0]
    node.remove(node[1])
    node.attrib.clear()
    if kind == "size" and len(args) == 1 and args[0] in _SIZE_STEPS:
        # A size switch: the stylesheet scales the run it covers.
        node.tag = "mrow"
        node.set("class", f"mc-size-{args[0]}")
    elif kind == "rule" and len(args) == 3 and all(_RULE_LENGTH.fullmatch(a) for a in args):
        # \rule: a box of the given size filled with the text colour.
        width, height, raise_by = (_text_em(length, level) for length in args)
        node.remove(base)
        node.append(ET.Element("mspace", {"width": width, "height": height, "class": "mc-fill"}))
        node.tag = "mpadded"
        if float(re.sub(r"[a-z%]+$", "", raise_by) or 0):
            node.set("voffset", raise_by)
    elif kind == "lap" and args in (["left"], ["right"], ["center"]):
        # \rlap and kin: the content takes no width; the stylesheet moves it left of
        # (or centres it on) its place.
        node.tag = "mpadded"
        node.set("width", "0")
        if args[0] != "right":
            node.set("class", f"mc-lap-{args[0]}")
    elif kind == "segment" and args in (["over"], ["under"]):
        node.tag = "mrow"
        node.set("class", f"mc-{args[0]}line-segment")
    elif kind == "color" and len(args) == 1 and _HEX_COLOUR.fullmatch("#" + args[0]):
        # \textcolor{#1a2b3c}{…} and \color{#1a2b3c}: the colour as written.
        node.tag = "mrow"
        node.set("mathcolor", "#" + args[0])
    elif kind == "background" and len(args) == 1 and _HEX_COLOUR.fullmatch("#" + args[0]):
        # \colorbox: the text on a coloured ground with TeX's \fboxsep around it.
        node.tag = "mrow"
        node.set("mathbackground", "#" + args[0])
        node.set("class", "mc-colorbox")
    elif kind == "frame" and len(args) == 2 and all(_HEX_COLOUR.fullmatch("#" + a) for a in args):
        # \fcolorbox: a frame colour can only be a border in CSS, which would need a
        # style; an outer box of the frame colour shows as a rim around the inner one.
        node.tag = "mrow"
        node.set("mathbackground", "#" + args[0])
        node.set("class", "mc-colorframe")
        inner = ET.Element("mrow", {"mathbackground": "#" + args[1], "class": "mc-colorbox"})
        node.remove(base)
        inner.append(base)
        node.append(inner)
    else:
        node.tag = "mrow"


_EM = re.compile(r"(-?(?:\d+\.?\d*|\.\d+))em")


def _room_for_raise(node: ET.Element) -> None:
    # \raisebox makes its box taller (or deeper) in TeX, so a radical or a fraction
    # around it grows; MathML's voffset only moves the content. The box gets the
    # height (depth) of a letter plus the raise.
    found = _EM.fullmatch(node.get("voffset", ""))
    if not found:
        return
    raise_by = float(found.group(1))
    if raise_by > 0:
        node.set("height", f"{raise_by + 0.7:.4g}em")
    elif raise_by < 0:
        node.set("depth", f"{0.2 - raise_by:.4g}em")


def _mark_null_delimiters(row: ET.Element) -> None:
    # TeX gives an empty delimiter the width \nulldelimiterspace (0.12em), so what follows
    # \right. does not touch the formula it closes (\left\{ \rule{…}{…} \right. x).
    first, last = row[0], row[-1]
    for end, other in ((first, last), (last, first)):
        if end.tag == "mo" and other.tag == "mo" and end.text == NULL_DELIMITER and not len(end):
            _add_classes(end, ["mc-null-delimiter"])


def _finish(tree: ET.Element) -> ET.Element:
    """Apply the layout fixes that need the whole tree (see each step's comment)."""
    parents: dict[ET.Element, ET.Element] | None = None
    for node in list(tree.iter()):
        marked = _marked(node)
        if marked:
            level = 0
            if marked[0] == "rule":
                if parents is None:
                    parents = {child: parent for parent in tree.iter() for child in parent}
                level = _script_level(node, parents)
            _unmark(node, marked, level)
            continue
        if node.tag == "mfrac" and "displaystyle" in node.attrib:
            # \dfrac and \tfrac are {\displaystyle\frac…}: text size even inside a
            # script or another fraction, as \displaystyle alone is here already.
            node.set("scriptlevel", node.get("scriptlevel", "0"))
        elif node.tag == "mpadded" and "voffset" in node.attrib and not len(node.attrib) - 1:
            _room_for_raise(node)
        if len(node) > 1 and node.tag in ("mrow", "math", "mtd", "mstyle"):
            _separate_large_operators(node)
            if node.tag == "mrow":
                _mark_null_delimiters(node)
        if node.tag in ("mover", "munder") and len(node) == 2 and _is_rule(node[1]):
            # \overline/\underline: math-core's combining low line is drawn as nothing;
            # a border of the base's own width is the rule.
            side = "over" if node.tag == "mover" else "under"
            node.remove(node[1])
            node.tag = "mrow"
            node.attrib.clear()
            node.set("class", f"mc-{side}line")
        elif node.tag == "msup" and len(node) == 2 and _is_prime(node[1]):
            # Latin Modern Math draws its primes raised already (as TeX's \prime in a
            # superscript); set as a superscript too they come out tiny and too high.
            node.tag = "mrow"
            node[1].attrib.clear()
            node[1].set("lspace", "0")
            node[1].set("rspace", "0")
        elif node.tag == "mover" and len(node) == 2:
            accent = node[1]
            mark = (accent.text or "").strip()
            wide = accent.tag == "mi" and mark in WIDE_ACCENTS
            if wide or (accent.tag == "mo" and mark in _COMBINING_WIDE):
                # Chromium neither stretches accents horizontally nor draws a combining
                # mark alone, so a wide accent is the spacing mark scaled by the stylesheet
                # to about its base's width.
                accent.tag = "mo"
                accent.text = _COMBINING_WIDE.get(mark, mark)
                accent.attrib.clear()
                accent.set("stretchy", "true")
                accent.set("class", f"mc-wide-{_width_step(node[0])}")
                node.set("accent", "true")
        elif node.tag == "mi" and len(node.text or "") > 1 and "\u2212" in (node.text or ""):
            # An operator name (\operatorname{Gam-ma}) keeps its hyphen, as in amsmath.
            node.text = (node.text or "").replace("\u2212", "-")
        elif node.tag == "mtext" and "mc-text-mono" in node.get("class", "") and node.text:
            # The converter curls quotes in every text; typewriter type keeps them straight.
            node.text = node.text.replace("\u2018", "`").replace("\u2019", "'")
        elif node.tag == "mi" and _ROUNDHAND in (node.text or ""):
            classes = node.get("class", "").split()
            node.set("class", " ".join([*classes, "mc-script"]))
    fit_fences(tree)
    return _table_levels_on_mstyle(tree)


def rebuild(converted: str) -> ET.Element:
    """Parse the converter's ``<math>`` into a tree of MathML Core with classes, not styles.

    math-core's output is XML apart from HTML entity names, so expat reads it fast; text
    with inline HTML (``\\textbf`` inside ``\\text``) goes through the tolerant HTML path.
    """
    # The input is the converter's serialisation, in which every "<" and "&" an author
    # typed is escaped: no DOCTYPE, entity declaration or external reference can appear.
    parser = ET.XMLParser()  # noqa: S314
    for name in set(_ENTITY_REFERENCE.findall(converted)):
        if name in _ENTITIES:
            parser.entity[name] = _ENTITIES[name]
    try:
        parser.feed(converted)
        tree = _converted(parser.close())
    except ET.ParseError:
        tree = None
    if tree is not None:
        if tree.tag != "math":
            raise ConversionRefused("the converter produced no <math>")
        return _finish(tree)
    builder = _Builder()
    builder.feed(converted)
    builder.close()
    if builder.root is None or builder.root.tag != "math":
        raise ConversionRefused("the converter produced no <math>")
    return _finish(builder.root)
