"""Math that reads like TeX: wide accents, roundhand script, primes, old-style font
switches, spacing between big operators, kramdown's ``$$``, and error messages in the
site's UI language that name the command.

Layout in the browser is measured by ``tests/test_browser_math_corpus.py``; these tests
check the MathML and HTML the plugin stores, through Markdown and through saved posts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import markdown
import pytest
from flask import Flask
from test_math import DEFAULT_LIMITS, error_boxes, find, render, tex_annotations

from blog.posts import PostFields, save_post
from blog_plugins.math.extension import MathExtension
from blog_plugins.math.messages import localize
from blog_plugins.math.render import render_formula
from blog_plugins.math.scanner import Delimiters, detect_conventions


def test_wide_accents_stretch_over_the_whole_base_and_tilde_stays_narrow() -> None:
    html = render(r"$\widetilde{xyz} + \widecheck{ab} + \widehat{W_1 W_2 W_3} + \tilde{w}$")
    assert not error_boxes(html)
    wide, check, hat, narrow = find(html, "mover")
    for accent, mark, step in ((wide, "˜", 3), (check, "ˇ", 2), (hat, "ˆ", 4)):
        assert accent.attrs["accent"] == "true"
        (operator,) = [c for c in accent.children if c.tag == "mo"]
        # A spacing mark (Chromium draws no lone combining mark), scaled to the base.
        assert operator.all_text() == mark and operator.attrs["stretchy"] == "true"
        assert operator.attrs["class"] == f"mc-wide-{step}"
    (narrow_mark,) = [c for c in narrow.children if c.tag == "mo"]
    assert narrow_mark.attrs["stretchy"] == "false"


def test_mathscr_is_drawn_by_the_roundhand_face_and_mathcal_is_not() -> None:
    html = render(r"$\mathscr{L} \ne \mathcal{L}$")
    script, calligraphic = [m for m in find(html, "mi") if "ℒ" in m.all_text()]
    assert "mc-script" in (script.attrs.get("class") or "").split()
    assert "mc-script" not in (calligraphic.attrs.get("class") or "").split()


@pytest.mark.parametrize("tex", [r"f^{'}(x)", r"f^{\prime}(x)", r"f'(x)"])
def test_a_prime_follows_its_base_at_base_level(tex: str) -> None:
    # Latin Modern Math's prime is drawn raised; as a superscript it comes out tiny.
    html = render(f"${tex}$")
    assert not find(html, "msup")
    assert [m.all_text() for m in find(html, "mi")] == ["f", "x"]
    (prime,) = [m for m in find(html, "mo") if m.all_text() == "′"]
    assert prime.attrs["lspace"] == "0" and prime.attrs["rspace"] == "0"
    assert tex_annotations(html) == [tex]


def test_double_grouped_prime_is_a_double_prime() -> None:
    html = render(r"$g^{''}$")
    assert [m.all_text() for m in find(html, "mo")] == ["″"]


def test_overline_and_underline_are_rules_the_width_of_their_base() -> None:
    # math-core writes them with a combining low line, which Chromium draws as nothing.
    html = render(r"$\overline{J} + \underline{xy}$")
    rules = [m for m in find(html, "mrow") if "line" in (m.attrs.get("class") or "")]
    assert [(r.attrs["class"], r.all_text()) for r in rules] == [
        ("mc-overline", "J"),
        ("mc-underline", "xy"),
    ]
    assert "\u0332" not in html


def test_old_style_switches_style_text_and_math() -> None:
    html = render(
        r"$$\begin{matrix} \rm rm & \it it & \bf bf \\"
        r" \text{\rm rm} & \text{r\it i\rm r} & \text{\bf bf} & \text{\sf sf} & \text{\tt tt}"
        r"\end{matrix}$$"
    )
    assert not error_boxes(html)
    texts = {m.all_text(): (m.attrs.get("class") or "").split() for m in find(html, "mtext")}
    assert texts["bf"] == ["mc-text-bold"]
    assert texts["i"] == ["mc-text-italic"]
    assert texts["tt"] == ["mc-text-mono"]
    assert texts["sf"] == ["mc-sans-serif-font"]
    identifiers = [m.all_text() for m in find(html, "mi")]
    assert "𝐛𝐟" in identifiers and "𝑖𝑡" in identifiers and "rm" in identifiers


def test_textbf_and_texttt_inside_text_keep_their_look() -> None:
    html = render(r"$\text{a \textbf{b} \texttt{c}}$")
    assert not error_boxes(html)
    styled = {m.all_text(): m.attrs.get("class") for m in find(html, "mtext")}
    assert styled["b"] == "mc-text-bold" and styled["c"] == "mc-text-mono"
    assert not find(html, "b") and not find(html, "code")


def test_big_operator_before_a_braced_operand_gets_a_thin_space_after_it() -> None:
    html = render(r"$$\sum_{w \in C}{\log \prod_{a}{\prod_{u \in N(w)}{x}}} + \sum_i y_i$$")
    classes = [(u.attrs.get("class") or "") for u in find(html, "munder")]
    assert classes == ["mc-op-space", "mc-op-space", "mc-op-space", ""]


@pytest.mark.parametrize(
    ("tex", "language", "message"),
    [
        (r"\foo x", "zh_Hans", "未知命令 \\foo"),
        (r"\foo x", "zh-TW", "未知指令 \\foo"),
        (r"\begin{foo}x\end{foo}", "zh_Hans", "未知环境 foo"),
        (r"x^{\textbackslash y}", "zh_Hans", "\\textbackslash 不能用在公式里"),
        (r"x^{\textbackslash y}", "en", "Not valid in math mode: \\textbackslash"),
        (r"\frac{a", "zh_Hant", "公式中有 1 個 { 沒有閉合"),
        (r"\def\a{\a\a}\a", "zh_Hans", "自定义命令展开次数过多（命令可能在展开自身）"),
        (r"\text{for $a$}", "zh_Hans", "\\text{} 里不能再写公式（$…$）"),
        (r"\foo x", "en", 'Unknown command "\\foo"'),
    ],
)
def test_error_box_speaks_the_ui_language_and_names_the_command(
    tex: str, language: str, message: str
) -> None:
    html = render_formula(tex, f"${tex}$", display=False, limits=DEFAULT_LIMITS, language=language)
    (box,) = error_boxes(html)
    assert box.attrs["title"] == message
    (shown,) = [s for s in find(html, "span") if "math-error-message" in (s.attrs["class"] or "")]
    assert shown.all_text() == message


@pytest.mark.parametrize(
    ("message", "language", "expected"),
    [
        ("Not valid in math mode", "zh_Hans", "此命令不能用在公式里"),
        ("This command is already defined: \\x", "zh-HK", "\\x 已經定義過了"),
        ('Unknown color "teal2"', "zh_Hans", "未知颜色 teal2"),
        (
            "formula nests 600 levels deep; the limit is 500",
            "zh_Hant",
            "公式巢狀 600 層，上限為 500",
        ),
    ],
)
def test_messages_without_and_with_a_name_read_as_chinese(
    message: str, language: str, expected: str
) -> None:
    assert localize(message, language) == expected


def test_an_untranslated_message_keeps_its_english_behind_a_chinese_lead_in() -> None:
    assert (
        localize("Something new went wrong", "zh_Hans") == "公式无法转换：Something new went wrong"
    )
    assert localize("Something new went wrong", "en") == "Something new went wrong"


@pytest.mark.parametrize(("language", "expected"), [("zh_Hans", "未知命令 \\foo"), ("en", None)])
def test_saved_post_and_its_warning_use_the_site_language(
    make_app: Callable[..., Flask], language: str, expected: str | None
) -> None:
    app = make_app(UI_LANGUAGE=language)
    with app.app_context():
        post = save_post(PostFields(source="前文 $\\foo{x}$ 后文", title="坏公式"), author="t")
        (warning,) = post.render_meta["warnings"]
        page = app.test_client().get(f"/posts/{post.slug}/").get_data(as_text=True)
    assert expected is None or expected in page
    if expected is None:
        assert warning["message"].endswith('Unknown command "\\foo"')
    else:
        assert warning["message"].endswith(expected)
    assert warning["line"] == 1


KRAMDOWN_POST = (
    "设 $$x_i$$ 为样本，$$\\sum_i x_i$$ 为和。\n"
    "\n"
    "$$\n"
    "E = mc^2\n"
    "$$\n"
    "\n"
    "这本书卖 $5,那本卖 $10。\n"
    "\n"
    "紧跟文字\n"
    "$$\n"
    "y\n"
    "$$\n"
)


def test_kramdown_post_is_detected_and_its_paragraph_dollars_are_inline() -> None:
    assert detect_conventions(KRAMDOWN_POST) == {"kramdown": 3}
    html = render(KRAMDOWN_POST)
    displays = [m.attrs["display"] for m in find(html, "math")]
    assert displays == ["inline", "inline", "block", "inline"]
    assert tex_annotations(html) == ["x_i", "\\sum_i x_i", "E = mc^2", "y"]
    assert "这本书卖 $5,那本卖 $10" in html


def test_a_post_with_single_dollar_math_keeps_paragraph_dollars_as_display() -> None:
    source = "设 $x$ 与 $$y$$ 在段中。"
    assert detect_conventions(source) == {}
    html = render(source)
    assert [m.attrs["display"] for m in find(html, "math")] == ["inline", "block"]


def test_kramdown_reading_is_an_option_too() -> None:
    source = "设 $$x$$ 与 $y$。"
    md = markdown.Markdown(
        extensions=[MathExtension(DEFAULT_LIMITS, delimiters=Delimiters(kramdown=True))]
    )
    html = md.convert(source)
    assert [m.attrs["display"] for m in find(html, "math")] == ["inline", "inline"]


def test_import_says_it_read_a_file_the_kramdown_way(app: Flask, tmp_path: Path) -> None:
    from blog.importer import import_paths

    folder = tmp_path
    (folder / "jekyll.md").write_text(
        "---\ntitle: 克拉姆当\n---\n\n" + KRAMDOWN_POST, encoding="utf-8"
    )
    with app.app_context():
        report = import_paths([folder])
    assert report.imported == 1
    assert report.notices == [
        f"{folder / 'jekyll.md'}: read 3 $$…$$ inside paragraphs as inline math"
        " (kramdown, as Jekyll does)"
    ]


def test_an_old_style_switch_starts_from_the_normal_font_as_in_latex() -> None:
    html = render(r"$\text{\bf bold \it italic \tt mono}$")
    styled = [(m.all_text(), m.attrs.get("class")) for m in find(html, "mtext")]
    assert styled == [
        ("bold\xa0", "mc-text-bold"),  # text spaces are NBSP
        ("italic\xa0", "mc-text-italic"),
        ("mono", "mc-text-mono"),
    ]
