"""Find the author's ``<!--more-->`` marker, which ends a hand-chosen excerpt.

The marker is written in the Markdown source, but the sanitizer strips HTML comments, and
the source itself cannot say reliably where the marker stands: ``<!--more-->`` inside a
fenced or indented code block, inline code or a formula is text, not a marker, and telling
these apart means parsing Markdown with every plugin's extensions. So the marker is located
after Markdown has rendered and before sanitizing (hook ``blog_render_html``): there, a real
marker is still an HTML comment, while one inside code or math has been escaped to
``&lt;!--more--&gt;`` and no longer matches. The first real marker is replaced by an empty
``<span class="excerpt-more"></span>``, which the sanitizer keeps; at excerpt time the text
before that element is the excerpt. The span stays in the page, invisible, where a theme
can target it (a "continue reading" link).
"""

from __future__ import annotations

import re

from blog_plugins.excerpt.structure import MORE_CLASS

#: ``<!--more-->`` in any case, with any spaces inside the comment: ``<!-- MORE -->``.
MORE_COMMENT = re.compile(r"<!--\s*more\s*-->", re.IGNORECASE)
MORE_ELEMENT = f'<span class="{MORE_CLASS}"></span>'


def mark_more(html: str) -> str | None:
    """Replace the first ``<!--more-->`` comment of ``html``; ``None`` when there is none."""
    marked, count = MORE_COMMENT.subn(MORE_ELEMENT, html, count=1)
    return marked if count else None
