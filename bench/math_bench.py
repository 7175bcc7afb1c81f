"""Time per formula of the math plugin, side by side with the converters it was chosen from.

Converts every formula of ``../shared/external/latex/`` in interleaved rounds with:

* the plugin's whole per-formula path (``FormulaSession``: preparation, math-core,
  rebuilding as MathML Core with classes, plain-text annotation),
* math-core alone,
* latex2mathml alone, if it is installed (the converter before issue 15),

and prints the median milliseconds per formula of each and their ratios. Run:
``python -m bench.math_bench [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from math_core import LatexToMathML

from blog_plugins.math.render import FormulaSession, Limits

SHARED = Path(__file__).resolve().parents[2] / "shared" / "external" / "latex"
LIMITS = Limits(max_length=4000, max_nesting=40)


def load_cases() -> list[tuple[str, bool]]:
    cases = []
    for name in ("katex_expressions.json", "blog_expressions.json"):
        path = SHARED / name
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))["cases"]
            cases.extend((str(case["tex"]).strip(), bool(case["display"])) for case in data)
    return cases


def plugin_path(cases: list[tuple[str, bool]]) -> None:
    for tex, display in cases:
        session = FormulaSession(LIMITS)
        formula = session.add(tex, display=display)
        session.finish()
        session.html(formula, tex)


def math_core_alone(cases: list[tuple[str, bool]]) -> None:
    engine = LatexToMathML(fancy_error=False)
    for tex, display in cases:
        try:
            engine.convert_with_local_state(tex, displaystyle=display)
        except Exception:  # refusals count as work done
            continue


def latex2mathml_alone() -> Callable[[list[tuple[str, bool]]], None] | None:
    try:
        from latex2mathml.converter import convert  # type: ignore[import-not-found]
    except ImportError:
        return None

    def run(cases: list[tuple[str, bool]]) -> None:
        for tex, display in cases:
            try:
                convert(tex, display="block" if display else "inline")
            except Exception:  # refusals count as work done
                continue

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases = load_cases()
    if not cases:
        raise SystemExit(f"no formulas: {SHARED} is absent")
    runs: dict[str, Callable[[list[tuple[str, bool]]], None]] = {
        "plugin (math-core + MathML Core rebuild)": plugin_path,
        "math-core alone": math_core_alone,
    }
    old = latex2mathml_alone()
    if old is not None:
        runs["latex2mathml alone (before)"] = old
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run(cases)
            timings[name].append((time.perf_counter() - started) * 1000 / len(cases))
    base = statistics.median(timings["math-core alone"])
    print(f"{len(cases)} formulas, {args.rounds} interleaved rounds, median ms per formula:")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"  {name:44s} {median:7.3f} ms  ({median / base:5.1f}x math-core)")


if __name__ == "__main__":
    main()
