"""OpenCC converters, built once per configuration and shared by every request thread.

Building a converter loads its dictionaries (tens of milliseconds), so each configuration
is built once. Sharing is safe: OpenCC's ``Converter::Convert`` is a const operation on
immutable dictionaries (the maintainers test it from several threads, BYVoid/OpenCC#231),
and the Python binding holds the GIL for the call anyway.
"""

from __future__ import annotations

import threading

import opencc

from blog.api import FragmentCache

#: Joins the text segments of a page so OpenCC runs once per page. A character OpenCC
#: maps to itself and that no dictionary phrase contains, so no phrase spans two segments.
SEPARATOR = "\U0010fffd"

_converters: dict[str, opencc.OpenCC] = {}
_lock = threading.Lock()

#: Texts up to this length are kept converted (by configuration): the titles,
#: descriptions and interface words a page outside its fragments repeats on every miss.
#: OpenCC costs about as much per character as scanning the page around them.
MEMO_MAX_CHARS = 500
#: A text's conversion depends only on the configuration and the installed OpenCC, so the
#: process's apps and threads share it; bounded by the characters held.
_memo = FragmentCache(max_chars=2_000_000)


class UnknownConfigError(ValueError):
    """An OpenCC configuration name that the installed OpenCC does not ship."""


def available_configs() -> set[str]:
    """Return the configuration names the installed OpenCC ships (``s2t``, ``s2twp``…)."""
    return {name.removesuffix(".json") for name in opencc.CONFIGS}


def converter(config: str) -> opencc.OpenCC:
    """Return the shared converter for ``config``, building it on first use."""
    found = _converters.get(config)
    if found is not None:
        return found
    if config not in available_configs():
        raise UnknownConfigError(
            f"unknown OpenCC configuration {config!r}; "
            f"available: {', '.join(sorted(available_configs()))}"
        )
    with _lock:
        if config not in _converters:
            _converters[config] = opencc.OpenCC(config)
        return _converters[config]


def convert_text(config: str, text: str) -> str:
    """Convert ``text``; NUL characters survive (the C library would stop at the first)."""
    convert = converter(config).convert
    if "\x00" in text:
        return "\x00".join(convert(part) if part else part for part in text.split("\x00"))
    return str(convert(text)) if text else text


def convert_many(config: str, texts: list[str]) -> list[str]:
    """Convert each of ``texts``; those not kept from before go to OpenCC in one call.

    A text's conversion is the same alone or joined with others by :data:`SEPARATOR`
    (no phrase spans it), so a kept one stands in for a new call.
    """
    converted: list[str] = list(texts)
    missing: list[int] = []
    for index, text in enumerate(texts):
        found = _memo.get((config, text)) if len(text) <= MEMO_MAX_CHARS else None
        if found is None:
            missing.append(index)
        else:
            converted[index] = found
    if not missing:
        return converted
    fresh = _convert_joined(config, [texts[index] for index in missing])
    for index, text in zip(missing, fresh, strict=True):
        converted[index] = text
        if len(texts[index]) <= MEMO_MAX_CHARS:
            _memo.put((config, texts[index]), text, len(texts[index]))
    return converted


def _convert_joined(config: str, texts: list[str]) -> list[str]:
    """Convert each of ``texts`` with one OpenCC call (they are joined by :data:`SEPARATOR`)."""
    if any(SEPARATOR in text for text in texts):
        return [convert_text(config, text) for text in texts]
    converted = convert_text(config, SEPARATOR.join(texts)).split(SEPARATOR)
    if len(converted) != len(texts):
        return [convert_text(config, text) for text in texts]
    return converted
