"""The math plugin remembers a post's converted formulas, keyed on everything they depend on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import markdown
import pytest

from blog_plugins.math import Config, limits_from
from blog_plugins.math import extension as math_extension
from blog_plugins.math.extension import MathExtension, post_formulas_html
from blog_plugins.math.render import FormulaSession, Limits

LIMITS = limits_from(Config())
POST = (
    "设 $\\newcommand{\\vv}{\\mathbf{v}}\\vv \\in \\RR^d$，见 $\\eqref{eq:a}$。\n\n"
    "$$E = mc^2 \\label{eq:a}$$\n\n坏公式 $\\frac{1}{$ 与 $\\vv$。\n"
)


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The TeX of every formula actually converted (not answered from memory)."""
    converted: list[str] = []

    class CountingSession(FormulaSession):
        def add(self, tex: str, *, display: bool) -> Any:
            converted.append(tex)
            return super().add(tex, display=display)

    post_formulas_html.cache_clear()
    monkeypatch.setattr(math_extension, "FormulaSession", CountingSession)
    yield converted
    post_formulas_html.cache_clear()


def convert(
    source: str,
    macros: dict[str, str] | None = None,
    language: str | None = None,
    limits: Limits = LIMITS,
) -> str:
    extension = MathExtension(limits, {"RR": r"\mathbb{R}"} if macros is None else macros)
    extension.language = language
    return markdown.Markdown(extensions=[extension]).convert(source)


def test_a_post_saved_again_with_the_same_formulas_is_not_converted_again(
    conversions: list[str],
) -> None:
    first = convert(POST)
    assert len(conversions) == 5
    again = convert(POST.replace("坏公式", "改过的文字"))
    assert len(conversions) == 5
    assert again.count("<math") == first.count("<math") == 4
    post_formulas_html.cache_clear()
    assert convert(POST) == first  # the remembered answer is the one a conversion gives
    assert len(conversions) == 10


def test_any_changed_formula_converts_the_whole_post_again(conversions: list[str]) -> None:
    convert(POST)
    edited = convert(POST.replace("E = mc^2", "E = mc^3"))
    assert len(conversions) == 10
    assert "mc^3" in edited and "(1)" in edited  # numbering still comes from this post


def test_site_settings_are_part_of_what_is_remembered(conversions: list[str]) -> None:
    with_macro = convert("$\\RR$")
    without = convert("$\\RR$", macros={})
    assert "ℝ" in with_macro and "math-error" not in with_macro
    assert "math-error" in without
    english = convert("$\\frac{1}{$", macros={})
    chinese = convert("$\\frac{1}{$", macros={}, language="zh_Hans")
    assert english != chinese
    strict = convert("$\\RR$", limits=Limits(max_length=2, max_nesting=LIMITS.max_nesting))
    assert "math-error" in strict
    assert len(conversions) == 5


def test_memory_is_bounded(conversions: list[str]) -> None:
    for number in range(math_extension.REMEMBERED_POSTS + 5):
        convert(f"$x_{{{number}}}$")
    assert post_formulas_html.cache_info().currsize == math_extension.REMEMBERED_POSTS
