"""The ``-{…}-`` Markdown syntax (MediaWiki's) for author control over conversion.

* ``-{文字}-`` keeps ``文字`` as written in every variant:
  ``<span data-noconvert="">文字</span>``. Markdown inside still works, and typography
  still applies (``translate="no"`` would stop it, so a separate mark is used).
* ``-{zh-hans:程序;zh-tw:程式;zh-hk:程式}-`` gives the text per variant:
  ``<span data-variants='{"zh-hans": "程序", …}'>程序</span>``. The element shows the first
  form (write your post's own script first); the response filter swaps in the form for the
  reader's variant, with MediaWiki's fallbacks (zh-hk → zh-hant → zh-tw).

A malformed form list (``-{zh-tw:}-``) is kept as protected text with the reason in a
``data-noconvert`` title, so nothing the author wrote disappears.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as etree

from markdown import Markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString

from .rules import RuleError, looks_like_forms, parse_forms

#: Runs after code spans (190) and backslash escapes (180), so `` `-{x}-` `` and ``\-{x}-``
#: stay literal, and before links and emphasis, which then work inside ``-{…}-``.
PRIORITY = 175
NO_CONVERT = "data-noconvert"
VARIANT_FORMS = "data-variants"


class VariantMarkupProcessor(InlineProcessor):
    def handleMatch(  # type: ignore[override]  # the stubs type Pattern.handleMatch apart
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element, int, int]:
        content = m.group(1)
        span = etree.Element("span")
        if looks_like_forms(content):
            try:
                forms = parse_forms(content, "-{…}-")
            except RuleError as error:
                span.set(NO_CONVERT, "")
                span.set("title", str(error))
                span.text = AtomicString(content)
                return span, m.start(0), m.end(0)
            span.set(VARIANT_FORMS, json.dumps(forms, ensure_ascii=False))
            span.text = AtomicString(next(iter(forms.values())))
            return span, m.start(0), m.end(0)
        span.set(NO_CONVERT, "")
        span.text = content
        return span, m.start(0), m.end(0)


class VariantMarkupExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        md.inlinePatterns.register(
            VariantMarkupProcessor(r"-\{(.+?)\}-", md), "opencc_variant_markup", PRIORITY
        )


ALLOWED_HTML = {"attributes": {"span": {NO_CONVERT, VARIANT_FORMS}}}
