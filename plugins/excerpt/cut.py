"""Shorten plain text to a budget of characters without breaking what must stay whole."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import islice

from blog_plugins.excerpt.units import (
    CJK_SENTENCE_END,
    CLOSERS,
    DANGLING,
    GRAPHEME,
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


def protected_spans(
    text: str, atomic: Iterable[tuple[int, int]] = (), before: int | None = None
) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` spans of ``text`` that no cut may fall inside.

    They are the given ``atomic`` spans (formula sources, placeholders, inline code), every
    URL, and every Latin word or number. With ``before``, the URLs and words starting at or
    after that offset are left out (a cut within it needs none of them).
    """
    spans = list(atomic)
    for pattern in (URL, WORD):
        for match in pattern.finditer(text):
            if before is not None and match.start() >= before:
                break
            spans.append(match.span())
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
    # A cut within the budget reads only the first budget + 1 clusters and the spans that
    # start among them: the composed text is several times longer than the excerpt, and
    # reading all of it was most of the cost of an excerpt.
    head = _Clusters(text, atomic, budget + 1)
    if len(head.clusters) <= budget:
        return text
    window_start = max(1, math.ceil(budget * (1 - sentence_window)))
    count = next(
        (
            k
            for k in range(budget, window_start - 1, -1)
            if head.allowed(k) and _ends_sentence(head.clusters, k)
        ),
        None,
    )
    if count is None:
        count = next((k for k in range(budget, 0, -1) if head.allowed(k)), None)
    offsets = head.offsets
    if count is None:
        # The text opens with an unbreakable run longer than the budget: read it all.
        whole = _Clusters(text, atomic, None)
        count = next(k for k in range(budget + 1, len(whole.clusters) + 1) if whole.allowed(k))
        if count == len(whole.clusters):
            return text
        offsets = whole.offsets
    kept = text[: offsets[count]]
    return (kept.rstrip(DANGLING) or kept.rstrip()) + suffix


class _Clusters:
    """The first ``limit`` grapheme clusters of a text (all with ``None``), their offsets, and
    which cluster boundaries fall inside a protected span."""

    def __init__(self, text: str, atomic: Sequence[tuple[int, int]], limit: int | None) -> None:
        found = list(islice(GRAPHEME.finditer(text), limit))
        self.clusters = [match.group() for match in found]
        self.offsets = [0, *(match.end() for match in found)]
        end_of_read = self.offsets[-1]
        self._inside = bytearray(end_of_read + 1)
        for start, end in protected_spans(text, atomic, before=end_of_read):
            end = min(end, end_of_read + 1)
            if end - start > 1:
                self._inside[start + 1 : end] = b"\x01" * (end - start - 1)

    def allowed(self, count: int) -> bool:
        """Whether the text may be cut after its first ``count`` clusters."""
        return not self._inside[self.offsets[count]]


def _ends_sentence(clusters: Sequence[str], count: int) -> bool:
    """Tell whether the first ``count`` clusters end with a complete sentence."""
    last = count - 1
    if clusters[last] in CLOSERS and last > 0:
        last -= 1
    if clusters[last] in CJK_SENTENCE_END:
        return True
    following = clusters[count] if count < len(clusters) else " "
    return clusters[last] in LATIN_SENTENCE_END and following.isspace()
