"""What counts as a character, a word, a URL and a sentence end in mixed Chinese/English text."""

from __future__ import annotations

import regex

#: One CJK ideograph, kana or hangul syllable: each counts as one word when reading.
CJK_CHAR = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")
#: A run of such characters (counting them by runs takes a match per run, not per character).
CJK_RUN = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]+")

#: A Latin (or Greek, Cyrillic) word or a number, with its inner joints kept together:
#: ``don't``, ``GPT-4``, ``3.14``, ``use_rmpad`` are one word each.
WORD = regex.compile(
    r"[\p{Latin}\p{Greek}\p{Cyrillic}\p{Nd}][\p{Latin}\p{Greek}\p{Cyrillic}\p{Nd}\p{M}]*"
    r"(?:['’._\-][\p{Latin}\p{Greek}\p{Cyrillic}\p{Nd}][\p{Latin}\p{Greek}\p{Cyrillic}\p{Nd}\p{M}]*)*"
)

#: A web address as it appears in running text; it stops at the first non-ASCII character
#: so ``https://example.com/a简介`` ends before ``简``.
URL = regex.compile(r"(?:[a-zA-Z][a-zA-Z0-9+.\-]*://|www\.)[!#$%&'()*+,\-./0-9:;=?@A-Z\[\]_a-z~]+")
#: Every match of :data:`URL` holds one of these.
URL_MARKERS = ("://", "www.")

GRAPHEME = regex.compile(r"\X")

#: Punctuation that ends a sentence wherever it stands.
CJK_SENTENCE_END = frozenset("。！？；…")
#: Punctuation that ends a sentence only when followed by a space (``e.g.x`` does not).
LATIN_SENTENCE_END = frozenset(".!?;")
#: Closing quotes and brackets that may follow a sentence end and belong to it.
CLOSERS = frozenset("”’」』）)】》\"'")
#: Characters an excerpt should not end on, because they announce more text.
DANGLING = "，、,:：;（(“‘「『《【[—-–·　 "


def graphemes(text: str) -> list[str]:
    """Split ``text`` into user-perceived characters (emoji sequences, flags, combining marks)."""
    return GRAPHEME.findall(text)


def is_cjk(char: str) -> bool:
    """Tell whether ``char`` is a CJK ideograph, kana or hangul syllable."""
    return CJK_CHAR.fullmatch(char) is not None
