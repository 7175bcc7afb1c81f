"""Markdown syntax for ruby annotations: ``{汉字|hàn zì}`` and ``{注音|ㄓㄨˋ ㄧㄣ}``.

Registers one inline processor, ``typography_ruby``, at priority 175: below backticks
(190) and backslash escapes (180), so ``{`` inside code spans or escaped as ``\\{`` never
starts an annotation. The base must be CJK characters, so braces in ordinary prose and
in TeX that reaches Markdown (``\\{a|b\\}``) do not match.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown import Markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

from .chars import CJK_CHARACTER_CLASS

RUBY_PATTERN = (
    rf"\{{(?P<base>[{CJK_CHARACTER_CLASS}]+)\|(?P<reading>[^{{}}|\n]*[^\s{{}}|][^{{}}|\n]*)\}}"
)
PRIORITY = 175


def _append_annotation(ruby: etree.Element, reading: str) -> None:
    opening = etree.SubElement(ruby, "rp")
    opening.text = "("
    annotation = etree.SubElement(ruby, "rt")
    annotation.text = reading
    closing = etree.SubElement(ruby, "rp")
    closing.text = ")"


def build_ruby(base: str, reading: str) -> etree.Element:
    """Return a ``<ruby>`` element: one ``<rt>`` per character when the syllables match.

    When the number of space-separated syllables differs from the number of characters,
    the whole reading annotates the whole base.
    """
    syllables = reading.split()
    ruby = etree.Element("ruby")
    if len(syllables) == len(base):
        for character, syllable in zip(base, syllables, strict=True):
            if len(ruby):
                ruby[-1].tail = character
            else:
                ruby.text = character
            _append_annotation(ruby, syllable)
    else:
        ruby.text = base
        _append_annotation(ruby, " ".join(syllables))
    return ruby


class RubyInlineProcessor(InlineProcessor):
    """Replace ``{base|reading}`` with ruby markup."""

    def handleMatch(  # type: ignore[override]  # the stubs type Pattern.handleMatch apart
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element, int, int]:
        return build_ruby(m.group("base"), m.group("reading")), m.start(0), m.end(0)


class RubyExtension(Extension):
    """Python-Markdown extension adding the ruby annotation syntax."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.inlinePatterns.register(
            RubyInlineProcessor(RUBY_PATTERN, md), "typography_ruby", PRIORITY
        )
