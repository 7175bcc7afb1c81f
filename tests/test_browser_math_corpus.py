"""Every formula of the shared LaTeX corpora laid out by Debian's Chromium, then measured.

The formulas are saved as posts (so the real pipeline, sanitizer, stylesheet, font and
CSP apply), served by waitress and measured from the laid-out page: literal ``\\command``
text, elements or attributes outside MathML Core, ``=`` signs of aligned rows that do not
line up, display big operators whose limits are not below them, and stretchy brackets
around fractions that did not stretch. Each count is printed; every rule must be 0.

A second page puts our rendering of the 40 hardest formulas of each file beside Temml's
(run in the page from npm's ``temml``, which ``scripts/test`` installs) and saves a
screenshot under the test's tmp folder for a person to score.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import chromium, serve_in_thread
from conftest import shared_path
from flask import Flask

from blog.models import Post
from blog_plugins.math.font import DEBIAN_STIX_GENERAL

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
TEMML_DIST = Path(
    os.environ.get("BLOG_TEST_TEMML_DIST", REPO / ".cache/test-npm/node_modules/temml/dist")
)

# Measured in the page: each rule returns the formulas (by index) that break it.
MEASURE = """
() => {
  const CORE = new Set(("math annotation annotation-xml semantics maction merror mfrac mi "
    + "mmultiscripts mn mo mover mpadded mphantom mprescripts mroot mrow ms mspace msqrt "
    + "mstyle msub msubsup msup mtable mtd mtext mtr munder munderover none").split(" "));
  const GLOBAL = new Set(["class", "id", "dir", "displaystyle", "scriptlevel",
    "mathcolor", "mathbackground", "mathsize"]);
  const ATTRS = {math: ["display"], annotation: ["encoding"], mi: ["mathvariant"],
    mo: ["form", "fence", "separator", "lspace", "rspace", "stretchy", "symmetric",
         "maxsize", "minsize", "largeop", "movablelimits"],
    mfrac: ["linethickness"], mspace: ["width", "height", "depth"],
    mpadded: ["width", "height", "depth", "lspace", "voffset"], mover: ["accent"],
    munder: ["accentunder"], munderover: ["accent", "accentunder"],
    mtd: ["columnspan", "rowspan"]};
  const BIG = new Set(["∑", "∏", "⋃", "⋂", "⨁", "⨂", "⋁", "⋀", "∐"]);
  const RELATIONS = new Set(["=", "≤", "≥", "<", ">", "≈", "≡", "∝", "≠", "⇒", "→", ":="]);
  const result = {formulas: 0, errors: 0, literal: [], noncore: [], misaligned: [],
                  limits_beside: [], unstretched: [], noncore_kinds: {}};
  const wrappers = document.querySelectorAll(".post-body span.math");
  wrappers.forEach((wrapper, index) => {
    result.formulas += 1;
    if (wrapper.classList.contains("math-error")) { result.errors += 1; return; }
    const math = wrapper.querySelector("math");
    let literal = false, noncore = false;
    for (const el of math.querySelectorAll("*")) {
      const tag = el.localName;
      if (el.namespaceURI !== "http://www.w3.org/1998/Math/MathML" && tag !== "a") {
        noncore = true; result.noncore_kinds["<" + tag + ">"] = 1; continue;
      }
      if (tag !== "a" && !CORE.has(tag)) {
        noncore = true; result.noncore_kinds["<" + tag + ">"] = 1;
      }
      for (const attr of el.attributes) {
        const ok = GLOBAL.has(attr.name) || (ATTRS[tag] || []).includes(attr.name)
          || (tag === "a" && ["href", "rel"].includes(attr.name));
        if (!ok || (attr.name === "mathvariant" && attr.value !== "normal")) {
          noncore = true; result.noncore_kinds[tag + "@" + attr.name] = 1;
        }
      }
      // \\verb prints TeX source on purpose (as LaTeX, KaTeX and Temml do): its text is
      // marked mc-verb and is the one place a backslash command is the right output.
      if (tag !== "annotation" && el.closest("annotation") === null
          && !el.classList.contains("mc-verb")) {
        for (const node of el.childNodes) {
          if (node.nodeType === 3 && /\\\\[A-Za-z]+/.test(node.data)) literal = true;
        }
      }
    }
    if (literal) result.literal.push(index);
    if (noncore) result.noncore.push(index);
    // Aligned rows: the first relation of each left-aligned cell must share one x.
    for (const table of math.querySelectorAll("mtable")) {
      const columns = {};
      for (const row of table.children) {
        [...row.children].forEach((cell, column) => {
          if (!cell.classList.contains("mc-align-left")) return;
          const first = cell.firstElementChild;
          if (!first || first.localName !== "mo") return;
          if (!RELATIONS.has(first.textContent.trim())) return;
          (columns[column] = columns[column] || []).push(first.getBoundingClientRect().left);
        });
      }
      for (const xs of Object.values(columns)) {
        if (xs.length > 1 && Math.max(...xs) - Math.min(...xs) > 2) {
          result.misaligned.push(index); break;
        }
      }
    }
    // Display big operators: the lower limit's top must be below the operator's middle.
    if (math.getAttribute("display") === "block") {
      for (const under of math.querySelectorAll("munder, munderover")) {
        const base = under.firstElementChild, script = base && base.nextElementSibling;
        if (!base || !script || base.localName !== "mo") continue;
        if (!BIG.has(base.textContent.trim())) continue;
        if (getComputedStyle(base).mathStyle !== "normal") continue;  // inline-size operators
        const b = base.getBoundingClientRect(), s = script.getBoundingClientRect();
        if (s.top < b.top + b.height / 2) result.limits_beside.push(index);
      }
    }
    // Stretchy fences around a fraction must be about as tall as the fraction.
    for (const frac of math.querySelectorAll("mfrac")) {
      const row = frac.parentElement;
      if (!row || row.children.length < 3) continue;
      const open = row.firstElementChild, close = row.lastElementChild;
      if (open.localName !== "mo" || close.localName !== "mo") continue;
      if (!"([{|‖⟨".includes(open.textContent.trim()) || !open.textContent.trim()) continue;
      if (open.getAttribute("stretchy") === "false") continue;
      const f = frac.getBoundingClientRect(), o = open.getBoundingClientRect();
      const line = parseFloat(getComputedStyle(math).fontSize) * 1.25;
      if (f.height > line && o.height <= line) result.unstretched.push(index);
    }
  });
  return result;
}
"""


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    yield from serve_in_thread(app, threads=4)


def _cases(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(
        shared_path("external", "latex", name).read_text(encoding="utf-8")
    )["cases"]
    return cases


def _markdown(case: dict[str, Any]) -> str:
    tex = str(case["tex"]).strip()
    return f"```math\n{tex}\n```" if case["display"] else f"式 \\({tex}\\) 止"


def hardness(tex: str) -> int:
    """Rank formulas by what tends to go wrong: environments, big operators, fences."""
    score = len(tex) // 20
    score += 6 * len(re.findall(r"\\begin\{", tex))
    score += 3 * len(re.findall(r"\\(?:left|right|big|Big|bigg|Bigg)\b", tex))
    score += 2 * len(re.findall(r"\\(?:sum|prod|lim|max|min|arg|int|frac|dfrac|tag)\b", tex))
    score += 2 * len(re.findall(r"\\(?:boldsymbol|bm|mathbf|mathscr|mathcal|mathbb)\b", tex))
    return score


@pytest.mark.parametrize("name", ["katex_expressions.json", "blog_expressions.json"])
def test_every_corpus_formula_is_laid_out_by_the_rules(
    name: str,
    served: str,
    make_post: Callable[..., Post],
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = _cases(name)
    # Formulas of one real post share a post (their macros and labels belong together);
    # KaTeX's cases are independent, so each gets its own.
    groups: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        groups.setdefault(str(case.get("from") or index), []).append(index)
    posts = []
    for number, indexes in enumerate(groups.values()):
        slug = f"corpus-{name.split('_')[0]}-{number}"
        make_post("\n\n".join(_markdown(cases[i]) for i in indexes), title=slug, slug=slug)
        posts.append((slug, indexes))
    totals: dict[str, Any] = {"formulas": 0, "errors": 0, "noncore_kinds": {}}
    broken: dict[str, list[str]] = {}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        for slug, indexes in posts:
            response = page.goto(f"{served}/posts/{slug}/")
            assert response is not None and response.status == 200
            page.wait_for_load_state("load")
            page.evaluate("document.fonts.ready")
            measured = page.evaluate(MEASURE)
            totals["formulas"] += measured["formulas"]
            totals["errors"] += measured["errors"]
            totals["noncore_kinds"].update(measured["noncore_kinds"])
            for rule in ("literal", "noncore", "misaligned", "limits_beside", "unstretched"):
                broken.setdefault(rule, []).extend(
                    str(cases[indexes[i]]["tex"])[:80] for i in measured[rule] if i < len(indexes)
                )
    with capsys.disabled():
        print(
            f"\n{name}: {totals['formulas']} formulas, {totals['errors']} error boxes; "
            + ", ".join(f"{rule} {len(found)}" for rule, found in broken.items())
        )
        for rule, found in broken.items():
            for tex in found[:5]:
                print(f"  {rule}: {tex!r}")
        if totals["noncore_kinds"]:
            print("  non-Core:", sorted(totals["noncore_kinds"]))
    assert totals["formulas"] == len(cases)
    assert {rule: len(found) for rule, found in broken.items()} == {
        "literal": 0,
        "noncore": 0,
        "misaligned": 0,
        "limits_beside": 0,
        "unstretched": 0,
    }


@pytest.mark.parametrize("name", ["katex_expressions.json", "blog_expressions.json"])
def test_hardest_formulas_beside_temml_are_saved_as_a_screenshot(
    name: str, served: str, make_post: Callable[..., Post], tmp_path: Path
) -> None:
    temml_js = TEMML_DIST / "temml.js"
    if not temml_js.is_file():
        pytest.skip(f"npm temml is not installed at {TEMML_DIST} (scripts/test installs it)")
    cases = _cases(name)
    ranked = sorted(range(len(cases)), key=lambda i: (-hardness(str(cases[i]["tex"])), i))
    hardest = [cases[i] for i in ranked[:40]]
    slugs = []
    for number, case in enumerate(hardest):
        slug = f"hard-{name[:5]}-{number}"
        make_post(_markdown(case), title=slug, slug=slug)
        slugs.append(slug)
    rows = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        ours = []
        for slug in slugs:
            page.goto(f"{served}/posts/{slug}/")
            ours.extend(
                page.evaluate(
                    "[...document.querySelectorAll('.post-body span.math')].map(s => s.outerHTML)"
                )
            )
        head = page.evaluate(
            "[...document.querySelectorAll('link[rel=stylesheet]')].map(l => l.outerHTML).join('')"
        )
        assert len(ours) == len(hardest)
        for number, (case, rendered) in enumerate(zip(hardest, ours, strict=True), 1):
            tex = html.escape(str(case["tex"]), quote=True)
            rows.append(
                f"<tr><td>{number}</td><td class=ours>{rendered}</td>"
                f"<td class=ref data-display={int(bool(case['display']))} data-tex='{tex}'>"
                "</td></tr>"
            )
        compare = (
            f"<!DOCTYPE html><html><head><meta charset=utf-8>{head}"
            f"<link rel=stylesheet href='/__temml__/Temml-Local.css'>"
            "<style>td{border-bottom:1px solid #ccc;padding:4px 8px;vertical-align:middle}"
            "td.ours,td.ref{width:48%;max-width:48vw;overflow-x:auto}"
            "table{width:100%;border-collapse:collapse;table-layout:fixed}"
            "td:first-child{width:2em}.math-display{overflow-x:auto}</style>"
            f"</head><body class=post-body><table>{''.join(rows)}</table></body></html>"
        )

        def fulfil(route: Any) -> None:
            route.fulfill(body=compare, content_type="text/html")

        def temml_file(route: Any) -> None:
            path = TEMML_DIST / route.request.url.rsplit("/", 1)[1]
            if path.is_file():
                route.fulfill(path=str(path))
            else:
                route.fulfill(status=404, body="")

        page.route(f"{served}/__compare__", fulfil)
        page.route(f"{served}/__temml__/*", temml_file)
        page.goto(f"{served}/__compare__")
        page.add_script_tag(path=str(temml_js))
        page.evaluate(
            """() => { for (const cell of document.querySelectorAll('td.ref')) {
                 const tex = cell.dataset.tex;
                 try { temml.render(tex, cell, {displayMode: cell.dataset.display === '1'}); }
                 catch (e) { cell.textContent = 'Temml: ' + e.message; } } }"""
        )
        page.evaluate("document.fonts.ready")
        shot = tmp_path / f"compare-{name.split('.')[0]}.png"
        page.screenshot(path=str(shot), full_page=True)
        copy_to = os.environ.get("BLOG_TEST_SHOTS")
        if copy_to:
            Path(copy_to).mkdir(parents=True, exist_ok=True)
            (Path(copy_to) / shot.name).write_bytes(shot.read_bytes())
    assert shot.stat().st_size > 10_000


# Formulas whose look this plugin adjusts beyond math-core, measured in the page below.
LOOKS = r"""
$$\widetilde{w_1 w_2 w_3} \ne \tilde{w}$$

