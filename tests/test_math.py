"""The math plugin: delimiters, Pandoc dollar rules, MathML output, errors and limits."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
from conftest import write_config
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from blog.models import Post
from blog.render import render_post
from blog.sanitize import Allowlist, sanitize_html
from blog_plugins.math import Config, limits_from
from blog_plugins.math.allowlist import allowed_html
from blog_plugins.math.extension import MathExtension
from blog_plugins.math.font import DEBIAN_LATIN_MODERN_MATH, DEBIAN_STIX_GENERAL
from blog_plugins.math.mathml import CORE_ELEMENTS
from blog_plugins.math.render import Limits, MathError, tex_to_mathml
from blog_plugins.math.scanner import Delimiters

EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external"
DEFAULT_LIMITS = limits_from(Config())


def render(source: str, limits: Limits = DEFAULT_LIMITS) -> str:
    """Markdown with the core's own extensions plus the math extension, unsanitized."""
    md = markdown.Markdown(
        extensions=["extra", "sane_lists", "admonition", "toc", MathExtension(limits)]
    )
    return md.convert(source)


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element] = []
        self.text = ""

    def ancestors(self) -> list[str]:
        names = []
        node = self.parent
        while node is not None:
            names.append(node.tag)
            node = node.parent
        return names

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)


VOID = {"br", "hr", "img", "input", "mspace", "col", "wbr"}


