"""KaTeX and plain-TeX commands math-core lacks, rewritten into what it has.

Some commands have a direct equivalent (``\\cr`` is ``\\\\``, ``\\blue{x}`` is
``\\textcolor{blue}{x}``, ``pmatrix*`` is an ``array`` between parentheses). Others
(size switches, ``\\rule``, ``\\rlap``) have no equivalent, so they become a *marker*:
``\\overset{\\text{<MARK>kind args}}{body}``, which :func:`blog_plugins.math.mathml.rebuild`
turns into MathML Core with a class the math stylesheet answers. The mark is a
private-use character nobody types; the arguments are checked here and again there.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from math_core import LatexError, LatexToMathML

#: Starts the text of a marker's ``\\text{}``; see the module docstring.
MARK = "\ue010"

#: KaTeX's colour commands (``\\red{x}``), by the xcolor names math-core knows.
COLOR_MACROS = {
    name: f"\\textcolor{{{name}}}{{#1}}"
    for name in ("red", "blue", "green", "orange", "purple", "gray", "magenta", "cyan")
}

#: Commands with a plain equivalent, for the converter's macro table.
MACROS = {
    **COLOR_MACROS,
    # \intop is the integral sign that takes its limits above and below in display.
    "intop": r"\int\limits",
    # \vcenter centres a box on the math axis; a formula's own boxes already sit there.
    "vcenter": "{#1}",
    "substack": r"\begin{subarray}{c}#1\end{subarray}",
    "utilde": "\\underset{\u02dc}{#1}",
}

#: LaTeX's size switches and their size relative to \normalsize (10 pt).
SIZES = {
    "tiny": "50",
    "scriptsize": "70",
    "footnotesize": "80",
    "small": "90",
    "normalsize": "100",
    "large": "120",
    "Large": "144",
    "LARGE": "173",
    "huge": "207",
    "Huge": "249",
}

_TOKEN = re.compile(r"\\(?:[A-Za-z]+|.)|[{}&]", re.DOTALL)
_TEXT_COMMAND = re.compile(r"\\(?:text(?:rm|it|bf|sf|tt|normal|up|md|sc)?|mbox|hbox|textsf)$")
# Commands whose next group closes the row or cell a size switch runs in.
_ROW_ENDS = frozenset({"\\\\", "\\cr", "\\middle"})
# Commands that open and close a group of their own (their rows and cells are theirs).
_OPENERS = frozenset({"\\begin", "\\left"})
_CLOSERS = frozenset({"\\end", "\\right"})
# What a group following it is the argument of: a command, or another argument.
_ARGUMENT_BEFORE = re.compile(r"(?:\\[A-Za-z]+|[}\]^_])\s*$")
_DROPPED = frozenset({"\\nobreak", "\\allowbreak"})
_LENGTH = re.compile(r"\s*(-?(?:\d+\.?\d*|\.\d+))\s*(em|ex|pt|mm|cm|in|pc|bp|px|mu)\s*")
_RULE = re.compile(r"\\rule\s*(?:\[([^\[\]{}]*)\])?\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_STARRED_MATRIX = re.compile(
    r"\\begin\{(?:([pbBvV]?)matrix\*\}\s*(?:\[\s*([lcr])\s*\])?|(small)matrix\})"
)
_HBOX = re.compile(r"\\hbox\s*\{\s*\$")
# \phantom and \underline in text: math-core has no math inside text, so the text is
# split around them.
_TEXT_PHANTOM = re.compile(r"\\text\{([^{}]*)\\(phantom|underline)\{([^{}]*)\}([^{}]*)\}")
_DOUBLE_RULES = re.compile(r"(\\h(?:dash)?line)(?:\s*\\h(?:dash)?line(?![A-Za-z]))+")
# What :func:`_switches` rewrites; most formulas have none of it and skip the token walk.
_NEEDS_SWITCHES = re.compile(
    r"\\(?:cr|newline|nobreak|allowbreak|text[a-z]*|mbox|hbox|"
    + "|".join(SIZES)
    + r")(?![A-Za-z])|\{[^{}]*\\\\"
)
# A size switch opening a text: math-core has no sizes in text, so the whole text is sized.
_SIZED_TEXT = re.compile(
    r"\\(text|textrm|mbox|textnormal)\s*\{\s*\\(" + "|".join(SIZES) + r")(?![A-Za-z])\s*([^{}]*)\}"
)
_ABOVE = re.compile(r"\\above\s*(-?[\d.]+\s*[a-z]{2})")
_MATRIX_FENCES = {
    "": ("", ""),
    "p": ("\\left(", "\\right)"),
    "b": ("\\left[", "\\right]"),
    "B": ("\\left\\{", "\\right\\}"),
    "v": ("\\left|", "\\right|"),
    "V": ("\\left\\|", "\\right\\|"),
}
# CSS has these TeX units; the rest become points or em.
_TO_POINTS = {"bp": 72.27 / 72}


def css_length(tex_length: str) -> str | None:
    """Return ``tex_length`` (``0.5em``, ``18mu``, ``2mm``) as a CSS length, or ``None``."""
    found = _LENGTH.fullmatch(tex_length)
    if not found:
        return None
    number, unit = float(found.group(1)), found.group(2)
    if unit == "mu":
        number, unit = number / 18, "em"
    elif unit in _TO_POINTS:
        number, unit = number * _TO_POINTS[unit], "pt"
    elif unit in ("mm", "cm", "in", "pc"):
        number, unit = number * {"mm": 2.84528, "cm": 28.4528, "in": 72.27, "pc": 12}[unit], "pt"
    return f"{number:.4g}{unit}"


# Colours math-core cannot take: ``#hex`` and xcolor's ``[HTML]`` model (it knows the
# xcolor and dvips names), and \colorbox/\fcolorbox (it has no backgrounds).
_COLOUR_COMMAND = re.compile(
    r"\\(textcolor|colorbox|fcolorbox|color)(?![A-Za-z])\s*"
    r"(?:\[\s*(HTML|html)\s*\])?\s*\{\s*([^{}]*?)\s*\}"
)
_SECOND_COLOUR = re.compile(r"\s*(?:\[\s*(?:HTML|html)\s*\])?\s*\{\s*([^{}]*?)\s*\}")
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_STYLE_COLOUR = re.compile(r"color:\s*#([0-9A-Fa-f]{6})")
# Names are looked up in math-core's own table, so a colour is known here exactly when
# \color knows it. One engine, used under a lock (a conversion is not re-entrant).
_NAMES = LatexToMathML(fancy_error=False)
_NAMES_LOCK = threading.Lock()


class UnknownColour(ValueError):
    """A colour neither math-core's names nor ``#hex`` give; the message names it."""

    def __init__(self, spec: str) -> None:
        super().__init__(f'Unknown color "{spec}"')


