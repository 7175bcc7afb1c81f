"""The core's one text scan: every response text transform applied in a single read of the
page, byte for byte what the transforms gave one after another, each parsing the page."""

from __future__ import annotations

import random
from collections.abc import Hashable

import pytest

from blog.api import (
    LEFT_ALONE,
    FragmentCache,
    Opening,
    Runs,
    Tag,
    TextTransform,
    transform_text,
)
from blog.fragments import END, START, mark, unmark
from blog_plugins.opencc.htmlconvert import VariantConversion, convert_document
from blog_plugins.typography import to_corner_quotes
from blog_plugins.typography.corners import CORNER_QUOTES
from blog_plugins.typography.htmltext import transform_html
from blog_plugins.typography.punctuation import corner_quote_edits
from tests.test_corner_quotes_identical import FRAGMENT_PIECES
from tests.test_fragments import page_around, sanitized_bodies, target


@pytest.mark.parametrize("code", ["zh-tw", "zh-hk"])
def test_one_scan_is_the_conversion_then_the_corner_quotes_byte_for_byte(code: str) -> None:
    variant = target(code)
    transforms = [VariantConversion(variant), CORNER_QUOTES]
    cache = FragmentCache()
    quoted = 0
    for body in sanitized_bodies(300):
        for lang in ("zh-Hans", "zh-Hant"):
            page = page_around(body, lang)
            # The reference: the corner quotes' own scan over the converted page.
            expected = to_corner_quotes(convert_document(unmark(page), variant))
            for _cold_then_warm in range(2):
                scanned = transform_text(page, transforms, cache=cache)
                assert unmark(scanned) == expected, (body, lang)
            quoted += "「" in unmark(scanned)
    # Not vacuous: bodies were kept apart and pages got corner quotes.
    assert len(cache) > 250
    assert quoted > 300


def test_corner_quotes_in_the_scan_match_the_full_prose_scan() -> None:
    rng = random.Random(20261203)
    fragments = [
        "".join(rng.choice(FRAGMENT_PIECES) for _ in range(rng.randint(1, 40))) for _ in range(4000)
    ]
    changed = 0
    for fragment in fragments:
        expected = transform_html(fragment, [corner_quote_edits])
        assert transform_text(fragment, [CORNER_QUOTES]) == expected, fragment
        changed += expected != fragment
    assert 200 < changed < len(fragments) - 200


def test_a_body_whose_quotes_pair_with_the_page_is_scanned_in_place() -> None:
    page = f"<p>“前{mark('中”')}</p>"
    cache = FragmentCache()
    for _cold_then_warm in range(2):
        assert transform_text(page, [CORNER_QUOTES], cache=cache) == (
            f"<p>「前{START}中」{END}</p>"
        )
    assert len(cache) == 0  # its result depends on the page: not kept
    apart = f"<p>“前”</p>{mark('<p>“中”</p>')}"
    assert unmark(transform_text(apart, [CORNER_QUOTES], cache=cache)) == (
        "<p>「前」</p><p>「中」</p>"
    )
    assert len(cache) == 1


def test_the_core_rule_keeps_every_transform_out_of_var_tt_and_noconvert() -> None:
    transforms = [VariantConversion(target("zh-tw")), CORNER_QUOTES]
    for element in ("<var>", "<tt>", '<span class="noconvert">', '<b translate="no">'):
        name = element[1:].split()[0].rstrip(">")
        protected = f"{element}“软件”</{name}>"
        page = f"<p>软件{protected}</p>"
        assert transform_text(page, transforms) == f"<p>軟體{protected}</p>"


class _Brackets(TextTransform):
    """Wraps every run of prose in brackets: shows what a transform is handed."""

    key = "brackets"

    def convert(self, runs: Runs) -> list[str]:
        return [
            text if context is LEFT_ALONE else f"[{text}]"
            for text, context in zip(runs.texts, runs.contexts, strict=True)
        ]


def test_a_transform_sees_text_runs_and_never_markup_or_protected_text() -> None:
    page = '<p title="t">a&amp;b<b>c</b><code>d</code>e\u2029f</p><!-- g --><script>h</script>'
    assert transform_text(page, [_Brackets()]) == (
        '<p title="t">[a&amp;b]<b>[c]</b><code>d</code>[e]\u2029[f]</p><!-- g --><script>h</script>'
    )


def test_a_later_transform_sees_the_text_an_earlier_one_made() -> None:
    page = "<p>“软件”</p>"
    transforms = [VariantConversion(target("zh-tw")), CORNER_QUOTES, _Brackets()]
    assert transform_text(page, transforms) == "<p>[「軟體」]</p>"


class _CountedUpper(TextTransform):
    """Upper-cases text outside ``<i>``; counts the tags it is asked about."""

    key = "counted-upper"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def root(self, page: str) -> Hashable:
        return "text"

    def start_tag(self, tag: Tag, outer: Hashable) -> Opening | None:
        self.asked.append(tag.source)
        return Opening(LEFT_ALONE) if tag.name == "i" else None

    def convert(self, runs: Runs) -> list[str] | None:
        return [
            text if context is LEFT_ALONE else text.upper()
            for text, context in zip(runs.texts, runs.contexts, strict=True)
        ]


def test_a_tag_seen_in_the_same_context_is_not_asked_about_again() -> None:
    """With an app's fragment cache, what a start tag means is kept: the next page with the
    same chrome asks the transform about nothing it has seen, and comes out the same."""
    page = '<p class="a">one <i>two</i> <b>three</b></p>'
    cache = FragmentCache()
    first, second = _CountedUpper(), _CountedUpper()
    expected = '<p class="a">ONE <i>two</i> <b>THREE</b></p>'
    assert transform_text(page, [first], cache=cache) == expected
    assert first.asked == ['<p class="a">', "<i>", "<b>"]
    assert transform_text(page, [second], cache=cache) == expected
    assert second.asked == []
    # Only the new tag is asked about.
    third = _CountedUpper()
    transform_text('<p class="a"><u>x</u></p>', [third], cache=cache)
    assert third.asked == ["<u>"]
    # Without a cache (a fragment transformed on its own, a plain call) nothing is kept.
    fourth = _CountedUpper()
    transform_text(page, [fourth])
    assert fourth.asked == ['<p class="a">', "<i>", "<b>"]