class TreeBuilder(HTMLParser):
    """Just enough of a DOM to ask structural questions about rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.current = self.root
        self.elements: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), self.current)
        self.current.children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), self.current)
        self.current.children.append(element)
        self.elements.append(element)

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.text += data


def parse(html: str) -> TreeBuilder:
    tree = TreeBuilder()
    tree.feed(html)
    tree.close()
    return tree


def find(html: str, tag: str) -> list[Element]:
    return [element for element in parse(html).elements if element.tag == tag]


def error_boxes(html: str) -> list[Element]:
    return [s for s in find(html, "span") if "math-error" in (s.attrs.get("class") or "").split()]


def tex_annotations(html: str) -> list[str]:
    return [
        element.all_text()
        for element in find(html, "annotation")
        if element.attrs.get("encoding") == "application/x-tex"
    ]


def test_inline_dollar_math_becomes_inline_mathml() -> None:
    (math,) = find(render("设 $x^2$ 为平方"), "math")
    assert math.attrs["display"] == "inline"
    assert math.parent is not None and math.parent.attrs["class"] == "math math-inline"


def test_display_dollars_become_block_mathml() -> None:
    (math,) = find(render("前文\n\n$$\n\\sum_i x_i\n$$\n\n后文"), "math")
    assert math.attrs["display"] == "block"
    assert math.parent is not None and "math-display" in (math.parent.attrs["class"] or "")


def test_backslash_paren_is_inline_math() -> None:
    (math,) = find(render(r"见 \(a+b\) 处"), "math")
    assert math.attrs["display"] == "inline"
    assert tex_annotations(render(r"见 \(a+b\) 处")) == ["a+b"]


def test_backslash_bracket_is_display_math() -> None:
    (math,) = find(render("\\[\na+b\n\\]"), "math")
    assert math.attrs["display"] == "block"


def test_fenced_math_block_is_display_math() -> None:
    html = render("```math\n\\int_0^1 f(x)\\,dx\n```")
    (math,) = find(html, "math")
    assert math.attrs["display"] == "block"
    assert tex_annotations(html) == ["\\int_0^1 f(x)\\,dx"]
    assert not find(html, "pre")


@pytest.mark.parametrize("fence", ["~~~ MATH\n{}\n~~~", "````Math  编号\n{}\n````"])
def test_fenced_math_block_info_is_read_in_any_case_after_any_fence(fence: str) -> None:
    # A post without "$", "\\(" or "\\[" is only scanned when it holds "math" in some case.
    html = render(fence.format("x^2"))
    (math,) = find(html, "math")
    assert math.attrs["display"] == "block"
    assert tex_annotations(html) == ["x^2"]


def test_a_mathematica_code_block_is_code_not_math() -> None:
    html = render("```mathematica\nx^2\n```")
    assert not find(html, "math") and find(html, "pre")


def test_underscores_and_stars_in_math_do_not_become_emphasis() -> None:
    html = render("$a_1 * b_2 * c_3$ 与 $x_1$ 和 $**y**$")
    assert not find(html, "em") and not find(html, "strong")
    assert tex_annotations(html) == ["a_1 * b_2 * c_3", "x_1", "**y**"]


def test_double_backslash_and_braces_reach_the_converter_unchanged() -> None:
    source = r"$\{a\} \\ \left\{ b \right\}$"
    assert tex_annotations(render(source)) == [source[1:-1]]


def test_pipe_inside_math_stays_in_its_table_cell() -> None:
    html = render("| 范数 | 值 |\n|---|---|\n| $\\|x\\|_2$ | $|y|$ |\n")
    (row,) = [tr for tr in find(html, "tr") if any(c.tag == "td" for c in tr.children)]
    cells = [child for child in row.children if child.tag == "td"]
    assert len(cells) == 2
    assert tex_annotations(html) == ["\\|x\\|_2", "|y|"]


def test_math_inside_inline_code_stays_code() -> None:
    html = render("用 `$x_i$` 写公式")
    assert not find(html, "math")
    assert [code.all_text() for code in find(html, "code")] == ["$x_i$"]


def test_math_inside_fenced_code_stays_code() -> None:
    html = render("```\n$x_i$ and $$y$$\n```")
    assert not find(html, "math")
    assert "$x_i$ and $$y$$" in find(html, "code")[0].all_text()


def test_math_inside_indented_code_stays_code() -> None:
    html = render("段落\n\n    $x_i$ = 1\n\n后文")
    assert not find(html, "math")
    assert find(html, "code")[0].all_text().strip() == "$x_i$ = 1"


def test_opening_dollar_followed_by_space_is_not_math() -> None:
    assert not find(render("cost $ x$ here"), "math")


def test_closing_dollar_after_space_is_not_math() -> None:
    assert not find(render("cost $x $ here"), "math")


def test_closing_dollar_before_digit_is_not_math() -> None:
    assert not find(render("from $x$5 on"), "math")


def test_prices_in_a_chinese_sentence_stay_text() -> None:
    html = render("这本书卖 $5,那本卖 $10")
    assert not find(html, "math")
    assert find(html, "p")[0].all_text() == "这本书卖 $5,那本卖 $10"


def test_escaped_dollar_is_a_literal_dollar() -> None:
    html = render(r"价格 \$5 与 \$x\$")
    assert not find(html, "math")
    assert find(html, "p")[0].all_text() == "价格 $5 与 $x$"


def test_math_touching_chinese_characters_is_recognised() -> None:
    assert tex_annotations(render("其中$x_i$是第$i$个样本")) == ["x_i", "i"]


def test_inline_math_does_not_span_a_blank_line() -> None:
    assert not find(render("a $x\n\ny$ b"), "math")


def test_tag_is_rendered_as_an_equation_number() -> None:
    html = render("$$E = mc^2 \\tag{3}$$")
    assert "(3)" in [mtext.all_text() for mtext in find(html, "mtext")]


@pytest.mark.parametrize(
    "environment",
    [
        r"\begin{aligned} a &= b \\ c &= d \end{aligned}",
        r"f(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}",
        r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
        r"\begin{array}{cc} 1 & 2 \\ 3 & 4 \end{array}",
    ],
)
def test_environment_renders_as_a_two_row_table(environment: str) -> None:
    html = render(f"$${environment}$$")
    (table,) = find(html, "mtable")
    rows = [child for child in table.children if child.tag == "mtr"]
    assert len(rows) == 2
    assert all(len([c for c in row.children if c.tag == "mtd"]) == 2 for row in rows)


def test_annotation_keeps_the_original_tex_for_copying() -> None:
    html = render(r"$\frac{a}{b} < c$")
    annotation, readable = find(html, "annotation")
    assert annotation.attrs["encoding"] == "application/x-tex"
    assert readable.attrs["encoding"] == "text/plain"
    assert readable.all_text() == "a/b<c"
    assert annotation.all_text() == r"\frac{a}{b} < c"
    assert annotation.parent is not None and annotation.parent.tag == "semantics"


def test_converted_formula_is_well_formed_xml() -> None:
    mathml = tex_to_mathml(r"\sqrt{x} < \text{a<b \& c}", display=False, limits=DEFAULT_LIMITS)
    root = ET.fromstring(mathml)
    assert root.tag == "math"
    assert "a<b\xa0&c" in [node.text for node in root.iter("mtext")]  # text spaces are NBSP


def test_broken_formula_shows_source_and_message_while_the_rest_renders() -> None:
    html = render("前文 **粗体** $\\frac{a$ 后文 $y$")
    (box,) = error_boxes(html)
    assert box.attrs["translate"] == "no"
    assert "unclosed" in (box.attrs["title"] or "")
    assert [code.all_text() for code in find(html, "code")] == ["$\\frac{a$"]
    assert "unclosed" in box.all_text()
    assert find(html, "strong")[0].all_text() == "粗体"
    assert tex_annotations(html) == ["y"]


def test_unknown_command_becomes_an_error_box_naming_it() -> None:
    html = render(r"$\verb$ 与 $z$")
    (box,) = error_boxes(html)
    assert 'Unknown command "\\verb"' in (box.attrs["title"] or "")
    assert tex_annotations(html) == ["z"]


def test_self_expanding_macro_becomes_an_error_box() -> None:
    html = render(r"$\def\a{\a\a}\a$ 与 $z$")
    (box,) = error_boxes(html)
    assert "expanding to itself" in (box.attrs["title"] or "")
    assert tex_annotations(html) == ["z"]


def test_formula_over_the_length_limit_is_refused_before_conversion() -> None:
    # The formula would make the converter recurse; the refusal names the limit instead.
    html = render(r"$\def\a{\a\a}\a$", Limits(max_length=10, max_nesting=40))
    (box,) = error_boxes(html)
    assert "limit is 10" in (box.attrs["title"] or "")


def test_formula_over_the_nesting_limit_is_refused_before_conversion() -> None:
    deep = "{" * 12 + "x" + "}" * 12
    html = render(f"${deep}$", Limits(max_length=4000, max_nesting=10))
    (box,) = error_boxes(html)
    assert "nests 12 levels" in (box.attrs["title"] or "")


def test_limits_come_from_the_config_dataclass() -> None:
    limits = limits_from(Config(max_formula_length=7, max_nesting_depth=3))
    with pytest.raises(MathError, match="limit is 7"):
        tex_to_mathml("x" * 8, display=False, limits=limits)


@pytest.mark.parametrize(
    ("source", "container"),
    [
        ("## 损失 $L_2$ 范数", "h2"),
        ("- 项目 $x_1$\n- 另一项", "li"),
        ("> 引用 $x_1$", "blockquote"),
        ("正文[^1]\n\n[^1]: 脚注 $x_1$", "li"),
    ],
)
def test_math_works_inside_block_structure(source: str, container: str) -> None:
    (math,) = find(render(source), "math")
    assert container in math.ancestors()


def test_multiline_display_math_in_a_blockquote_drops_the_quote_markers() -> None:
    assert tex_annotations(render("> $$\n> a\n> + b\n> $$")) == ["a\n+ b"]


def test_text_breakout_in_math_is_escaped_by_the_plugin() -> None:
    html = render(r"$\text{</math><script>alert(1)</script>}$")
    assert not find(html, "script")
    assert "</math><script>alert(1)</script>" in [m.all_text() for m in find(html, "mtext")]


def test_href_from_the_converter_is_dropped() -> None:
    html = render(r"$\href{javascript:alert(1)}{click}$")
    assert not [e for e in parse(html).elements if "href" in e.attrs]


def test_allowlist_never_allows_href_or_style() -> None:
    assert allowed_html()["attributes"]
    for names in allowed_html()["attributes"].values():
        assert "href" not in names and "style" not in names


def test_sanitizer_with_the_allowlist_keeps_the_mathml() -> None:
    html = render(r"$$\frac{a}{b} \tag{1}$$ 和 $\mathbf{x}_i$")
    allowlist = Allowlist()
    allowlist.extend(allowed_html())
    assert sanitize_html(html, allowlist) == html


def test_sanitizer_keeps_colours_from_the_converter() -> None:
    html = render(r"$\color{teal}x + \textcolor{#1a2b3c}{y} + \colorbox{teal}{z}$")
    allowlist = Allowlist()
    allowlist.extend(allowed_html())
    assert sanitize_html(html, allowlist) == html
    assert 'mathcolor="#008080"' in html and 'mathbackground="#008080"' in html


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("red", True),
        ("#1a2b3c", True),
        ("#FFF", True),
        ("url(javascript:alert(1))", False),
        ("red;background:url(x)", False),
        ("expression(alert(1))", False),
        ('#1a2b3c" onmouseover="alert(1)', False),
        ("rgb(0,0,0)", False),
        ("", False),
    ],
)
def test_sanitizer_lets_only_colour_names_and_hex_into_colour_attributes(
    value: str, kept: bool
) -> None:
    allowlist = Allowlist()
    allowlist.extend(allowed_html())
    escaped = value.replace('"', "&quot;")
    for attribute in ("mathcolor", "MATHBACKGROUND"):
        html = f'<math><mrow {attribute}="{escaped}"><mi>x</mi></mrow></math>'
        clean = sanitize_html(html, allowlist)
        assert (attribute.lower() in clean) is kept, clean
        assert "onmouseover" not in clean


def test_math_output_is_marked_translate_no() -> None:
    html = render("$x$ 与 $$y$$ 与 $\\frac{$")
    wrappers = [s for s in find(html, "span") if "math" in (s.attrs.get("class") or "").split()]
    assert len(wrappers) == 3
    assert all(w.attrs["translate"] == "no" for w in wrappers)


def _corpus(name: str) -> list[dict[str, object]]:
    path = EXTERNAL / "latex" / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    cases: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return cases


LITERAL_COMMAND = re.compile(r"\\[A-Za-z]+")


@pytest.mark.parametrize(
    ("name", "share"),
    # KaTeX's own screenshot suite is full of KaTeX-only commands (\KaTeX, \blue,
    # \htmlId…): those must be honest error boxes, not a share of conversions.
    [("katex_expressions.json", 0.45), ("blog_expressions.json", 0.99)],
)
def test_latex_corpus_converts_to_mathml_core_or_names_the_problem(
    name: str, share: float, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = _corpus(name)
    converted = 0
    failures: list[str] = []
    for case in cases:
        tex = str(case["tex"])
        try:
            mathml = tex_to_mathml(tex, display=bool(case.get("display")), limits=DEFAULT_LIMITS)
        except MathError as error:  # any other exception escaping is a bug of ours
            assert str(error).strip()
            failures.append(f"{error}: {tex[:60]!r}")
            continue
        root = ET.fromstring(mathml)
        for node in root.iter():
            assert node.tag in CORE_ELEMENTS, node.tag
            assert "style" not in node.attrib
            assert node.get("mathvariant", "normal") == "normal"
            # \verb prints TeX source on purpose (as LaTeX, KaTeX and Temml do); its text
            # is marked mc-verb, the one place a literal command is the right output.
            if node.tag != "annotation" and "mc-verb" not in node.get("class", "").split():
                assert not LITERAL_COMMAND.search(node.text or ""), (tex, node.text)
        converted += 1
    with capsys.disabled():
        print(f"\n{name}: {converted}/{len(cases)} converted to MathML Core")
        for failure in failures:
            print(f"  refused: {failure}")
    assert converted >= share * len(cases)


# Through the application: the plugin as the core loads it (entry point, config table).


def test_math_survives_the_full_pipeline_in_a_table_and_heading(
    make_post: Callable[..., Post],
) -> None:
    post = make_post("## 范数 $\\|x\\|_2$\n\n| a | b |\n|---|---|\n| $|x|$ | $a_1$ |\n")
    html = post.body_html
    assert [m.attrs["display"] for m in find(html, "math")] == ["inline"] * 3
    assert tex_annotations(html) == ["\\|x\\|_2", "|x|", "a_1"]
    assert "h2" in find(html, "math")[0].ancestors()


def test_post_page_serves_math_as_mathml(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    post = make_post("其中$x_i$是\n\n$$\\sum_i x_i$$", slug="math-page")
    page = client.get(f"/posts/{post.slug}/").get_data(as_text=True)
    assert sorted(m.attrs["display"] or "" for m in find(page, "math")) == ["block", "inline"]


def test_math_table_in_config_sets_the_limits(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    write_config(instance, plugins={"math": {"max_formula_length": 5}})
    app = make_app()
    with app.app_context():
        html = render_post(Post(source="$x + y + z$ 与 $a$", title="t")).body_html
    (box,) = error_boxes(html)
    # The site's UI language (zh_Hans by default) is the message's language.
    assert (box.attrs["title"] or "") == "公式长 9 个字符，上限为 5"
    assert tex_annotations(html) == ["a"]


def test_math_stylesheet_is_linked_from_post_pages(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    post = make_post("$x$", slug="math-css")
    page = client.get(f"/posts/{post.slug}/").get_data(as_text=True)
    hrefs = [link.attrs["href"] or "" for link in find(page, "link")]
    (stylesheet,) = [h for h in hrefs if "math" in h and h.endswith(".css") and "/_math/" not in h]
    response = client.get(stylesheet)
    assert response.status_code == 200
    assert ".math-error" in response.get_data(as_text=True)


MARKDOWN_AND_TEX = st.lists(
    st.sampled_from([*"$\\`{}_*|^&<>()[]#-> \n\tax1中文", "\\frac", "\\text{", "```", "$$"]),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(MARKDOWN_AND_TEX)
def test_any_mixture_of_markdown_and_tex_renders_without_raising(source: str) -> None:
    html = render(source)
    for element in find(html, "math"):
        assert element.parent is not None and element.parent.attrs["translate"] == "no"
    assert not find(html, "script")


@pytest.mark.parametrize("reference", ["&#xFFFFFF;", "&#xD800;", "&#x0;"])
def test_character_reference_in_text_is_never_decoded(reference: str) -> None:
    # A bare "#" is a TeX error (it must be written "\\#"); either way the reference
    # never turns into the character it names.
    html = render(f"$\\text{{{reference}}}$")
    (box,) = error_boxes(html)
    assert "parameter" in (box.attrs["title"] or "")
    assert [code.all_text() for code in find(html, "code")] == [f"$\\text{{{reference}}}$"]


def test_math_font_is_declared_and_served(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    post = make_post("$x$", slug="math-font")
    page = client.get(f"/posts/{post.slug}/").get_data(as_text=True)
    hrefs = [link.attrs["href"] or "" for link in find(page, "link")]
    assert "/_math/font.css" in hrefs
    css = client.get("/_math/font.css").get_data(as_text=True)
    assert "@font-face" in css and 'font-family: "Latin Modern Math"' in css
    source, *script_source = re.findall(r'url\("([^"]+)"\)', css)
    stylesheet = client.get(
        next(h for h in hrefs if "math" in h and h.endswith(".css") and "/_math/" not in h)
    )
    assert 'math {\n  font-family: "Latin Modern Math"' in stylesheet.get_data(as_text=True)
    if not Path(DEBIAN_LATIN_MODERN_MATH).is_file():
        pytest.skip("Debian's fonts-lmodern is not installed")
    font = client.get(source)
    assert font.status_code == 200
    assert font.mimetype == "font/otf"
    assert font.get_data()[:4] == b"OTTO"  # an OpenType font with CFF outlines
    if not Path(DEBIAN_STIX_GENERAL).is_file():
        pytest.skip("Debian's fonts-stix is not installed")
    # \mathscr's roundhand letters: a second face, fetched only for script letters.
    assert script_source == ["/_math/script-font.otf"]
    assert 'font-family: "Math Roundhand"' in css and "unicode-range: U+1D49C-1D4CF" in css
    script = client.get(script_source[0])
    assert script.status_code == 200 and script.get_data()[:4] == b"OTTO"


def test_macros_carry_across_the_formulas_of_one_post_and_site_macros_apply() -> None:
    md = markdown.Markdown(extensions=[MathExtension(DEFAULT_LIMITS, {"RR": r"\mathbb{R}"})])
    html = md.convert(
        r"$\newcommand{\vv}{\mathbf{v}}\vv$ then $\vv \in \RR^d$ and "
        r"$\DeclareMathOperator*{\argmin}{arg\,min}\argmin_x f$ then $\argmin_y g$"
    )
    assert not error_boxes(html)
    texts = [m.all_text() for m in find(html, "mi")]
    assert "𝐯" in texts and "ℝ" in texts
    # A second post does not see the first one's macro.
    other = markdown.Markdown(extensions=[MathExtension(DEFAULT_LIMITS)]).convert(r"$\vv$")
    assert "\\vv" in (error_boxes(other)[0].attrs["title"] or "")


def test_equation_numbers_labels_and_references_link_within_the_post() -> None:
    html = render(
        "见 $\\eqref{eq:a}$ 与 $\\ref{eq:b}$。\n\n$$E = mc^2 \\label{eq:a}$$\n\n"
        "$$\\begin{align} x &= 1 \\label{eq:b} \\\\ y &= 2 \\end{align}$$\n\n$$z \\tag{A}$$"
    )
    assert not error_boxes(html)
    links = find(html, "a")
    assert [(a.attrs["href"], a.all_text()) for a in links] == [
        ("#eq-eq:a", "(1)"),
        ("#eq-eq:b", "2"),
    ]
    numbered = {
        cell.attrs.get("id"): cell.all_text() for cell in find(html, "mtd") if cell.attrs.get("id")
    }
    assert numbered == {"eq-eq:a": "(1)", "eq-eq:b": "(2)"}
    numbers = [
        cell for cell in find(html, "mtd") if "mc-align-right" in (cell.attrs.get("class") or "")
    ]
    assert "(A)" in [cell.all_text() for cell in numbers]


def test_unresolved_reference_is_an_error_box() -> None:
    (box,) = error_boxes(render("$\\eqref{nowhere}$"))
    assert "\\ref{nowhere}" in (box.attrs["title"] or "")


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        (r"\begin{split} a &= b \\ &= c \end{split}", "mtable"),
        (r"\begin{alignedat}{2} a &= b & c &= d \end{alignedat}", "mtable"),
        (r"a \\[2ex] b", "mtable"),
        (r"\require{cancel} \cancel{x}", "mrow"),
        (r"\begin{pmatrix} a \\ b \end{pmatrix}^\top", "msup"),
        (r"\sum_{i=1}^n \dotsc", "munderover"),
    ],
)
def test_real_world_constructs_convert(tex: str, expected: str) -> None:
    html = render(f"$${tex}$$")
    assert not error_boxes(html), error_boxes(html)[0].attrs["title"]
    assert find(html, expected)
    assert "[2ex]" not in "".join(m.all_text() for m in find(html, "semantics")[0].children[:1])


@pytest.mark.parametrize(
    "tex",
    [
        r"\href{javascript:alert(1)}{x}",
        r"\htmlId{a}{x}",
        r"\class{a}{x}",
        r"\style{color:red}{x}",
        r"\bbox[red]{x}",
        r"\foo x",
        r"\begin{foo} x \end{foo}",
    ],
)
def test_unknown_or_unsafe_commands_are_error_boxes_naming_them(tex: str) -> None:
    html = render(f"${tex}$ 后 $y$")
    (box,) = error_boxes(html)
    name = re.match(r"\\(?:begin\{)?([A-Za-z]+)", tex)
    assert name is not None and name.group(1) in (box.attrs["title"] or "")
    assert tex_annotations(html) == ["y"]
    assert not [e for e in parse(html).elements if "href" in e.attrs]


def test_backtick_and_spaced_dollar_conventions_are_options() -> None:
    source = (
        "`$x_1$` 与 `$$\\sum_i x_i$$` 与 $ M=(P*4B)/(32/Q)*1.2 $，"
        "这本书卖 $5,那本卖 $10 `echo $HOME`"
    )
    strict = Delimiters(detect=False)
    off = markdown.Markdown(extensions=[MathExtension(DEFAULT_LIMITS, delimiters=strict)])
    assert not find(off.convert(source), "math")
    for delimiters in (Delimiters(True, True, detect=False), Delimiters()):
        md = markdown.Markdown(extensions=[MathExtension(DEFAULT_LIMITS, delimiters=delimiters)])
        html = md.convert(source)
        assert tex_annotations(html) == ["x_1", "\\sum_i x_i", "M=(P*4B)/(32/Q)*1.2"]
    assert tex_annotations(html) == ["x_1", "\\sum_i x_i", "M=(P*4B)/(32/Q)*1.2"]
    assert [m.attrs["display"] for m in find(html, "math")] == ["inline", "block", "inline"]
    assert "这本书卖 $5,那本卖 $10" in html
    assert [c.all_text() for c in find(html, "code")] == ["echo $HOME"]


def test_excerpt_and_search_text_read_formulas_as_text_not_tex(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    post = make_post(
        "学习率设为 $10^{-6}$，其中 $\\tau$ 是温度，$x \\in \\mathbb{R}^d$，除以 $\\sqrt{d_k}$。"
    )
    assert post.excerpt is not None
    assert "10⁻⁶" in post.excerpt and "x∈ℝᵈ" in post.excerpt and "√dₖ" in post.excerpt
    assert "\\" not in post.excerpt and "^{" not in post.excerpt
    with app.app_context():
        from blog.db import db
        from blog.search import indexed_post

        text = indexed_post(db.session.get(Post, post.id)).body_text
    assert "10⁻⁶" in text and "\\tau" not in text and "10−6" not in text


@pytest.mark.parametrize(
    ("tex", "readable"),
    [
        (r"x_i^2 + \frac{a+b}{2}", "xᵢ²+(a+b)/2"),
        (r"\mathrm{softmax}(QK^\top/\sqrt{d_k})V", "softmax(QKᵀ/√dₖ)V"),
        (r"\hat{y} = e^{x+1} + 2^{\alpha}", "ŷ=eˣ⁺¹+2^α"),
    ],
)
def test_plain_text_annotation_keeps_scripts_readable(tex: str, readable: str) -> None:
    html = render(f"${tex}$")
    (plain,) = [a for a in find(html, "annotation") if a.attrs["encoding"] == "text/plain"]
    assert plain.all_text() == readable


def test_a_single_backtick_formula_or_price_is_not_taken_for_a_convention() -> None:
    html = render("写成 `$x_i$` 即可；这本书卖 $5,那本卖 $10。还有 $ 5 and $ 6")
    assert not find(html, "math")


def test_import_reports_broken_formulas_with_line_and_detected_conventions(
    app: Flask, tmp_path: Path
) -> None:
    from blog.importer import import_paths

    (tmp_path / "post.md").write_text(
        "---\ntitle: 导入\n---\n\n第一段 `$x_1$` 与 `$y^2$`。\n\n第二段 $\\foo{x}$ 坏了。\n",
        encoding="utf-8",
    )
    with app.app_context():
        report = import_paths([tmp_path])
    assert report.imported == 1
    (warning,) = report.warnings
    assert warning.startswith(f"{tmp_path / 'post.md'}:7: ")
    # The site's UI language is Chinese (UI_LANGUAGE = "zh_Hans"), and so is the message.
    assert warning.endswith("未知命令 \\foo")
    assert report.notices == [
        f"{tmp_path / 'post.md'}: read 2 backtick-wrapped formulas (`$…$`, the blogdown habit)"
        " as math"
    ]


@pytest.mark.parametrize(
    ("tex", "message"),
    [
        ("{" * 10_000 + "x" + "}" * 10_000, "the limit is 500"),
        ("x" * 1_000_000, "the limit is"),
        (r"\def\a{\a\a}\a", "expanding to itself"),
        (r"\text{</math><script>alert(1)</script>}", ""),
        (r"\verb|</math><script>alert(1)</script>|", ""),
        (r"\verb|" + "{" * 10_000 + "|", ""),
        (r"\colorbox{red\" onclick=\"alert(1)}{x}", "Unknown color"),
        (r"\textcolor{#1a2b3c\" onmouseover=\"alert(1)}{x}", "Unknown color"),
        ("\\overset{\\text{\ue010color 1a2b3c;background:url(x)}}{x}", ""),
    ],
)
def test_bad_input_is_an_error_box_or_safe_text_even_with_generous_limits(
    tex: str, message: str
) -> None:
    generous = Limits(max_length=100_000, max_nesting=1_000_000)
    html = render(f"前 $$\n{tex}\n$$ 后 $y$", generous)
    assert not find(html, "script")
    assert not [e for e in parse(html).elements if set(e.attrs) & {"onclick", "onmouseover"}]
    assert all(
        re.fullmatch(r"#[0-9a-f]{6}", e.attrs.get("mathcolor") or "#000000")
        for e in parse(html).elements
    )
    assert tex_annotations(html)[-1] == "y"
    if message:
        (box,) = error_boxes(html)
        assert message in (box.attrs["title"] or "")