@lru_cache(maxsize=512)
def colour_hex(spec: str, *, html_model: bool = False) -> str | None:
    """Return a colour (``teal``, ``#1a2b3c``, ``#0f0``) as six lowercase hex digits.

    With ``html_model`` (xcolor's ``[HTML]{1A2B3C}``) the digits come without ``#``.
    ``None`` for a colour nobody knows.
    """
    spec = spec.strip()
    digits = _HEX_COLOUR.fullmatch(spec)
    if digits and (html_model or spec.startswith("#")):
        found = digits.group(1).lower()
        return found if len(found) == 6 else "".join(2 * char for char in found)
    if html_model or not _NAME.fullmatch(spec):
        return None
    with _NAMES_LOCK:
        try:
            converted = _NAMES.convert_with_local_state(
                f"\\textcolor{{{spec}}}{{x}}", displaystyle=False
            )
        except LatexError:
            return None
    found = _STYLE_COLOUR.search(converted)
    return found.group(1).lower() if found else None


def _colours(tex: str) -> str:
    """Rewrite the colour commands math-core lacks as markers (see the module docstring).

    A name in ``\\textcolor``/``\\color`` is left to math-core (which knows the names);
    any other colour nobody knows raises :class:`UnknownColour`.
    """
    position = 0
    while found := _COLOUR_COMMAND.search(tex, position):
        command, model, spec = found.group(1), bool(found.group(2)), found.group(3)
        position = found.start() + 1
        if command in ("textcolor", "color") and not model and not spec.startswith("#"):
            continue  # a name: math-core's own \\textcolor/\\color
        colour = colour_hex(spec, html_model=model)
        end = found.end()
        background = None
        if command == "fcolorbox":
            second = _SECOND_COLOUR.match(tex, end)
            if second is None:
                continue
            background = colour_hex(second.group(1), html_model=model)
            unknown = spec if colour is None else second.group(1)
            end = second.end()
        else:
            unknown = spec
        if colour is None or (command == "fcolorbox" and background is None):
            raise UnknownColour(unknown)
        if command == "color":
            close = _end_of_switch(tex, end)
            body = tex[end:close]
        else:
            argument = _argument(tex, end)
            if argument is None:
                continue
            body, close = argument
        if command in ("textcolor", "color"):
            replacement = marker("color", body, colour)
        else:
            # A box holds text, or math written as one $…$ (\colorbox{yellow}{$x^2$}).
            inner = body.strip()
            math = len(inner) > 1 and inner[0] == inner[-1] == "$" and "$" not in inner[1:-1]
            boxed = f"{{{inner[1:-1]}}}" if math else f"\\text{{{body}}}"
            if background is None:
                replacement = marker("background", boxed, colour)
            else:
                replacement = marker("frame", boxed, colour, background)
        tex = f"{tex[: found.start()]}{replacement}{tex[close:]}"
    return tex


