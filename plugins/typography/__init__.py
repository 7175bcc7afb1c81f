"""Typography for Chinese technical writing: CJK–Latin spacing, punctuation, quotes, ruby.

Save time (a Markdown treeprocessor, :mod:`.treetext`, added by
``blog_markdown_extensions``; no HTML is parsed): straight quotes around Chinese become “” and ‘’,
half-width ``,:;!?()`` between CJK characters become full-width, and a space is put where
CJK meets Latin letters, digits and symbols. Stored HTML always carries the Simplified
convention (“”‘’), whatever the reader's variant. White space before closing full-width
punctuation is removed, and an inline formula or code span followed by closing
punctuation is wrapped with it in ``<span class="nowrap">`` (:mod:`.nowrap`), so no line
starts with the comma after a formula.

Request time (``blog_display_text``): titles, table-of-contents entries, excerpts, meta
descriptions and search snippets, which the themes print through the ``display`` filter,
get the same spacing and punctuation rules; the stored text stays as written.

Request time (``blog_text_transform``): for the variants listed in
``corner_quote_variants`` (Taiwan and Hong Kong by default) “” and ‘’ become 「」 and 『』,
in pages and in Atom feeds (:class:`.corners.CornerQuotes`).
This is a transform of its own rather than a function for the ``opencc`` plugin to call:
the quote style is a typographic convention, not a script conversion, so it works whether
or not script conversion is enabled. The core runs it in the same scan of the page as the
script conversion, after it, and the page cache keeps the result per URL and variant.

All passes skip ``pre, code, kbd, samp, script, style, math``, elements with
``translate="no"`` or class ``noconvert``, and bare URLs (see :mod:`.htmltext`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from blog.api import (
    FragmentCache,
    TextTransform,
    current_variant,
    hookimpl,
    plugin_config,
    static_url,
)

from .corners import CORNER_QUOTES
from .htmltext import Edit, Rule, transform_html, transform_marks
from .nowrap import keep_punctuation_with_inline
from .punctuation import (
    FULL_WIDTH,
    corner_quote_edits,
    curly_quote_edits,
    full_width_edits,
    remove_space_before_punctuation,
    space_before_punctuation_edits,
)
from .ruby import RubyExtension
from .spacing import add_spacing, spacing_insertions
from .treetext import TypographyExtension

if TYPE_CHECKING:
    from flask import Flask, Request, Response
    from markdown.extensions import Extension

    from blog.api import PostDraft

__version__ = "1.0.0"

__all__ = [
    "Config",
    "check_config",
    "save_time_rules",
    "to_corner_quotes",
    "typeset_html",
    "typeset_text",
]


@dataclass
class Config:
    """``[plugins.typography]``: which rules run."""

    #: Put a space where CJK meets Latin letters, digits and symbols.
    spacing: bool = True
    #: Half-width marks turned full-width between CJK characters ("" for none).
    full_width_punctuation: str = ",:;!?()"
    #: Turn straight quotes around Chinese text into “” and ‘’ at save time.
    curly_quotes: bool = True
    #: Variants whose pages show 「」『』 instead of “”‘’.
    corner_quote_variants: list[str] = field(default_factory=lambda: ["zh-tw", "zh-hk"])
    #: Enable the ``{汉字|hàn zì}`` ruby syntax.
    ruby: bool = True
    #: Delete white space before closing full-width punctuation (``公式 。`` → ``公式。``).
    tight_punctuation: bool = True
    #: Keep inline math and code together with the punctuation right after them.
    keep_punctuation_with_inline: bool = True


def check_config(config: Config) -> None:
    """Raise ``ValueError`` naming any setting the rules cannot honour."""
    unsupported = sorted(set(config.full_width_punctuation) - set(FULL_WIDTH))
    if unsupported:
        raise ValueError(
            f"[plugins.typography] full_width_punctuation: no full-width form for "
            f"{''.join(unsupported)!r}; choose among {''.join(FULL_WIDTH)!r}"
        )


def _config() -> Config:
    return plugin_config("typography") or Config()


def _spacing_rule(text: str, editable: Sequence[bool]) -> list[Edit]:
    return [(position, position, " ") for position in spacing_insertions(text)]


def _full_width_rule(marks: str) -> Rule:
    def rule(text: str, editable: Sequence[bool]) -> list[Edit]:
        return full_width_edits(text, marks)

    return rule


def save_time_rules(config: Config) -> list[Rule]:
    """The rules ``config`` turns on, in the order they run."""
    rules: list[Rule] = []
    if config.curly_quotes:
        rules.append(curly_quote_edits)
    if config.full_width_punctuation:
        rules.append(_full_width_rule(config.full_width_punctuation))
    if config.spacing:
        rules.append(_spacing_rule)
    if config.tight_punctuation:
        rules.append(space_before_punctuation_edits)
    return rules


def typeset_html(html: str, config: Config | None = None) -> str:
    """Apply the save-time rules of ``config`` to the prose of an HTML fragment.

    Posts are typeset on Markdown's tree instead (no HTML parse); this is for HTML from
    elsewhere (titles, feeds, tools).
    """
    config = config or Config()
    html = transform_html(html, save_time_rules(config))
    return keep_punctuation_with_inline(html) if config.keep_punctuation_with_inline else html


def typeset_text(text: str, config: Config | None = None) -> str:
    """Apply the spacing and punctuation rules of ``config`` to plain text (a title, say)."""
    config = config or Config()
    if config.spacing:
        text = add_spacing(text)
    if config.tight_punctuation:
        text = remove_space_before_punctuation(text)
    return text


def to_corner_quotes(html: str, cache: FragmentCache | None = None) -> str:
    """Turn paired “” and ‘’ in the prose of ``html`` into 「」 and 『』.

    With ``cache``, marked fragments (post bodies) are edited once and kept.
    """
    # Only a literal opening mark can start a pair (references such as &ldquo; are kept as
    # written), so a page without one is returned unparsed: most pages of a build have none.
    if "“" not in html and "‘" not in html:
        return html
    # The pairing reads only the quote marks, paragraph breaks and which marks are
    # editable, so only those are collected (same result as transform_html, a third of
    # its time on a page of formulas and code).
    return transform_marks(html, corner_quote_edits, "“”‘’", cache)


@hookimpl
def blog_startup(app: Flask) -> None:
    check_config(_config())


@hookimpl
def blog_markdown_extensions(post: PostDraft) -> list[Extension | str]:
    config = _config()
    extensions: list[Extension | str] = [RubyExtension()] if config.ruby else []
    if not (post.lang or "").lower().startswith("en"):
        extensions.append(TypographyExtension(save_time_rules(config)))
    return extensions


@hookimpl
def blog_render_html(post: PostDraft, html: str) -> str | None:
    # A substitution over the serialised body, not a parse: inline formulas are stashed
    # HTML in Markdown's tree, so the pair (formula, punctuation) first exists here.
    if (post.lang or "").lower().startswith("en") or not _config().keep_punctuation_with_inline:
        return None
    return keep_punctuation_with_inline(html)


@hookimpl
def blog_display_text(text: str, role: str) -> str | None:
    """Space titles, headings, excerpts, descriptions and snippets like the body."""
    config = _config()
    if role == "snippet":
        rules: list[Rule] = [_spacing_rule] if config.spacing else []
        if config.tight_punctuation:
            rules.append(space_before_punctuation_edits)
        return transform_html(text, rules) if rules else None
    return typeset_text(text, config)


@hookimpl
def blog_allowed_html() -> dict[str, Any]:
    return {"tags": {"ruby", "rt", "rp"}}


@hookimpl
def blog_head_assets(request: Request) -> list[str]:
    return [static_url("typography", "typography.css")]


#: Pages and feeds, whose prose gets corner quotes in the variants that use them.
CORNER_QUOTE_MIMETYPES = frozenset({"text/html", "application/atom+xml"})


@hookimpl
def blog_text_transform(request: Request, response: Response) -> TextTransform | None:
    if current_variant() not in _config().corner_quote_variants:
        return None
    if response.mimetype not in CORNER_QUOTE_MIMETYPES or response.direct_passthrough:
        return None
    return CORNER_QUOTES
