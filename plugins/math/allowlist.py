"""The MathML the sanitizer must let through for this plugin's output.

Presentation MathML elements with their layout attributes. ``href`` is deliberately
absent on every element (latex2mathml emits ``href="javascript:…"`` for ``\\href``), as
are ``style`` and event handlers.
"""

from __future__ import annotations

from typing import Any

MATHML_TAGS = frozenset(
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
        "mtable",
        "mtr",
        "mtd",
        "mstyle",
        "mpadded",
        "mphantom",
        "menclose",
        "merror",
    }
)

_COMMON = {"mathvariant", "displaystyle", "scriptlevel", "mathcolor", "mathbackground", "mathsize"}

MATHML_ATTRIBUTES: dict[str, set[str]] = {
    "math": {"display", "displaystyle"},
    "annotation": {"encoding"},
    "mi": _COMMON,
    "mn": _COMMON,
    "mtext": _COMMON,
    "ms": _COMMON,
    "mo": _COMMON
    | {
        "fence",
        "form",
        "largeop",
        "lspace",
        "rspace",
        "maxsize",
        "minsize",
        "movablelimits",
        "separator",
        "stretchy",
        "symmetric",
        "accent",
    },
    "mrow": _COMMON,
    "mstyle": _COMMON,
    "mspace": {"width", "height", "depth", "linebreak", "mathbackground"},
    "mfrac": {"linethickness", "bevelled", "numalign", "denomalign"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset", "mathbackground"},
    "menclose": {"notation"},
    "mtable": {
        "align",
        "columnalign",
        "columnlines",
        "columnspacing",
        "displaystyle",
        "frame",
        "framespacing",
        "rowalign",
        "rowlines",
        "rowspacing",
        "width",
    },
    "mtr": {"columnalign", "rowalign"},
    "mtd": {"columnalign", "rowalign", "columnspan", "rowspan"},
}

_WRAPPER_ATTRIBUTES = {"class", "translate", "title"}


def allowed_html() -> dict[str, Any]:
    """Return the sanitizer additions for formulas and formula error boxes."""
    attributes: dict[str, set[str]] = {
        name: set(values) for name, values in MATHML_ATTRIBUTES.items()
    }
    attributes["span"] = set(_WRAPPER_ATTRIBUTES)
    return {"tags": set(MATHML_TAGS) | {"span", "code"}, "attributes": attributes}