def _argument(tex: str, position: int) -> tuple[str, int] | None:
    """Return the argument starting at ``position`` (a group's inside, a command or a
    character) and the index after it; ``None`` at the end of the formula."""
    while position < len(tex) and tex[position].isspace():
        position += 1
    if position >= len(tex):
        return None
    if tex[position] == "{":
        _, end = _group_around(tex, position + 1)
        return tex[position + 1 : end], min(end + 1, len(tex))
    command = _TOKEN.match(tex, position)
    if command and command.group().startswith("\\"):
        return command.group(), command.end()
    return tex[position], position + 1


def _end_of_switch(tex: str, position: int) -> int:
    """Return where a switch at ``position`` stops: the end of its group, cell or row."""
    depth = 0
    for token in _TOKEN.finditer(tex, position):
        piece = token.group()
        if piece in ("{",) or piece in _OPENERS:
            depth += 1
        elif piece == "}" or piece in _CLOSERS:
            if depth == 0:
                return token.start()
            depth -= 1
        elif depth == 0 and (piece == "&" or piece in _ROW_ENDS):
            return token.start()
    return len(tex)


def marker(kind: str, body: str, *args: str) -> str:
    """Return the TeX that carries ``kind`` (and ``args``) around ``body`` to the rebuild."""
    return f"\\overset{{\\text{{{MARK}{' '.join([kind, *args])}}}}}{{{body}}}"


def fill_in(tex: str) -> str:
    """Rewrite the commands math-core lacks (see the module docstring)."""
    if "\\" not in tex:
        return tex
    if "color" in tex:
        tex = _colours(tex)
    if "\\rule" in tex:
        tex = _RULE.sub(_rule, tex)
    if "matrix*}" in tex or "smallmatrix" in tex:
        tex = _starred_matrices(tex)
    if "\\hbox" in tex:
        tex = _math_in_boxes(tex)
    if "\\phantom" in tex or "\\underline" in tex:
        tex = _TEXT_PHANTOM.sub(r"\\text{\1}\\\2{\\text{\3}}\\text{\4}", tex)
    if "line" in tex:
        tex = _DOUBLE_RULES.sub(r"\1", tex)
    if "\\above" in tex:
        tex = _above(tex)
    tex = tex.replace("\\hspace*", "\\hspace")
    if "\\text" in tex or "\\mbox" in tex:
        tex = _SIZED_TEXT.sub(
            lambda found: marker(
                "size", f"\\{found.group(1)}{{{found.group(3)}}}", SIZES[found.group(2)]
            ),
            tex,
        )
    return _switches(tex) if _NEEDS_SWITCHES.search(tex) else tex