$$\mathscr{L}(\theta) \ne \mathcal{L}(\theta)$$

$$\sum_{w \in \mathcal{C}}{\prod_{\tilde{u} \in Context(w)}{\prod_{u \in \{w\} \cup NEG(w)}{f}}}$$

$$\rho^{'}(\xi) + \text{\bf bold \it italic \tt mono}$$

$$\textcolor{#1a2b3c}{c} + \color{teal} \colorbox{yellow}{d} + \verb|\frac{a}{b}|$$
"""

MEASURE_LOOKS = """
() => {
  const math = [...document.querySelectorAll('.post-body math')];
  const wide = math[0].querySelector('mover');
  const [base, accent] = wide.children;
  const script = math[1].querySelector('mi.mc-script');
  // The limits' boxes: the operators' own boxes include the thin space as padding.
  const unders = [...math[2].querySelectorAll('munder')]
    .map(u => u.children[1].getBoundingClientRect());
  const gaps = unders.slice(1).map((box, i) => box.left - unders[i].right);
  const texts = [...math[3].querySelectorAll('mtext')].map(t => getComputedStyle(t));
  const body = getComputedStyle(document.body);
  return {
    accent_ratio: accent.getBoundingClientRect().width / base.getBoundingClientRect().width,
    script_family: getComputedStyle(script).fontFamily,
    roundhand_loaded: document.fonts.check('20px "Math Roundhand"', '\\u2112'),
    math_font_loaded: document.fonts.check('20px "Latin Modern Math"', '\\u2211'),
    gaps: gaps,
    weights: texts.map(t => t.fontWeight),
    styles: texts.map(t => t.fontStyle),
    color: getComputedStyle(math[0]).color,
    background: body.backgroundColor,
    errors: document.querySelectorAll('.post-body .math-error').length,
    // mathcolor / mathbackground are presentation attributes: no style, so the CSP holds.
    mathcolor: [...math[4].querySelectorAll('[mathcolor]')].map(e => getComputedStyle(e).color),
    mathbackground: [...math[4].querySelectorAll('[mathbackground]')]
      .map(e => getComputedStyle(e).backgroundColor),
    verb_family: getComputedStyle(math[4].querySelector('mtext.mc-verb')).fontFamily,
  };
}
"""


def test_paper_theme_light_and_dark_lay_out_the_hardest_formulas_and_the_fixed_looks(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    from blog.posts import PostFields, save_post

    paper = make_app(THEME="paper")
    cases = _cases("blog_expressions.json")
    ranked = sorted(range(len(cases)), key=lambda i: (-hardness(str(cases[i]["tex"])), i))
    hardest = "\n\n".join(_markdown(cases[i]) for i in ranked[:40])
    with paper.app_context():
        save_post(
            PostFields(source=LOOKS + "\n\n" + hardest, title="纸", slug="paper-math"), author="t"
        )
    server = serve_in_thread(paper, threads=4)
    url = next(server)
    try:
        with chromium() as browser:
            for scheme in ("light", "dark"):
                page = browser.new_page(
                    viewport={"width": 1000, "height": 900}, color_scheme=scheme
                )
                response = page.goto(f"{url}/posts/paper-math/")
                assert response is not None and response.status == 200
                page.evaluate("document.fonts.ready")
                looks = page.evaluate(MEASURE_LOOKS)
                shot = tmp_path / f"paper-{scheme}.png"
                page.screenshot(path=str(shot), full_page=True)
                copy_to = os.environ.get("BLOG_TEST_SHOTS")
                if copy_to:
                    Path(copy_to).mkdir(parents=True, exist_ok=True)
                    (Path(copy_to) / shot.name).write_bytes(shot.read_bytes())
                page.close()
                assert looks["errors"] == 0
                assert looks["math_font_loaded"]
                assert looks["accent_ratio"] > 0.8, looks  # the tilde spans its base
                assert looks["script_family"].startswith('"Math Roundhand"')
                assert all(gap >= 2 for gap in looks["gaps"]), looks  # limits never touch
                assert looks["weights"][0] == "700" and looks["styles"][1] == "italic"
                assert looks["color"] != looks["background"]
                assert looks["mathcolor"] == ["rgb(26, 43, 60)", "rgb(0, 128, 128)"], looks
                assert looks["mathbackground"] == ["rgb(255, 235, 61)"], looks
                assert "Mono" in looks["verb_family"], looks
                if Path(DEBIAN_STIX_GENERAL).is_file():
                    assert looks["roundhand_loaded"]
    finally:
        next(server, None)
