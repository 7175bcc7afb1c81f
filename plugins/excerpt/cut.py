"""Shorten plain text to a budget of characters without breaking what must stay whole."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import accumulate

from blog_plugins.excerpt.units import (
    CJK_SENTENCE_END,
    CLOSERS,
    DANGLING,
    LATIN_SENTENCE_END,
    URL,
    WORD,
    graphemes,
)


def text_length(text: str) -> int:
    """Return the length of ``text`` as a reader sees it: one per grapheme cluster.

    A CJK character counts 1, a Latin word or number counts its letters, an emoji family
    (a ZWJ sequence) or a flag counts 1.
    """
    return len(graphemes(text))


def protected_spans(text: str, atomic: Iterable[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` spans of ``text`` that no cut may fall inside.

    They are the given ``atomic`` spans (formula sources, placeholders, inline code), every
    URL, and every Latin word or number.
    """
    spans = list(atomic)
    spans.extend(match.span() for match in URL.finditer(text))
    spans.extend(match.span() for match in WORD.finditer(text))
    return spans


def cut(
    text: str,
    budget: int,
    *,
    suffix: str,
    atomic: Sequence[tuple[int, int]] = (),
    sentence_window: float = 0.2,
) -> str:
    """Return ``text`` shortened to at most ``budget`` characters (see :func:`text_length`).

    Text within the budget comes back unchanged, without ``suffix``. Otherwise the cut
    falls at the last sentence end within the final ``sentence_window`` of the budget, or
    failing that at the last boundary between words, never inside a protected span
    (:func:`protected_spans`) nor inside a grapheme cluster; ``suffix`` is appended. When
    the text opens with a single unbreakable run longer than the budget, the run is kept
    whole: a too-long excerpt is better than a broken URL or formula.
    """
    clusters = graphemes(text)
    if len(clusters) <= budget:
        return text
    offsets = [0, *accumulate(map(len, clusters))]
    inside = bytearray(len(text) + 1)
    for start, end in protected_spans(text, atomic):
        inside[start + 1 : end] = b"\x01" * max(0, end - start - 1)

    def allowed(count: int) -> bool:
        return not inside[offsets[count]]

    window_start = max(1, math.ceil(budget * (1 - sentence_window)))
    count = next(
        (
            k
            for k in range(budget, window_start - 1, -1)
            if allowed(k) and _ends_sentence(clusters, k)
        ),
        None,
    )
    if count is None:
        count = next((k for k in range(budget, 0, -1) if allowed(k)), None)
    if count is None:
        count = next(k for k in range(budget + 1, len(clusters) + 1) if allowed(k))
    if count == len(clusters):
        return text
    kept = text[: offsets[count]]
    return (kept.rstrip(DANGLING) or kept.rstrip()) + suffix


def _ends_sentence(clusters: Sequence[str], count: int) -> bool:
    """Tell whether the first ``count`` clusters end with a complete sentence."""
    last = count - 1
    if clusters[last] in CLOSERS and last > 0:
        last -= 1
    if clusters[last] in CJK_SENTENCE_END:
        return True
    following = clusters[count] if count < len(clusters) else " "
    return clusters[last] in LATIN_SENTENCE_END and following.isspace()