def _rule_length(tex_length: str) -> str | None:
    # Math units (mu) follow the math size, em the text font (see mathml._text_em): a
    # length in mu travels as "<n>mu" so the rebuild can tell them apart.
    found = _LENGTH.fullmatch(tex_length)
    if found and found.group(2) == "mu":
        return f"{float(found.group(1)):.4g}mu"
    return css_length(tex_length)


def _rule(found: re.Match[str]) -> str:
    raise_by = _rule_length(found.group(1)) if found.group(1) else "0em"
    width, height = _rule_length(found.group(2)), _rule_length(found.group(3))
    if width is None or height is None or raise_by is None:
        return found.group()  # the converter names \rule in its error
    return marker("rule", "", width, height, raise_by)


def _math_in_boxes(tex: str) -> str:
    """Turn ``\\hbox{$…$}`` (math in a box, as in ``\\vcenter{\\hbox{$…$}}``) into ``{…}``."""
    position = 0
    while found := _HBOX.search(tex, position):
        _, end = _group_around(tex, found.end())
        inner = tex[found.end() : end].rstrip()
        if not inner.endswith("$") or "$" in inner[:-1]:
            position = found.end()
            continue
        tex = f"{tex[: found.start()]}{{{inner[:-1]}}}{tex[end + 1 :]}"
    return tex


def _starred_matrices(tex: str) -> str:
    """Turn ``pmatrix*`` and kin (mathtools, with a column alignment) and ``smallmatrix``
    into ``array`` and ``subarray``, which take the column alignment."""
    while found := _STARRED_MATRIX.search(tex):
        small = bool(found.group(3))
        kind, align = found.group(1) or "", found.group(2) or "c"
        end = "\\end{smallmatrix}" if small else f"\\end{{{kind}matrix*}}"
        close = tex.find(end, found.end())
        if close < 0:
            return tex
        body = tex[found.end() : close]
        columns = _columns(body)
        left, right = _MATRIX_FENCES[kind]
        table = "subarray" if small else "array"
        tex = (
            f"{tex[: found.start()]}{left}\\begin{{{table}}}{{{align * columns}}}"
            f"{body}\\end{{{table}}}{right}{tex[close + len(end) :]}"
        )
    return tex


def _above(tex: str) -> str:
    """Turn the infix ``{a \\above 1pt b}`` into ``\\genfrac{}{}{1pt}{}{a}{b}``."""
    while found := _ABOVE.search(tex):
        start, end = _group_around(tex, found.start())
        thickness = css_length(found.group(1)) or "0.04em"
        over = tex[start : found.start()]
        under = tex[found.end() : end]
        tex = f"{tex[:start]}\\genfrac{{}}{{}}{{{thickness}}}{{}}{{{over}}}{{{under}}}{tex[end:]}"
    return tex


