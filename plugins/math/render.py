"""Turn the TeX formulas of one post into MathML Core, or into visible error boxes.

The converter is math-core (Rust, on PyPI), chosen by measurement on the shared LaTeX
corpora (docs/plugins/math.md has the numbers). Its output goes through
:mod:`blog_plugins.math.mathml`, which rebuilds it as well-formed MathML Core with
classes instead of inline styles; the core's sanitizer runs after that as usual.

One :class:`FormulaSession` serves one post: macros defined with ``\\newcommand``,
``\\renewcommand``, ``\\def`` or ``\\DeclareMathOperator`` carry from one formula to the
next, equation numbers count through the post, and ``\\ref``/``\\eqref`` are resolved once
every formula is converted (so a reference may come before its ``\\label``).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from math_core import LatexError, LatexToMathML

from blog_plugins.math.fillins import MACROS as FILL_IN_MACROS
from blog_plugins.math.fillins import UnknownColour, fill_in
from blog_plugins.math.mathml import ConversionRefused, rebuild
from blog_plugins.math.messages import localize
from blog_plugins.math.plaintext import plain_text

TEX_ENCODING = "application/x-tex"
#: The formula as readable text (``10⁻⁶``) for excerpts, feeds and search snippets.
PLAIN_ENCODING = "text/plain"

_NESTING_TOKEN = re.compile(
    r"\\\\|\\[{}]|\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\\begin(?![a-zA-Z])|\\end(?![a-zA-Z])|[{}]"
)


# math-core recurses on the native stack and crashes the process (no exception) around
# 10,000 levels; whatever the configuration says, nothing that deep reaches it.
HARD_NESTING_LIMIT = 500


@dataclass(frozen=True)
class Limits:
    """Formulas beyond these bounds are refused before the converter sees them."""

    max_length: int
    max_nesting: int


class MathError(ValueError):
    """A formula that cannot be shown as MathML; the message is for the author."""


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


def check_limits(tex: str, limits: Limits, *, length: int | None = None) -> None:
    """Raise :class:`MathError` when ``tex`` is too long or too deeply nested.

    ``length`` is the length of the formula as written, when ``tex`` is a shortened form
    of it (``\\verb`` arguments cut out).
    """
    length = len(tex) if length is None else length
    if length > limits.max_length:
        raise MathError(f"formula is {length} characters long; the limit is {limits.max_length}")
    depth = nesting_depth(tex)
    limit = min(limits.max_nesting, HARD_NESTING_LIMIT)
    if depth > limit:
        raise MathError(f"formula nests {depth} levels deep; the limit is {limit}")
    unclosed, stray = brace_balance(tex)
    if unclosed:
        raise MathError(f"{unclosed} unclosed '{{' in formula")
    if stray:
        raise MathError(f"{stray} '}}' without a matching '{{' in formula")


# What math-core lacks, given in terms it has. Site macros from [plugins.math] come after
# these and may override them.
BUILTIN_MACROS = {
    "dotsc": r"\ldots",
    "dotso": r"\ldots",
    "dotsb": r"\cdots",
    "dotsm": r"\cdots",
    "dotsi": r"\cdots",
    # Rebuilt as stretchy accents by mathml._finish, which knows them by this form.
    "widetilde": "\\overset{\u02dc}{#1}",
    "widecheck": "\\overset{\u02c7}{#1}",
    "bm": r"\boldsymbol{#1}",
    **FILL_IN_MACROS,
}

# Environments with a layout math-core has under another name.
_ENVIRONMENT_ALIASES = {"split": "aligned", "flalign": "align", "flalign*": "align*"}
_ENVIRONMENT = re.compile(r"\\(begin|end)\{(split|flalign\*?)\}")
# ``alignedat``/``alignat`` take a column-pair count that ``aligned``/``align`` work out.
_ALIGNAT = re.compile(r"\\begin\{(aligned|align)at(\*?)\}\s*\{\s*\d+\s*\}")
_ALIGNAT_END = re.compile(r"\\end\{(aligned|align)at(\*?)\}")
# ``\\[2ex]``: math-core reads the optional row gap as text; rows get the default gap.
_ROW_GAP = re.compile(r"(\\\\)\s*\[\s*-?[\d.]+\s*(?:pt|em|ex|mm|cm|in|mu|px|bp|pc)\s*\]")
# MathJax's extension loader has no meaning here.
_REQUIRE = re.compile(r"\\require\{[^{}]*\}")
_DECLARE_OPERATOR = re.compile(r"\\DeclareMathOperator(\*?)\s*\{?\s*(\\[A-Za-z]+)\s*\}?\s*\{")
_NUMBERED = re.compile(r"\\begin\{(?:equation|align|gather|multline|alignat)\*?\}")
_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")
_TAG = re.compile(r"\\tag\*?\s*\{")
_REFERENCE = re.compile(r"\\(eq)?ref\s*\{([^{}]*)\}")
_ENVIRONMENT_TOKEN = re.compile(r"\\\\|\\[{}]|\\begin\{[^{}]*\}|\\end\{[^{}]*\}|[{}&]")
# Stands in for a reference until every label of the post is known: private-use
# characters an author does not type, around the reference's index.
_REFERENCE_MARK = "\ue000"
_REFERENCE_PLACEHOLDER = re.compile(_REFERENCE_MARK + r"(\d+)" + _REFERENCE_MARK)
_UNSAFE_LABEL = re.compile(r"[^A-Za-z0-9:.-]")
# ``\verb|…|`` prints its argument literally in typewriter type, delimited by any
# character but a letter or a star (``\verb*`` takes any, and shows spaces as ␣), on one
# line, as in LaTeX, KaTeX and Temml. The argument may hold anything (``\``, ``{``, ``&``),
# so it is cut out before any other rewriting or check and stands in the formula as a
# private-use placeholder in ``\text{}``, filled in once the tree is built.
_VERB = re.compile(r"\\verb(?:\*(.)(.*?)\1|([^*A-Za-z])(.*?)\3)")
_VERB_MARK = "\ue001"
_VERB_PLACEHOLDER = re.compile(_VERB_MARK + r"(\d+)" + _VERB_MARK)
#: The class of the ``<mtext>`` a ``\verb`` produced: monospace, and text that is meant
#: to read as TeX source (the rule test does not count its backslashes as failures).
VERB_CLASS = "mc-verb"
_VISIBLE_SPACE = "\u2423"
# MathJax lets \renewcommand define and \newcommand redefine; math-core is strict.
_REDEFINITIONS = (("\\renewcommand", "\\newcommand"), ("\\newcommand", "\\renewcommand"))
_POSITION = re.compile(r"^\s*(?:input\d+:)?\d+:\s*")
# ``^{'}``: math-core reads the quote inside a group as a prime on an empty base, so the
# prime is raised twice; bare primes are what TeX means by it.
_GROUPED_PRIMES = re.compile(r"\^\s*\{\s*('+)\s*\}")
# Old-style font switches (``{\it x}``). math-core knows them in math but refuses them in
# text, where they become the ``\textit{…}`` form running to the end of the group.
_TEXT_SWITCHES = {"rm": "textrm", "it": "textit", "bf": "textbf", "sf": "textsf", "tt": "texttt"}
_TEXT_SWITCH = re.compile(r"\\(rm|it|bf|sf|tt)(?![A-Za-z])\s*")
_TEXT_MODE = re.compile(r"\\(?:text(?:rm|it|bf|sf|tt|normal)?|mbox|hbox)\s*$")


def _top_level(tex: str) -> tuple[bool, bool]:
    """Return whether ``tex`` has ``\\\\`` and ``&`` outside every group and environment."""
    depth = 0
    rows = columns = False
    for match in _ENVIRONMENT_TOKEN.finditer(tex):
        piece = match.group()
        if piece in ("{",) or piece.startswith("\\begin"):
            depth += 1
        elif piece == "}" or piece.startswith("\\end"):
            depth = max(depth - 1, 0)
        elif depth == 0 and piece == "\\\\":
            rows = True
        elif depth == 0 and piece == "&":
            columns = True
    return rows, columns


def safe_label(name: str) -> str:
    """Return ``name`` as math-core accepts it in ``\\label`` (and as the id suffix)."""
    return _UNSAFE_LABEL.sub("-", name.strip())


def prepare(tex: str, *, display: bool) -> str:
    """Rewrite what math-core lacks into what it has; the annotation keeps the original."""
    tex = _REQUIRE.sub("", tex)
    tex = fill_in(tex)
    tex = _GROUPED_PRIMES.sub(r"\1", tex)
    if "\\" in tex and _TEXT_SWITCH.search(tex):
        tex = _text_switches(tex)
    tex = _LABEL.sub(lambda m: f"\\label{{{safe_label(m.group(1))}}}", tex)
    tex = _ROW_GAP.sub(r"\1", tex)
    tex = _ENVIRONMENT.sub(lambda m: f"\\{m.group(1)}{{{_ENVIRONMENT_ALIASES[m.group(2)]}}}", tex)
    tex = _ALIGNAT.sub(lambda m: f"\\begin{{{m.group(1)}{m.group(2)}}}", tex)
    tex = _ALIGNAT_END.sub(lambda m: f"\\end{{{m.group(1)}{m.group(2)}}}", tex)
    tex = _declare_operators(tex)
    rows, columns = _top_level(tex)
    if not display:
        if rows and not columns:
            # KaTeX and Temml break an inline formula's line at a bare ``\\``; here the
            # lines are the rows of a left-aligned table in the text's style.
            tex = f"\\begin{{array}}{{l}}{tex}\\end{{array}}"
        return _LABEL.sub("", tex)
    if rows:
        # MathJax and KaTeX break a display formula at a bare ``\\``; math-core would not.
        body = "aligned" if columns else "gathered"
        labels = "".join(m.group() for m in _LABEL.finditer(tex))
        tags = ""
        tag = _TAG.search(tex)
        if tag:
            close = _group_end(tex, tag.end())
            tags = tex[tag.start() : close]
            tex = tex[: tag.start()] + tex[close:]
        tex = f"\\begin{{{body}}}{_LABEL.sub('', tex)}\\end{{{body}}}{tags}{labels}"
    if not _NUMBERED.search(tex) and (_TAG.search(tex) or _LABEL.search(tex)):
        # ``\tag`` and ``\label`` need a numbered environment in math-core; a lone
        # display formula with either is one equation, as in MathJax with AMS numbering.
        kind = "equation" if _LABEL.search(tex) and not _TAG.search(tex) else "equation*"
        tex = f"\\begin{{{kind}}}{tex}\\end{{{kind}}}"
    return tex


# math-core takes a ``\tag`` of plain ASCII text only (letters, digits, ``*``, ``.``…). A tag
# of other text (``\tag{中}``, ``\tag{1'}``) stands in the formula as a numbered ASCII
# placeholder, filled in once the tree is built; math or commands inside a tag (TeX reads
# the tag in text mode, so ``\tag{$\ast$}`` is valid there) get a message that says so.
_TAG_ACCEPTED = re.compile(r"[ !()*+,\-./0-9:;<=>?@A-Za-z|]*")
_TAG_UNSUPPORTED = re.compile(r"[$\\{}%]")
_TAG_MARK = "@@mctag"
_TAG_PLACEHOLDER = re.compile(re.escape(_TAG_MARK) + r"(\d+)@@")


def cut_tag_texts(tex: str) -> tuple[str, list[str]]:
    """Return ``tex`` with each ``\\tag`` text math-core refuses replaced by a placeholder,
    and those texts; raise :class:`MathError` for a tag holding math or commands."""
    if "\\tag" not in tex:
        return tex, []
    texts: list[str] = []
    pieces: list[str] = []
    position = 0
    for found in _TAG.finditer(tex):
        if found.start() < position:
            continue
        close = _group_end(tex, found.end())
        text = tex[found.end() : close - 1]
        pieces.append(tex[position : found.end()])
        if _TAG_ACCEPTED.fullmatch(text):
            pieces.append(text)
        elif _TAG_UNSUPPORTED.search(text):
            raise MathError(
                f"{found.group().rstrip('{ ')}{{{text}}}: a tag here is plain text; "
                "math ($…$), commands and braces inside it are not supported"
            )
        else:
            texts.append(text.strip())
            pieces.append(f"{_TAG_MARK}{len(texts) - 1}@@")
        pieces.append(tex[close - 1 : close])
        position = close
    pieces.append(tex[position:])
    return "".join(pieces), texts


def fill_tag_texts(tree: ET.Element, texts: list[str]) -> None:
    """Put the tag texts cut out by :func:`cut_tag_texts` back into the equation numbers."""
    for node in tree.iter("mtext"):
        if node.text and _TAG_MARK in node.text:
            node.text = _TAG_PLACEHOLDER.sub(lambda m: texts[int(m.group(1))], node.text)


def cut_verbatim(tex: str) -> tuple[str, list[str]]:
    """Return ``tex`` with each ``\\verb`` replaced by a placeholder, and the texts shown.

    The text of a ``\\verb*`` shows its spaces as ␣; other spaces are no-break spaces, so
    that MathML's white-space collapsing keeps them, as a typewriter line does.
    """
    if "\\verb" not in tex:
        return tex, []
    shown: list[str] = []

    def placeholder(found: re.Match[str]) -> str:
        if found.group(1) is not None:
            text = found.group(2).replace(" ", _VISIBLE_SPACE)
        else:
            text = found.group(4).replace(" ", "\u00a0")
        shown.append(text)
        return f"\\text{{{_VERB_MARK}{len(shown) - 1}{_VERB_MARK}}}"

    return _VERB.sub(placeholder, tex), shown


def fill_verbatim(tree: ET.Element, shown: list[str]) -> None:
    """Put the texts cut out by :func:`cut_verbatim` back in place, in typewriter type."""
    for node in tree.iter("mtext"):
        found = _VERB_PLACEHOLDER.fullmatch((node.text or "").strip())
        if found and not len(node):
            node.text = shown[int(found.group(1))]
            classes = node.get("class", "").split()
            node.set("class", " ".join(dict.fromkeys([*classes, "mc-text-mono", VERB_CLASS])))


def _text_switches(tex: str) -> str:
    """Rewrite ``\\text{a \\it b}`` as ``\\text{a \\textit{b}}``; math mode is left alone."""
    out: list[str] = []
    # One entry per open group: whether it is text, and how many braces the switches in it
    # opened (closed with it).
    groups: list[list[int]] = []
    index = 0
    while index < len(tex):
        char = tex[index]
        if char == "\\":
            switch = _TEXT_SWITCH.match(tex, index)
            if switch and groups and groups[-1][0]:
                if groups[-1][1]:
                    # LaTeX's old switches start from the normal font: \bf a \it b is not bold.
                    out.append("}")
                    groups[-1][1] -= 1
                out.append(f"\\{_TEXT_SWITCHES[switch.group(1)]}{{")
                groups[-1][1] += 1
                index = switch.end()
                continue
            out.append(tex[index : index + 2])
            index += 2
            continue
        if char == "{":
            in_text = bool(groups and groups[-1][0]) or bool(_TEXT_MODE.search("".join(out[-16:])))
            groups.append([int(in_text), 0])
        elif char == "}" and groups:
            out.append("}" * groups.pop()[1])
        out.append(char)
        index += 1
    return "".join(out)


def _declare_operators(tex: str) -> str:
    """Turn ``\\DeclareMathOperator{\\op}{text}`` into the ``\\newcommand`` it means."""
    while found := _DECLARE_OPERATOR.search(tex):
        close = _group_end(tex, found.end())
        name = tex[found.end() : close - 1]
        star = found.group(1)
        definition = f"\\def{found.group(2)}{{\\operatorname{star}{{{name}}}}}"
        tex = tex[: found.start()] + definition + tex[close:]
    return tex


def _group_end(tex: str, position: int) -> int:
    """Return the index after the ``}`` closing the group that is open at ``position``."""
    depth = 1
    index = position
    while index < len(tex) and depth:
        char = tex[index]
        if char == "\\":
            index += 2
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        index += 1
    return index


_OFFSET = re.compile(r"^\s*(?:input\d+:)?(\d+):")
_COMMAND_AT = re.compile(r"\\(?:[A-Za-z]+|.)")
# Messages that say what is wrong but not with what: the command at the error's offset
# is named after them.
_UNNAMED = frozenset(
    {
        "Not valid in text mode",
        "Not valid in math mode",
        "This command is not defined",
        "This command is already defined",
    }
)


def _message(error: Exception, tex: str = "") -> str:
    raw = str(error)
    text = _POSITION.sub("", raw).strip().rstrip(".")
    offset = _OFFSET.match(raw)
    if text in _UNNAMED and offset and tex:
        # The converter counts UTF-8 bytes.
        start = len(tex.encode("utf-8")[: int(offset.group(1))].decode("utf-8", "ignore"))
        command = _COMMAND_AT.match(tex, start)
        if command:
            text = f"{text}: {command.group()}"
    return text or type(error).__name__


@dataclass
class Converted:
    """One formula of a post: its MathML tree, or the reason it has none."""

    tex: str
    display: bool
    tree: ET.Element | None = None
    error: str | None = None
    references: list[tuple[str, bool]] = field(default_factory=list)


class FormulaSession:
    """Convert the formulas of one post in order, sharing macros, numbers and labels.

    Not thread-safe; a session belongs to one render (the Markdown extension makes one
    per conversion).
    """

    def __init__(
        self,
        limits: Limits,
        macros: Mapping[str, str] | None = None,
        language: str | None = None,
    ) -> None:
        self.limits = limits
        #: The UI language error messages are written in (English when ``None``).
        self.language = language
        table = {**BUILTIN_MACROS, **(macros or {})}
        try:
            self._engine = LatexToMathML(
                macros=table, global_group=True, fancy_error=False, id_prefix="eq-"
            )
            self.macro_error: str | None = None
        except (LatexError, ValueError, TypeError) as error:
            self._engine = LatexToMathML(
                macros=BUILTIN_MACROS, global_group=True, fancy_error=False, id_prefix="eq-"
            )
            self.macro_error = f"site macro table in [plugins.math] is invalid: {_message(error)}"
        self.formulas: list[Converted] = []
        self.labels: dict[str, str] = {}

    def add(self, tex: str, *, display: bool) -> Converted:
        """Convert ``tex`` now; references in it are resolved by :meth:`finish`."""
        formula = Converted(tex, display)
        self.formulas.append(formula)
        try:
            written, verbatim = cut_verbatim(tex)
            check_limits(written, self.limits, length=len(tex))
            written, tag_texts = cut_tag_texts(written)
            if self.macro_error:
                raise MathError(self.macro_error)
            try:
                prepared = _REFERENCE.sub(
                    lambda m: self._reference(formula, m), prepare(written, display=display)
                )
            except UnknownColour as error:
                raise MathError(str(error)) from error
            try:
                converted = self._convert(prepared, display)
            except LatexError as error:
                raise MathError(_message(error, prepared)) from error
            except Exception as error:  # a converter bug must not take the page down
                raise MathError(f"LaTeX not understood ({type(error).__name__})") from error
            try:
                tree = rebuild(converted)
            except ConversionRefused as error:
                raise MathError(str(error)) from error
            if verbatim:
                fill_verbatim(tree, verbatim)
            if tag_texts:
                fill_tag_texts(tree, tag_texts)
        except MathError as error:
            formula.error = localize(str(error), self.language)
            return formula
        tree.set("display", "block" if display else "inline")
        for cell in tree.iter("mtd"):
            label = cell.get("id", "")
            if label.startswith("eq-"):
                self.labels[label[3:]] = "".join(cell.itertext()).strip().strip("()")
        formula.tree = tree
        return formula

    def _convert(self, tex: str, display: bool) -> str:
        try:
            return self._engine.convert_with_global_state(tex, displaystyle=display)
        except LatexError as error:
            message = str(error)
            for strict, lenient in _REDEFINITIONS:
                if strict in tex and ("not defined" in message or "already defined" in message):
                    retry = tex.replace(strict, lenient)
                    try:
                        return self._engine.convert_with_global_state(retry, displaystyle=display)
                    except LatexError:
                        continue
            raise

    def _reference(self, formula: Converted, match: re.Match[str]) -> str:
        formula.references.append((safe_label(match.group(2)), bool(match.group(1))))
        index = len(formula.references) - 1
        return f"\\text{{{_REFERENCE_MARK}{index}{_REFERENCE_MARK}}}"

    def finish(self) -> None:
        """Resolve every ``\\ref``/``\\eqref`` against the labels of the whole post."""
        for formula in self.formulas:
            if formula.tree is None or not formula.references:
                continue
            missing = [name for name, _ in formula.references if name not in self.labels]
            if missing:
                names = ", ".join(f"\\ref{{{name}}}" for name in missing)
                formula.error = localize(
                    f"{names}: no equation in this post has this \\label", self.language
                )
                formula.tree = None
                continue
            for node in formula.tree.iter("mtext"):
                found = _REFERENCE_PLACEHOLDER.fullmatch((node.text or "").strip())
                if not found:
                    continue
                name, parenthesised = formula.references[int(found.group(1))]
                number = self.labels[name]
                node.text = None
                link = ET.SubElement(node, "a", {"href": f"#eq-{name}"})
                link.text = f"({number})" if parenthesised else number

    def html(self, formula: Converted, source: str) -> str:
        """Return the HTML for ``formula``: MathML in a marked wrapper, or an error box."""
        kind = "math-display" if formula.display else "math-inline"
        if formula.tree is None:
            message = html.escape(formula.error or "LaTeX not understood")
            return (
                f'<span class="math {kind} math-error" title="{message}" translate="no">'
                f"<code>{html.escape(source)}</code>"
                f'<span class="math-error-message">{message}</span></span>'
            )
        return f'<span class="math {kind}" translate="no">{_with_annotation(formula)}</span>'


def _with_annotation(formula: Converted) -> str:
    assert formula.tree is not None
    tree = formula.tree
    math = ET.Element("math", {"display": tree.get("display", "inline")})
    semantics = ET.SubElement(math, "semantics")
    presentation = ET.SubElement(semantics, "mrow")
    presentation.text = tree.text
    presentation.extend(list(tree))
    annotation = ET.SubElement(semantics, "annotation", {"encoding": TEX_ENCODING})
    annotation.text = formula.tex
    readable = ET.SubElement(semantics, "annotation", {"encoding": PLAIN_ENCODING})
    readable.text = plain_text(tree)
    return ET.tostring(math, encoding="unicode", short_empty_elements=False)


def tex_to_mathml(tex: str, *, display: bool, limits: Limits) -> str:
    """Return a ``<math>`` element for one formula on its own, with its TeX as annotation.

    Raises :class:`MathError` for refused or unconvertible formulas.
    """
    session = FormulaSession(limits)
    formula = session.add(tex.strip(), display=display)
    session.finish()
    if formula.tree is None:
        raise MathError(formula.error or "LaTeX not understood")
    return _with_annotation(formula)


def render_formula(
    tex: str, source: str, *, display: bool, limits: Limits, language: str | None = None
) -> str:
    """Return the HTML for one formula converted on its own (no macros from elsewhere)."""
    session = FormulaSession(limits, language=language)
    formula = session.add(tex.strip(), display=display)
    session.finish()
    return session.html(formula, source)
