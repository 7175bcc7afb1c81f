"""The MathML the sanitizer must let through for this plugin's output.

The MathML Core elements :mod:`blog_plugins.math.mathml` lets out of the converter, with
their Core attributes and ``class`` (the math stylesheet lays tables out by class).
``id`` is allowed on ``mtd`` only, where equation numbers carry their ``eq-`` label;
``mathcolor``/``mathbackground`` hold only a colour name or ``#hex``; ``style`` and event
handlers never are.
"""

from __future__ import annotations

from typing import Any

from blog_plugins.math.mathml import COLOUR_VALUE, CORE_ATTRIBUTES, CORE_ELEMENTS

MATHML_TAGS = CORE_ELEMENTS

_GLOBAL = {"class", "displaystyle", "scriptlevel", "mathcolor", "mathbackground"}

MATHML_ATTRIBUTES: dict[str, set[str]] = {
    tag: _GLOBAL | set(CORE_ATTRIBUTES.get(tag, ())) for tag in CORE_ELEMENTS
}

_WRAPPER_ATTRIBUTES = {"class", "translate", "title"}


def allowed_html() -> dict[str, Any]:
    """Return the sanitizer additions for formulas and formula error boxes."""
    attributes: dict[str, set[str]] = {
        name: set(values) for name, values in MATHML_ATTRIBUTES.items()
    }
    attributes["span"] = set(_WRAPPER_ATTRIBUTES)
    return {
        "tags": set(MATHML_TAGS) | {"span", "code"},
        "attributes": attributes,
        # Colours are presentation attributes (no style, so the CSP holds); a value
        # could otherwise carry any CSS text.
        "attribute_values": {"mathcolor": COLOUR_VALUE, "mathbackground": COLOUR_VALUE},
    }