def _group_around(tex: str, position: int) -> tuple[int, int]:
    """Return where the group holding ``position`` starts and ends (inside its braces)."""
    depth = 0
    start = 0
    for index in range(position - 1, -1, -1):
        char = tex[index]
        escaped = index > 0 and tex[index - 1] == "\\"
        if char == "}" and not escaped:
            depth += 1
        elif char == "{" and not escaped:
            if depth == 0:
                start = index + 1
                break
            depth -= 1
    depth = 0
    end = len(tex)
    index = position
    while index < len(tex):
        char = tex[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                end = index
                break
            depth -= 1
        index += 1
    return start, end


def _columns(body: str) -> int:
    """Return the most cells in a row of ``body`` (nested groups and tables not counted)."""
    depth = 0
    cells = most = 1
    for token in _TOKEN.finditer(body):
        piece = token.group()
        if piece == "{" or piece == "\\begin":
            depth += 1
        elif piece == "}" or piece == "\\end":
            depth -= 1
        elif depth == 0 and piece == "&":
            cells += 1
            most = max(most, cells)
        elif depth == 0 and piece in ("\\\\", "\\cr"):
            cells = 1
    return most


def _switches(tex: str) -> str:
    """Rewrite switches and one-token commands, group by group.

    ``\\cr`` and ``\\newline`` become ``\\\\``, and ``\\nobreak``/``\\allowbreak`` go (math
    never breaks a line here). A size switch runs to the end of its group, cell or row:
    in math as a marker, in text (where math-core has no sizes) as nothing. Text outside
    typewriter type gets TeX's ligatures (``---`` → —). A ``\\\\`` in a bare group is a
    space, as in KaTeX.
    """
    out: list[str] = [_prefix(tex)]
    # Per open group: whether it is text, whether a size marker is open in it,
    # whether it is typewriter text (no ligatures), and whether it is a bare group ({…}
    # that is no command's argument).
    groups: list[list[bool]] = [[False, False, False, False]]
    previous = ""
    for token in _TOKEN.finditer(tex):
        piece = token.group()
        following = tex[token.end() : _next_start(tex, token.end())]
        group = groups[-1]
        if piece in _DROPPED:
            piece = ""
        elif piece in ("\\cr", "\\newline"):
            piece = "\\\\"
        elif piece[1:] in SIZES:
            if not group[0]:
                out.append("}" if group[1] else "")
                out.append(marker("size", "", SIZES[piece[1:]])[:-1])
                group[1] = True
            piece = ""
        elif piece == "{":
            text = group[0] or bool(_TEXT_COMMAND.search(previous))
            bare = not _ARGUMENT_BEFORE.search(previous)
            groups.append([text, False, group[2] or previous == "\\texttt", bare])
        elif piece in _OPENERS:
            groups.append([group[0], False, group[2], False])
        elif piece == "\\\\" and group[3] and not group[0]:
            # KaTeX ignores a line break inside a bare group ({d+\\e}); math-core refuses it.
            piece = " "
        elif piece in ("}", "&") or piece in _ROW_ENDS or piece in _CLOSERS:
            if group[1]:
                out.append("}")
                group[1] = False
            if (piece in _CLOSERS or piece == "}") and len(groups) > 1:
                groups.pop()
        elif piece == "\\tt" and group[0]:
            group[2] = True
        out.append(piece)
        if piece:
            previous = piece
        if groups[-1][0] and not groups[-1][2]:
            following = _ligatures(following)
        out.append(following)
        if following.strip():
            previous = following
    if groups[-1][1]:
        out.append("}")
    return "".join(out)


# TeX's text ligatures, longest first.
_LIGATURES = re.compile(r"---|--|``|''|`|'")
_LIGATURE_CHARACTERS = {
    "---": "\u2014",
    "--": "\u2013",
    "``": "\u201c",
    "''": "\u201d",
    "`": "\u2018",
    "'": "\u2019",
}


def _ligatures(text: str) -> str:
    if "-" not in text and "`" not in text and "'" not in text:
        return text
    return _LIGATURES.sub(lambda found: _LIGATURE_CHARACTERS[found.group()], text)


def _next_start(tex: str, position: int) -> int:
    found = _TOKEN.search(tex, position)
    return found.start() if found else len(tex)


def _prefix(tex: str) -> str:
    found = _TOKEN.search(tex)
    return tex[: found.start()] if found else tex


def _lap(side: str, text: bool) -> str:
    return marker("lap", "\\text{#1}" if text else "#1", side)


# Overlaps: the argument takes no width; \llap/\rlap/\clap take text, the \math… forms math.
MACROS.update(
    {
        f"{prefix}{side[0]}lap": _lap(side, text=not prefix)
        for prefix in ("", "math")
        for side in ("left", "right", "center")
    }
)
# KaTeX's segments: a rule with a tick at each end (the stylesheet draws the ticks).
MACROS.update(
    {
        "overlinesegment": marker("segment", r"\overline{#1}", "over"),
        "underlinesegment": marker("segment", r"\underline{#1}", "under"),
    }
)
