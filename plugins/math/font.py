"""Serve the OpenType MATH font that formulas are laid out with, and its ``@font-face``.

The font is not in this repository: it comes from Debian's ``fonts-lmodern`` package
(Latin Modern Math, GUST Font License), which ``scripts/serve-demo`` and ``scripts/test``
install, or from any OTF named by ``[plugins.math] font_file``. Without it the site
still works; formulas fall back to the theme's fonts and brackets no longer stretch.

Latin Modern Math draws ``\\mathscr`` like ``\\mathcal``; the roundhand script letters come
from STIX (Debian's ``fonts-stix``, SIL Open Font License), limited by ``unicode-range`` to
the script block so a browser fetches it only for a page that has such a letter.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, abort, send_file, url_for

DEBIAN_LATIN_MODERN_MATH = "/usr/share/texmf/fonts/opentype/public/lm-math/latinmodern-math.otf"
FONT_FAMILY = "Latin Modern Math"
DEBIAN_STIX_GENERAL = "/usr/share/fonts/opentype/stix/STIXGeneral-Regular.otf"
SCRIPT_FAMILY = "Math Roundhand"
# Mathematical script capitals and small letters, the script letters of the Letterlike
# Symbols block that stand in for the gaps in it, and the variation selectors after them.
SCRIPT_RANGE = (
    "U+1D49C-1D4CF, U+212C, U+2130-2131, U+210B, U+2110, U+2112, U+2133, U+211B, "
    "U+212F, U+210A, U+2134, U+FE00-FE01"
)
CACHE_SECONDS = 30 * 86400


def _send_font(path: Path) -> Response:
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="font/otf", max_age=CACHE_SECONDS)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def register_font_routes(
    app: Flask, font_file: str, script_font_file: str = DEBIAN_STIX_GENERAL
) -> None:
    """Add ``/_math/font.css``, ``/_math/math-font.otf`` and ``/_math/script-font.otf``."""
    path = Path(font_file)
    script_path = Path(script_font_file)

    def font() -> Response:
        return _send_font(path)

    def script_font() -> Response:
        return _send_font(script_path)

    def font_css() -> Response:
        # font-display: block keeps formulas from flashing in a text font that cannot
        # stretch; the fallback list in math.css takes over if the font is missing.
        source = url_for("math_font")
        css = (
            "@font-face {\n"
            f'  font-family: "{FONT_FAMILY}";\n'
            f'  src: url("{source}") format("opentype");\n'
            "  font-display: block;\n"
            "}\n"
        )
        if script_path.is_file():
            css += (
                "@font-face {\n"
                f'  font-family: "{SCRIPT_FAMILY}";\n'
                f'  src: url("{url_for("math_script_font")}") format("opentype");\n'
                f"  unicode-range: {SCRIPT_RANGE};\n"
                "  font-display: block;\n"
                "}\n"
            )
        response = Response(css, mimetype="text/css")
        response.cache_control.public = True
        response.cache_control.max_age = CACHE_SECONDS
        return response

    app.add_url_rule("/_math/math-font.otf", "math_font", font)
    app.add_url_rule("/_math/script-font.otf", "math_script_font", script_font)
    app.add_url_rule("/_math/font.css", "math_font_css", font_css)
