"""Serve the OpenType MATH font that formulas are laid out with, and its ``@font-face``.

The font is not in this repository: it comes from Debian's ``fonts-lmodern`` package
(Latin Modern Math, GUST Font License), which ``scripts/serve-demo`` and ``scripts/test``
install, or from any OTF named by ``[plugins.math] font_file``. Without it the site
still works; formulas fall back to the theme's fonts and brackets no longer stretch.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, abort, send_file, url_for

DEBIAN_LATIN_MODERN_MATH = "/usr/share/texmf/fonts/opentype/public/lm-math/latinmodern-math.otf"
FONT_FAMILY = "Latin Modern Math"
CACHE_SECONDS = 30 * 86400


def register_font_routes(app: Flask, font_file: str) -> None:
    """Add ``/_math/font.css`` and ``/_math/math-font.otf`` to ``app``."""
    path = Path(font_file)

    def font() -> Response:
        if not path.is_file():
            abort(404)
        response = send_file(path, mimetype="font/otf", max_age=CACHE_SECONDS)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

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
        response = Response(css, mimetype="text/css")
        response.cache_control.public = True
        response.cache_control.max_age = CACHE_SECONDS
        return response

    app.add_url_rule("/_math/math-font.otf", "math_font", font)
    app.add_url_rule("/_math/font.css", "math_font_css", font_css)
