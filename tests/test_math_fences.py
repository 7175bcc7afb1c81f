"""``\\left…\\right``: the normal-size delimiter around short content, stretchy around tall.

Each formula is saved in a post and read back from its page, so the sanitizer and the
stored HTML are those a reader gets. Chromium widens every stretchy delimiter to its
widest size variant, so a fence that needs no more than the normal size must be written
``stretchy="false"`` (see ``blog_plugins.math.fences``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from blog.models import Post

MATHML = "{http://www.w3.org/1998/Math/MathML}"
_MATH = re.compile(r"<math\b.*?</math>", re.S)
OPENING = frozenset({"(", "[", "{", "|", "‖", "⟨", "\u2063"})


def formulas(client: FlaskClient, post: Post) -> list[ET.Element]:
    """Every ``<math>`` of the post's page, parsed (annotations dropped)."""
    response = client.get(f"/posts/{post.slug}/")
    assert response.status_code == 200
    trees = []
    for found in _MATH.findall(response.get_data(as_text=True)):
        tree = ET.fromstring(found.replace("<math", f'<math xmlns="{MATHML[1:-1]}"', 1))
        for semantics in tree.iter(f"{MATHML}semantics"):
            for annotation in semantics.findall(f"{MATHML}annotation"):
                semantics.remove(annotation)
        trees.append(tree)
    return trees


def fence_groups(tree: ET.Element) -> list[ET.Element]:
    """The rows whose first and last children are delimiters, outermost first."""
    return [
        row
        for row in tree.iter(f"{MATHML}mrow")
        if len(row) >= 2
        and row[0].tag == row[-1].tag == f"{MATHML}mo"
        and (row[0].text or "").strip() in OPENING
    ]


def stretches(row: ET.Element) -> tuple[bool, bool]:
    """Whether the opening and the closing delimiter of ``row`` may stretch."""
    return row[0].get("stretchy") != "false", row[-1].get("stretchy") != "false"


def one_formula(make_post: Callable[..., Post], client: FlaskClient, tex: str) -> ET.Element:
    post = make_post(f"公式 ${tex}$ 在行内。\n\n$$\n{tex}\n$$\n", title="fences")
    inline, display = formulas(client, post)
    # The choice depends on the content, not on the style the formula is set in.
    assert [stretches(r) for r in fence_groups(inline)] == [
        stretches(r) for r in fence_groups(display)
    ]
    return inline


@pytest.mark.parametrize(
    "tex",
    [
        r"f\left(\theta\right)",
        r"E = \operatorname{diag}\left(1, 1, \dots, 1\right)",
        r"r\cos\left(\phi+\theta\right)",
        r"\left[h_{t-1}, x_t\right]",
        r"\left\{x_i\right\}",
        r"\left\langle u, v\right\rangle",
        r"\left| x \right|",
        r"\left\lVert y_i - y_j \right\rVert",
        r"\left(\text{中文}\right)",
        # One level of ordinary scripts passes TeX's threshold by hairs; the normal
        # delimiter is kept (the tip of the script shows over it, as around (x^2)).
        r"\left(x^2\right)",
        r"\left(\mathbf{W}^{\top} x\right)",
    ],
)
def test_short_content_gets_the_normal_size_delimiter(
    make_post: Callable[..., Post], client: FlaskClient, tex: str
) -> None:
    groups = fence_groups(one_formula(make_post, client, tex))
    assert groups, tex
    assert [stretches(row) for row in groups] == [(False, False)] * len(groups)


@pytest.mark.parametrize(
    "tex",
    [
        r"\left(\frac{a}{b}\right)",
        r"\left(\sqrt{2}\right)",
        r"\left(\sum_{i=1}^{n} x_i\right)",
        r"\left(\int_0^1 f\right)",
        r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}",
        r"\left(e^{-x^2}\right)",
        r"\left(a_{i_{t+1}}\right)",
        r"\left(\hat{A}\right)",
        r"\left( \big( x \big) \right)",
    ],
)
def test_tall_content_keeps_stretchy_delimiters(
    make_post: Callable[..., Post], client: FlaskClient, tex: str
) -> None:
    groups = fence_groups(one_formula(make_post, client, tex))
    assert groups, tex
    assert stretches(groups[0]) == (True, True)


def test_group_around_a_normal_size_group_is_normal_size(
    make_post: Callable[..., Post], client: FlaskClient
) -> None:
    outer, inner = fence_groups(one_formula(make_post, client, r"\left[\left(x\right)+1\right]"))
    assert stretches(outer) == stretches(inner) == (False, False)


def test_group_around_a_stretching_group_stretches_too(
    make_post: Callable[..., Post], client: FlaskClient
) -> None:
    tex = r"\left[\left(\frac{1}{2}\right)+1\right] \left(x\right)"
    outer, inner, short = fence_groups(one_formula(make_post, client, tex))
    assert stretches(outer) == stretches(inner) == (True, True)
    assert stretches(short) == (False, False)


def test_middle_delimiter_follows_its_group(
    make_post: Callable[..., Post], client: FlaskClient
) -> None:
    tex = r"\left\{x \middle| x>0\right\} \left\{\frac{a}{b} \middle| b>0\right\}"
    short, tall = fence_groups(one_formula(make_post, client, tex))
    assert [mo.get("stretchy") for mo in short.iter(f"{MATHML}mo") if mo.text == "|"] == ["false"]
    assert [mo.get("stretchy") for mo in tall.iter(f"{MATHML}mo") if mo.text == "|"] == ["true"]


def test_empty_delimiter_side_follows_the_visible_one(
    make_post: Callable[..., Post], client: FlaskClient
) -> None:
    tex = r"\left. x^2 \right|_{x=0} \left.\frac{a}{b}\right|_{0}"
    short, tall = fence_groups(one_formula(make_post, client, tex))
    assert stretches(short) == (False, False)
    assert stretches(tall) == (True, True)
