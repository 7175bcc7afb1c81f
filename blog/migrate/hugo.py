"""Hugo shortcodes (``{{< figure >}}``, ``{{% notice %}}``...) to Markdown.

Hugo expands shortcodes everywhere, code fences included, so no fence is protected here;
``{{</* x */>}}`` is Hugo's way of showing a shortcode literally and stays literal.
Third-party embeds (YouTube, Bilibili, gists) become plain links: this engine loads nothing
from other sites.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from blog.migrate.common import (
    ADMONITION_KINDS,
    Conversion,
    Tag,
    admonition,
    fenced,
    html_text,
    markdown_link,
    parse_params,
    walk,
)
from blog.migrate.report import CONVERTED, KEPT

SHORTCODE = re.compile(
    r"\{\{<\s*(?P<c1>/)?\s*(?P<n1>[\w./-]+)(?P<a1>.*?)(?P<s1>/)?\s*>\}\}"
    r"|\{\{%\s*(?P<c2>/)?\s*(?P<n2>[\w./-]+)(?P<a2>.*?)(?P<s2>/)?\s*%\}\}",
    re.S,
)
ESCAPED = re.compile(r"\{\{([<%])\s*/\*(.*?)\*/\s*([>%])\}\}", re.S)
EMBEDS = {
    "youtube": "https://www.youtube.com/watch?v={}",
    "vimeo": "https://vimeo.com/{}",
    "bilibili": "https://www.bilibili.com/video/{}",
    "gist": "https://gist.github.com/{}",
    "tweet": "https://x.com/i/status/{}",
    "x": "https://x.com/i/status/{}",
    "instagram": "https://www.instagram.com/p/{}",
}
LAYOUT_ONLY = {"flex", "flex-item", "center", "columns", "column", "row", "col", "align"}
PostLookup = Callable[[str], tuple[str, str] | None]


def shortcodes(text: str) -> list[Tag]:
    tags = []
    for match in SHORTCODE.finditer(text):
        name = match.group("n1") or match.group("n2")
        args = match.group("a1") if match.group("n1") else match.group("a2")
        closing = bool(match.group("c1") or match.group("c2"))
        self_closing = bool(match.group("s1") or match.group("s2"))
        tags.append(
            Tag(
                name,
                (args or "").strip(),
                match.start(),
                match.end(),
                closing,
                self_closing,
                match.group(0),
            )
        )
    return tags


def convert(body: str, conversion: Conversion, lookup: PostLookup, params: dict[str, Any]) -> str:
    text = ESCAPED.sub(
        lambda m: conversion.protect(
            "{{" + m.group(1) + " " + m.group(2).strip() + " " + m.group(3) + "}}"
        ),
        body,
    )

    def handle(tag: Tag, inner: str | None, offset: int) -> str:
        position = offset + tag.start
        line = conversion.line(position)
        positional, named = parse_params(tag.args)
        name = tag.name.lower()
        report = conversion.report

        def again(part: str) -> str:
            return walk(part, shortcodes, handle, offset + tag.end)

        if tag.closing:
            return conversion.keep(f"/{name}", tag.raw, position, "closing tag without opening")
        if name == "figure":
            report.construct("figure", CONVERTED, line)
            return _figure(named, positional)
        if name == "highlight" and inner is not None:
            report.construct("highlight", CONVERTED, line)
            lang = positional[0] if positional else ""
            return conversion.protect(fenced(inner, lang))
        if name in ("ref", "relref"):
            target = named.get("path") or (positional[0] if positional else "")
            path, _hash, anchor = target.partition("#")
            found = lookup(path) if path else ("", "")
            if found is None:
                return conversion.keep(
                    name, tag.raw, position, f"no page {target!r} in this import"
                )
            report.construct(name, CONVERTED, line)
            return found[0] + (f"#{anchor}" if anchor else "")
        if (
            name in ("notice", "admonition", "alert", "callout", "hint") or name in ADMONITION_KINDS
        ) and inner is not None:
            kind = named.get("type") or (
                positional[0]
                if positional and name in ("notice", "admonition", "alert", "callout", "hint")
                else name
            )
            title_words = (
                positional[1:]
                if name in ("notice", "admonition", "alert", "callout", "hint")
                else positional
            )
            title = named.get("title") or " ".join(title_words)
            report.construct(name, CONVERTED, line)
            collapsed = named.get("open", "").lower() == "false"
            return admonition(kind or "note", title, again(inner), collapsible=collapsed)
        if name == "details" and inner is not None:
            summary = (
                named.get("summary") or named.get("title") or " ".join(positional) or "Details"
            )
            report.construct("details", CONVERTED, line)
            return admonition("note", summary, again(inner), collapsible=True)
        if name in EMBEDS:
            ident = named.get("id", "")
            if name == "gist" and named.get("user"):
                ident = f"{named['user']}/{ident}"
            if not ident and positional:
                ident = "/".join(positional[:2]) if name == "gist" else positional[0]
            if not ident:
                return conversion.keep(name, tag.raw, position, "no id to link to")
            report.construct(name, CONVERTED, line, "a link instead of a third-party embed")
            url = ident if ident.startswith("http") else EMBEDS[name].format(ident)
            label = named.get("title") or f"{name}: {ident}"
            return markdown_link(label, url)
        if name == "link":
            href = named.get("href") or (positional[0] if positional else "")
            content = named.get("content") or (positional[1] if len(positional) > 1 else href)
            if not href:
                return conversion.keep(name, tag.raw, position, "no href")
            report.construct("link", CONVERTED, line)
            return markdown_link(content, href)
        if name == "music" and (named.get("url") or named.get("server")):
            report.construct("music", CONVERTED, line, "a link instead of a player")
            label = " – ".join(v for v in (named.get("name"), named.get("artist")) if v) or "music"
            return markdown_link(f"♪ {label}", named.get("url") or "")
        if name == "version" and positional:
            report.construct("version", CONVERTED, line)
            return f"**v{positional[0].lstrip('v')}**"
        if name == "caniuse" and (named.get("feature") or positional):
            feature = named.get("feature") or positional[0]
            report.construct("caniuse", CONVERTED, line, "a link instead of an embed")
            return markdown_link(f"Can I use: {feature}", f"https://caniuse.com/{feature}")
        if name == "param" and positional:
            value = params.get(positional[0])
            if value is None:
                return conversion.keep(
                    name, tag.raw, position, "parameter not set in the site config"
                )
            report.construct("param", CONVERTED, line)
            return str(value)
        if name in ("math", "katex") and inner is not None:
            report.construct(name, CONVERTED, line)
            return f"\n$$\n{inner.strip()}\n$$\n"
        if name in ("mermaid", "pseudocode") and inner is not None:
            report.construct(name, KEPT, line, "shown as source code; no renderer for it here")
            return conversion.protect(fenced(inner, "latex" if name == "pseudocode" else name))
        if name in LAYOUT_ONLY and inner is not None:
            report.construct(name, CONVERTED, line, "layout wrapper removed, content kept")
            return f"\n{again(inner)}\n"
        if inner is not None:
            opening = conversion.keep(name, tag.raw.split("}}", 1)[0] + "}}", position)
            closing = conversion.keep(f"/{name}", _closing(tag.raw), None)
            return f"{opening}\n{again(inner)}\n{closing}"
        return conversion.keep(name, tag.raw, position)

    converted = walk(text, shortcodes, handle)
    return conversion.restore(converted)


def _closing(raw: str) -> str:
    last = list(SHORTCODE.finditer(raw))[-1]
    return last.group(0)


def _figure(named: dict[str, str], positional: list[str]) -> str:
    src = named.get("src") or (positional[0] if positional else "")
    alt = named.get("alt") or named.get("title") or named.get("caption") or ""
    image = f"![{alt.replace(']', '')}]({src})" if " " not in src else f"![{alt}](<{src}>)"
    if named.get("link"):
        image = f"[{image}]({named['link']})"
    caption_parts = [
        f"**{named['title']}**"
        if named.get("caption") and named.get("title")
        else named.get("title", ""),
        named.get("caption", ""),
        named.get("attr", ""),
    ]
    caption = " ".join(part for part in caption_parts if part).strip()
    css = html_text(named.get("class", ""))
    open_tag = f'<figure class="{css}" markdown="1">' if css else '<figure markdown="1">'
    if not caption:
        return f"\n{open_tag}\n{image}\n</figure>\n"
    return f'\n{open_tag}\n{image}\n<figcaption markdown="span">{caption}</figcaption>\n</figure>\n'
