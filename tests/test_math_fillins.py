"""KaTeX and plain-TeX commands that math-core lacks, filled in by the math plugin.

Each command used to be an error box; now it renders as MathML Core (classes, no inline
style) the way KaTeX and Temml draw it. The look is compared with Temml by eye in
``tests/test_browser_math_corpus.py``; these tests check the stored MathML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from test_math import DEFAULT_LIMITS, error_boxes

from blog_plugins.math.render import render_formula

MATHML = "{http://www.w3.org/1998/Math/MathML}"


def presentation(tex: str, *, display: bool = False) -> ET.Element:
    """Return the ``<mrow>`` holding the rendering of ``tex`` (annotations left out)."""
    html = render_formula(tex, f"${tex}$", display=display, limits=DEFAULT_LIMITS)
    assert not error_boxes(html), html
    math = html[html.index("<math") : html.rindex("</math>") + len("</math>")]
    root = ET.fromstring(math.replace("<math ", f'<math xmlns="{MATHML[1:-1]}" ', 1))
    row = root.find(f"{MATHML}semantics/{MATHML}mrow")
    assert row is not None
    for node in row.iter():
        assert "style" not in node.attrib
        assert "\ue010" not in (node.text or ""), "a fill-in marker reached the page"
    return row


def tags(node: ET.Element) -> list[str]:
    return [child.tag.removeprefix(MATHML) for child in node.iter()]


def texts(node: ET.Element) -> str:
    return "".join(node.itertext())


def classes(node: ET.Element) -> set[str]:
    return {name for child in node.iter() for name in child.get("class", "").split()}


def test_cr_ends_a_row_like_a_double_backslash() -> None:
    row = presentation(r"\begin{matrix} a & b \cr c & d \end{matrix}")
    assert tags(row).count("mtr") == 2
    assert texts(row) == "abcd"


@pytest.mark.parametrize(
    ("tex", "colour"),
    [(r"\blue{x}", "mc-color-0000ff"), (r"\red{x}", "mc-color-ff0000")],
)
def test_katex_colour_commands_colour_their_argument_only(tex: str, colour: str) -> None:
    row = presentation(tex + " y")
    (coloured,) = [node for node in row.iter() if colour in node.get("class", "")]
    assert texts(coloured) == "x"
    assert texts(row) == "xy"


@pytest.mark.parametrize(
    ("switch", "size"), [("tiny", "50"), ("small", "90"), ("large", "120"), ("Huge", "249")]
)
def test_a_size_switch_sizes_the_rest_of_its_group(switch: str, size: str) -> None:
    row = presentation(rf"a + {{\{switch} x y}} + \dfrac{{\{switch} z}}{{w}}")
    sized = [node for node in row.iter() if node.get("class") == f"mc-size-{size}"]
    assert [texts(node) for node in sized] == ["xy", "z"]
    assert texts(row) == "a+xy+zw"


def test_a_size_switch_stops_at_the_end_of_its_cell() -> None:
    row = presentation(r"\begin{array}{ll} \small a & b \\ c & d \end{array}")
    (sized,) = [node for node in row.iter() if node.get("class") == "mc-size-90"]
    assert texts(sized) == "a"


def test_a_size_switch_opening_a_text_sizes_the_text() -> None:
    row = presentation(r"H \text{\tiny (1em)}")
    (sized,) = [node for node in row.iter() if node.get("class") == "mc-size-50"]
    assert texts(sized) == "(1em)"


def test_rule_is_a_filled_box_of_the_given_size_in_css_units() -> None:
    row = presentation(r"\rule{1em}{2mm} \rule[-0.5ex]{18mu}{0.4pt}")
    spaces = [node for node in row.iter() if node.tag == f"{MATHML}mspace"]
    assert [(s.get("width"), s.get("height"), s.get("class")) for s in spaces] == [
        ("1em", "5.691pt", "mc-fill"),
        ("1em", "0.4pt", "mc-fill"),
    ]
    raised = [node for node in row.iter() if node.get("voffset")]
    assert [node.get("voffset") for node in raised] == ["-0.5ex"]


def test_rule_with_a_length_css_cannot_take_stays_an_error_naming_it() -> None:
    html = render_formula(r"\rule{1fil}{1em}", "$x$", display=False, limits=DEFAULT_LIMITS)
    (box,) = error_boxes(html)
    assert "\\rule" in box.attrs["title"]


@pytest.mark.parametrize(
    ("environment", "fences"),
    [("pmatrix*", "()"), ("bmatrix*", "[]"), ("matrix*", ""), ("Vmatrix*", "‖‖")],
)
def test_starred_matrices_align_their_columns(environment: str, fences: str) -> None:
    row = presentation(rf"\begin{{{environment}}}[r] a & -1 \\ -10 & d \end{{{environment}}}")
    cells = [node for node in row.iter() if node.tag == f"{MATHML}mtd"]
    assert len(cells) == 4
    assert all("mc-align-right" in cell.get("class", "") for cell in cells)
    operators = [node.text for node in row.iter() if node.tag == f"{MATHML}mo"]
    assert "".join(o for o in operators if o and o in "()[]‖") == fences


def test_smallmatrix_and_substack_are_script_size_tables() -> None:
    row = presentation(
        r"\begin{smallmatrix} a & b \\ c & d \end{smallmatrix}"
        r" \sum_{\substack{i<m\\j<n}}"
    )
    styles = [node.get("scriptlevel") for node in row.iter() if node.get("scriptlevel")]
    assert styles.count("1") >= 1
    assert tags(row).count("mtr") == 4


def test_overlaps_take_no_width_and_llap_is_moved_left() -> None:
    row = presentation(r"a\mathrlap{f}b\llap{g}c\mathclap{k}")
    padded = [node for node in row.iter() if node.tag == f"{MATHML}mpadded"]
    assert [node.get("width") for node in padded] == ["0", "0", "0"]
    assert [node.get("class") for node in padded] == [None, "mc-lap-left", "mc-lap-center"]
    assert texts(row) == "afbgck"


def test_double_backslash_in_inline_math_starts_a_new_line() -> None:
    row = presentation(r"\frac{a}{b} \newline c \\ d")
    (table,) = [node for node in row.iter() if node.tag == f"{MATHML}mtable"]
    cells = [node for node in table.iter() if node.tag == f"{MATHML}mtd"]
    assert [texts(cell) for cell in cells] == ["ab", "c", "d"]
    assert all("mc-align-left" in cell.get("class", "") for cell in cells)


def test_double_backslash_in_a_bare_group_is_a_space_but_a_macro_argument_keeps_it() -> None:
    row = presentation(
        r"\newcommand{\col}[1]{\begin{pmatrix}#1\end{pmatrix}} a+{d+\\e}+f \col{x \\ y}"
    )
    assert tags(row).count("mtr") == 2
    assert texts(row) == "a+d+e+f(xy)"


def test_text_gets_tex_ligatures_but_typewriter_text_does_not() -> None:
    row = presentation(r"\text{``a'' b---c -- d} \texttt{x--y}")
    text = [node for node in row.iter() if node.tag == f"{MATHML}mtext"]
    # math-core keeps the spaces of a text as no-break spaces.
    assert text[0].text == "“a” b—c – d".replace(" ", "\xa0")
    assert text[1].text == "x--y"


def test_a_brace_breaks_a_ligature_as_in_tex() -> None:
    assert texts(presentation(r"\text{-{-}-}")).count("—") == 0


def test_strikeout_and_underline_inside_text_keep_their_look() -> None:
    row = presentation(r"\text{\sout{5ab}} + \text{a \underline{text} b}")
    assert {"mc-text-strike"} <= classes(row)
    assert "mc-underline" in classes(row)
    assert texts(row).replace("\xa0", " ") == "5ab+a text b"


def test_phantom_inside_text_keeps_its_room_and_hides_its_text() -> None:
    row = presentation(r"\text{a \phantom{123}} b")
    (phantom,) = [node for node in row.iter() if node.tag == f"{MATHML}mphantom"]
    assert texts(phantom) == "123"


def test_above_is_a_fraction_with_the_given_rule() -> None:
    row = presentation(r"{a \above 1pt b} + c")
    (fraction,) = [node for node in row.iter() if node.tag == f"{MATHML}mfrac"]
    # 1pt, in the converter's unit (0.1rem); \atop would be 0.
    assert fraction.get("linethickness") == "0.1rem"
    assert texts(fraction) == "ab"


@pytest.mark.parametrize(
    "tex",
    [
        r"x \nobreak y \allowbreak z",
        r"\hspace*{1em} x",
        r"a + \left(\vcenter{\hbox{$\frac{a+b}{c}$}}\right)",
        r"\displaystyle \intop_0^1 f",
        r"\utilde{AB} \overlinesegment{AB} \underlinesegment{AB}",
        r"\begin{array}{c} a \\ \hline \hdashline b \end{array}",
    ],
)
def test_other_katex_commands_render_instead_of_an_error_box(tex: str) -> None:
    presentation(tex)


def test_intop_puts_its_limits_below_in_display() -> None:
    row = presentation(r"\intop_0^1 f", display=True)
    assert "munderover" in tags(row)


def test_a_marker_typed_by_an_author_is_not_trusted() -> None:
    # The private-use mark with arguments no fill-in writes stays an ordinary text.
    row = presentation("\\overset{\\text{\ue010rule 1em 1em javascript:}}{x}")
    assert "mspace" not in tags(row)
    assert texts(row) == "x"


def test_a_kern_in_centimetres_keeps_its_width() -> None:
    row = presentation(r"H\kern 1cm H")
    (space,) = [node for node in row.iter() if node.tag == f"{MATHML}mspace" and len(node.attrib)]
    assert space.get("width") == "2.8453rem"


def test_dfrac_inside_a_fraction_is_text_size_again() -> None:
    row = presentation(r"\frac{a}{\dfrac{c}{d}} + x^{\tfrac12}")
    levels = [node.get("scriptlevel") for node in row.iter() if node.tag == f"{MATHML}mfrac"]
    assert levels == [None, "0", "0"]


def test_raisebox_makes_room_for_what_it_raises_or_lowers() -> None:
    row = presentation(r"\sqrt{a\raisebox{0.5em}{b}} \sqrt{a\raisebox{-0.5em}{b}}")
    padded = [node for node in row.iter() if node.tag == f"{MATHML}mpadded"]
    assert [(node.get("height"), node.get("depth")) for node in padded] == [
        ("1.2em", None),
        (None, "0.7em"),
    ]


def test_operator_names_keep_hyphens_and_typewriter_text_straight_quotes() -> None:
    row = presentation(r"\operatorname{Gam-ma}(z) \texttt{``a''}")
    names = [node.text for node in row.iter() if node.tag == f"{MATHML}mi"]
    assert "Gam-ma" in names
    (mono,) = [node for node in row.iter() if node.tag == f"{MATHML}mtext"]
    assert mono.text == "``a''"


def mtexts(node: ET.Element) -> list[ET.Element]:
    return list(node.iter(f"{MATHML}mtext"))


def test_verb_prints_its_argument_literally_in_typewriter_type() -> None:
    row = presentation(r"x = \verb|\frac{a}{b} & $y$| + \verb!a|b!")
    first, second = mtexts(row)
    assert first.text == "\\frac{a}{b}\u00a0&\u00a0$y$"
    assert second.text == "a|b"
    for node in (first, second):
        assert set(node.get("class", "").split()) == {"mc-text-mono", "mc-verb"}
    assert "mi" in tags(row)  # the x outside \verb is still math


def test_verb_star_shows_spaces_and_takes_any_delimiter() -> None:
    (node,) = mtexts(presentation(r"\verb*|a b| "))
    assert node.text == "a\u2423b"
    (node,) = mtexts(presentation(r"\verb* a*b +1"))
    assert node.text == "a*b"


def test_verb_in_a_table_keeps_its_ampersand_and_the_cells_stay_apart() -> None:
    row = presentation(r"\begin{array}{ll} \verb!<x> & </y>! & z \end{array}")
    assert tags(row).count("mtd") == 2
    assert mtexts(row)[0].text == "<x>\u00a0&\u00a0</y>"


@pytest.mark.parametrize("tex", [r"\verb", r"\verb a|b|", r"\verb|ab"])
def test_verb_without_a_closed_delimiter_is_an_error_box_naming_it(tex: str) -> None:
    html = render_formula(tex, f"${tex}$", display=False, limits=DEFAULT_LIMITS)
    (box,) = error_boxes(html)
    assert "\\verb" in (box.attrs["title"] or "")


def test_verb_braces_count_neither_for_nesting_nor_balance_but_for_length() -> None:
    row = presentation(r"\verb|{{{| + \verb|}|")
    assert [node.text for node in mtexts(row)] == ["{{{", "}"]
    long = r"\verb|" + "a" * DEFAULT_LIMITS.max_length + "|"
    (box,) = error_boxes(render_formula(long, long, display=False, limits=DEFAULT_LIMITS))
    assert "limit" in (box.attrs["title"] or "")


def test_empty_delimiters_take_tex_null_delimiter_space() -> None:
    row = presentation(r"x^{\left\{\rule{0.1em}{1em}\right. x} \left. y \right|")
    nulls = [
        node for node in row.iter(f"{MATHML}mo") if "mc-null-delimiter" in node.get("class", "")
    ]
    assert len(nulls) == 2
    assert all(node.text == "\u2063" for node in nulls)


def colours(node: ET.Element) -> list[tuple[str, str, str]]:
    """Each coloured element as (tag, attribute, value)."""
    return [
        (child.tag.removeprefix(MATHML), name, value)
        for child in node.iter()
        for name, value in child.attrib.items()
        if name in ("mathcolor", "mathbackground")
    ]


def test_a_colour_outside_the_palette_is_a_mathcolor_attribute_in_hex() -> None:
    row = presentation(r"\color{teal}x + \textcolor{Apricot}{y}")
    assert colours(row) == [("mrow", "mathcolor", "#008080"), ("mrow", "mathcolor", "#ffb882")]
    assert not {name for name in classes(row) if name.startswith("mc-color")}


def test_palette_colours_keep_their_theme_aware_class() -> None:
    row = presentation(r"\textcolor{red}{x} + \blue{y}")
    assert {"mc-color-ff0000", "mc-color-0000ff"} <= classes(row)
    assert colours(row) == []


@pytest.mark.parametrize(
    ("tex", "colour"),
    [
        (r"\textcolor{#1a2b3c}{x}", "#1a2b3c"),
        (r"\textcolor{#0F0}{x}", "#00ff00"),
        (r"\textcolor[HTML]{1A2B3C}{x}", "#1a2b3c"),
        (r"\color{#abcdef} x", "#abcdef"),
    ],
)
def test_hex_colours_are_written_as_given(tex: str, colour: str) -> None:
    row = presentation(tex)
    assert colours(row) == [("mrow", "mathcolor", colour)]
    assert texts(row) == "x"


def test_a_hex_color_switch_runs_to_the_end_of_its_cell_or_group() -> None:
    row = presentation(
        r"\begin{matrix} a & \color{#123456} b c & d \end{matrix} {\color{#654321} e} f"
    )
    coloured = [child for child in row.iter() if "mathcolor" in child.attrib]
    assert [texts(child) for child in coloured] == ["bc", "e"]
    assert tags(row).count("mtd") == 3


def test_colorbox_and_fcolorbox_put_text_or_math_on_a_coloured_ground() -> None:
    row = presentation(r"a \colorbox{teal} B + \fcolorbox{blue}{#ff0}{$x^2$}")
    assert colours(row) == [
        ("mrow", "mathbackground", "#008080"),
        ("mrow", "mathbackground", "#0000ff"),
        ("mrow", "mathbackground", "#ffff00"),
    ]
    assert {"mc-colorbox", "mc-colorframe"} <= classes(row)
    assert "mtext" in tags(row) and "msup" in tags(row)


@pytest.mark.parametrize(
    "tex",
    [
        r"\colorbox{nocolour}{x}",
        r"\fcolorbox{red}{nocolour}{x}",
        r"\color{nocolour} x",
        r"\textcolor{#nocolour}{x}",
    ],
)
def test_an_unknown_colour_is_an_error_box_naming_it(tex: str) -> None:
    html = render_formula(tex, f"${tex}$", display=False, limits=DEFAULT_LIMITS)
    (box,) = error_boxes(html)
    assert "nocolour" in (box.attrs["title"] or "")


def test_line_segments_are_rules_with_end_ticks() -> None:
    row = presentation(r"\overlinesegment{AB} + \underlinesegment{x}")
    assert {"mc-overline-segment", "mc-overline", "mc-underline-segment", "mc-underline"} <= (
        classes(row)
    )
    assert texts(row) == "AB+x"


def test_a_rule_in_a_script_keeps_the_text_size_as_in_tex() -> None:
    row = presentation(
        r"\rule{1em}{1em} x^{\rule{1em}{1em} y^{\rule{1em}{2pt}}} z^{\rule{18mu}{9mu}}"
    )
    sizes = [(s.get("width"), s.get("height")) for s in row.iter(f"{MATHML}mspace")]
    # Math units follow the math size, so they shrink in a script like MathML's em.
    assert sizes == [("1em", "1em"), ("1.429em", "1.429em"), ("2em", "2pt"), ("1em", "0.5em")]


@pytest.mark.parametrize(
    ("tex", "display", "size"),
    [
        (r"\frac{\rule{1em}{1em}}{2}", False, "1.429em"),  # an inline fraction: script size
        (r"\frac{\rule{1em}{1em}}{2}", True, "1em"),  # a display one: text size
        (r"\dfrac{\rule{1em}{1em}}{2}", False, "1em"),
        (r"\tfrac{\rule{1em}{1em}}{2}", True, "1.429em"),
        (r"\frac{1}{\frac{\rule{1em}{1em}}{2}}", True, "1.429em"),
        (r"x^{\frac{\rule{1em}{1em}}{2}}", False, "2em"),  # a fraction in a script
    ],
)
def test_a_rule_in_a_fraction_keeps_the_text_size_as_in_tex(
    tex: str, display: bool, size: str
) -> None:
    # MathML Core shrinks the parts of a fraction in compact style (math-depth: auto-add),
    # so the rule's em is scaled back to the text's.
    row = presentation(tex, display=display)
    sizes = [(s.get("width"), s.get("height")) for s in row.iter(f"{MATHML}mspace")]
    assert sizes == [(size, size)]


@pytest.mark.parametrize(
    ("tex", "shown"),
    [(r"x \tag{中}", "(中)"), (r"x \tag{1'}", "(1')"), (r"a \\ b \tag*{第 2 式}", "第 2 式")],
)
def test_a_tag_of_any_text_is_the_equation_number(tex: str, shown: str) -> None:
    row = presentation(tex, display=True)
    assert shown in [node.text for node in row.iter(f"{MATHML}mtext")]


@pytest.mark.parametrize("tex", [r"x \tag{$\ast$}", r"x \tag*{\ast}", r"x \tag{a{b}}"])
def test_a_tag_holding_math_is_an_error_box_that_says_so(tex: str) -> None:
    html = render_formula(tex, f"$${tex}$$", display=True, limits=DEFAULT_LIMITS)
    (box,) = error_boxes(html)
    assert "a tag here is plain text" in (box.attrs["title"] or "")
    chinese = render_formula(
        tex, f"$${tex}$$", display=True, limits=DEFAULT_LIMITS, language="zh_Hans"
    )
    (box,) = error_boxes(chinese)
    assert "编号只能是文字，不能含公式" in (box.attrs["title"] or "")
    assert "\\tag" in (box.attrs["title"] or "")
