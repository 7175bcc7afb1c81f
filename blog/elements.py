"""What the engine knows about HTML elements, and the one rule for text that is left alone.

Every module that walks HTML (the save-time document reader, typography, script
conversion, the feed writer) takes its element lists from here, so that a table cell ends
a word for the search index exactly as it ends a sentence for typography.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Elements that never have content or an end tag.
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
     "param", "source", "track", "wbr"}
)  # fmt: skip
#: Elements that start a new line of text: their edges separate words.
BLOCK_ELEMENTS = frozenset(
    {"address", "article", "aside", "blockquote", "body", "caption", "dd", "details",
     "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
     "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "li", "main",
     "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot",
     "th", "thead", "title", "tr", "ul"}
)  # fmt: skip
#: Elements whose content an HTML5 parser reads as plain text, not as tags (a serializer
#: writes it out unescaped).
RAW_TEXT_ELEMENTS = frozenset(
    {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext",
     "textarea", "title"}
)  # fmt: skip
#: Elements whose text is not part of the visible prose at all.
HIDDEN_ELEMENTS = frozenset({"script", "style", "template", "noscript"})
#: Elements whose text is quoted verbatim: code, formulas, raw text.
VERBATIM_ELEMENTS = frozenset(
    {"pre", "code", "kbd", "samp", "math", "svg", "textarea", "var", "tt", "script", "style"}
)
#: The class an author or plugin puts on an element to keep every text transform out.
NO_CONVERT_CLASS = "noconvert"
#: ``translate="no"``: the standard attribute that says the same (math and code carry it).
NO_CONVERT_ATTRIBUTE = ("translate", "no")


def leaves_text_alone(tag: str, attributes: Mapping[str, str | None]) -> bool:
    """Whether text transforms (typography, script conversion) must not touch this element.

    The single "do not touch" rule: verbatim elements, ``translate="no"`` and the
    ``noconvert`` class. Everything inside such an element is left alone too.
    """
    if tag in VERBATIM_ELEMENTS:
        return True
    name, value = NO_CONVERT_ATTRIBUTE
    if (attributes.get(name) or "").lower() == value:
        return True
    return NO_CONVERT_CLASS in (attributes.get("class") or "").split()


#: The heading elements, ``h1`` to ``h6``.
HEADING_ELEMENTS = frozenset(f"h{level}" for level in range(1, 7))


def is_heading(tag: str) -> bool:
    return len(tag) == 2 and tag[0] == "h" and tag[1] in "123456"


#: Marks an element whose content the admin replaces while the author types (the editor's
#: live preview). A plugin whose browser script draws post content (diagrams) loads that
#: script on pages carrying it, since the preview may gain content the page lacked.
LIVE_PREVIEW_ATTRIBUTE = "data-live-preview"
#: The DOM event (bubbling, on the replaced element) sent after such content is replaced:
#: a plugin's script listens for it on ``document`` and draws what is new.
CONTENT_REPLACED_EVENT = "blog:content-replaced"
