"""Render one code block: Pygments classes for known languages, escaped text otherwise."""

from __future__ import annotations

import functools
import html
import logging

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from blog_plugins.code.info import FenceInfo

CSS_CLASS = "highlight"

logger = logging.getLogger(__name__)


# Lexers and formatters keep no state between blocks, and making one is most of the cost
# of a short block (an HtmlFormatter builds its whole style table): one of each is made
# per language and per set of options, and reused.
@functools.lru_cache(maxsize=256)
def _lexer(language: str | None) -> Lexer | None:
    if not language:
        return None
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=True)
    except ClassNotFound:
        return None


@functools.lru_cache(maxsize=64)
def _formatter(line_numbers: bool, first_line: int, highlighted: tuple[int, ...]) -> HtmlFormatter:
    return HtmlFormatter(
        cssclass=CSS_CLASS,
        wrapcode=True,
        linenos="inline" if line_numbers else False,
        linenostart=first_line,
        hl_lines=list(highlighted),
    )


#: Highlighted blocks remembered in each process, and the longest block remembered.
REMEMBERED_BLOCKS = 256
REMEMBERED_BLOCK_CHARS = 20_000


def _highlight(code: str, lexer: Lexer, options: tuple[bool, int, tuple[int, ...]]) -> str:
    return str(highlight(code, lexer, _formatter(*options))).rstrip("\n")


# Highlighting is a pure function of the code, its language and the fence's options, and
# most saves of a post leave its code blocks as they were (the author edited the prose),
# as does every copy of a block: each process keeps the last few hundred blocks' HTML.
# A block that fails is not kept, so its failure is logged each time it is rendered.
_remembered_highlight = functools.lru_cache(maxsize=REMEMBERED_BLOCKS)(_highlight)


def _plain(code: str) -> str:
    return f'<div class="{CSS_CLASS}"><pre><code>{html.escape(code)}</code></pre></div>'


def render_code(code: str, info: FenceInfo) -> str:
    """Return the HTML for a fenced block, wrapped in a ``translate="no"`` figure.

    Line numbers are inline ``<span class="linenos">`` (styled unselectable, and skipped
    by the copy button) so the block stays one ``<pre>`` that reflows on narrow screens.
    """
    lexer = _lexer(info.language)
    body = _plain(code)
    language_attribute = ""
    if lexer is not None:
        options = (bool(info.line_numbers), info.first_line, tuple(sorted(info.highlighted)))
        remembered = len(code) <= REMEMBERED_BLOCK_CHARS
        try:
            body = (_remembered_highlight if remembered else _highlight)(code, lexer, options)
        except Exception:  # a lexer bug costs this block its colours, not the post
            logger.exception("Pygments failed on a %s block; showing it as plain code", lexer.name)
        else:
            language = lexer.aliases[0] if lexer.aliases else info.language or ""
            language_attribute = f' data-lang="{html.escape(language)}"'
    caption = (
        f'<figcaption class="code-title">{html.escape(info.title)}</figcaption>'
        if info.title
        else ""
    )
    return f'<figure class="code-block" translate="no"{language_attribute}>{caption}{body}</figure>'
