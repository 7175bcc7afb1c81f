"""Hexo tag plugins (``{% asset_img %}``, ``{% note %}``...) to Markdown.

Hexo renders tag plugins before Markdown but leaves fenced code alone, so fences are
protected first. A tag this module does not know stays on the page as code and is reported.
"""

from __future__ import annotations

from collections.abc import Callable

from blog.migrate.common import (
    Conversion,
    Tag,
    admonition,
    fenced,
    markdown_link,
    parse_params,
    protect_fences,
    walk_liquid,
)
from blog.migrate.report import CONVERTED

#: Resolves a ``post_link`` key to (URL, title) of the imported post, or None.
PostLookup = Callable[[str], tuple[str, str] | None]


def convert(body: str, conversion: Conversion, lookup: PostLookup) -> str:
    text = protect_fences(body, conversion)

    def handle(tag: Tag, inner: str | None, offset: int) -> str:
        line = conversion.line(offset + tag.start)
        positional, _named = parse_params(tag.args)
        name = tag.name
        report = conversion.report
        if name == "raw" and inner is not None:
            report.construct("raw", CONVERTED, line)
            return conversion.protect(inner)
        if name in ("asset_img", "asset_image") and positional:
            # `{% asset_img [class names] slug [width] [height] [title [alt]] %}`: the file is
            # the first word with a dot; numbers after it are sizes.
            found = next((i for i, word in enumerate(positional) if "." in word), 0)
            rest = [w for w in positional[found + 1 :] if not w.isdigit()]
            title = rest[0] if rest else ""
            alt = rest[1] if len(rest) > 1 else title
            report.construct("asset_img", CONVERTED, line)
            quoted = title.replace('"', "&quot;")
            return (
                f'![{alt}]({positional[found]} "{quoted}")'
                if title
                else f"![]({positional[found]})"
            )
        if name in ("asset_link", "asset_path") and positional:
            report.construct(name, CONVERTED, line)
            label = " ".join(positional[1:]) or positional[0]
            return positional[0] if name == "asset_path" else markdown_link(label, positional[0])
        if name in ("post_link", "post_path") and positional:
            target = lookup(positional[0])
            if target is None:
                return conversion.keep(
                    name,
                    tag.raw or "",
                    offset + tag.start,
                    f"no post {positional[0]!r} in this import",
                )
            report.construct(name, CONVERTED, line)
            url, title = target
            label = " ".join(positional[1:]) or title
            return url if name == "post_path" else markdown_link(label, url)
        if name in ("codeblock", "code") and inner is not None:
            lang = next((w[5:] for w in positional if w.startswith("lang:")), "")
            title = " ".join(w for w in positional if ":" not in w and not w.startswith("http"))
            report.construct(name, CONVERTED, line)
            return conversion.protect(fenced(inner, lang, title))
        if name == "blockquote" and inner is not None:
            report.construct("blockquote", CONVERTED, line)
            quoted = "\n".join(f"> {row}" if row else ">" for row in inner.strip().split("\n"))
            source = " ".join(positional)
            return f"\n{quoted}\n>\n> — {source}\n" if source else f"\n{quoted}\n"
        if name in ("note", "alert", "callout") and inner is not None:
            words = [w for w in positional if w != "no-icon"]
            kind = words[0] if words else "note"
            title = " ".join(words[1:])
            report.construct(name, CONVERTED, line)
            return admonition(kind, title, _again(inner, offset + tag.end, handle))
        if name in ("fold", "folding", "details") and inner is not None:
            # NexT/Butterfly/Fluid: `{% fold info @Summary text %}`
            words = tag.args.split("@", 1)
            summary = words[1].strip() if len(words) == 2 else tag.args.strip()
            report.construct(name, CONVERTED, line)
            kind = words[0].strip() or "note"
            body = _again(inner, offset + tag.end, handle)
            return admonition(kind, summary, body, collapsible=True)
        if name in ("youtube", "vimeo", "bilibili", "iframe", "link", "gist") and positional:
            report.construct(name, CONVERTED, line, "a link instead of an embed")
            return markdown_link(
                " ".join(positional[1:]) or positional[0], _embed_url(name, positional[0])
            )
        if name == "img" and positional:
            report.construct("img", CONVERTED, line)
            source = next((w for w in positional if "/" in w or "." in w), positional[0])
            return f"![{' '.join(w for w in positional if w != source)}]({source})"
        if name == "more":
            return "<!-- more -->"
        raw = tag.raw
        if inner is not None:
            opening = conversion.keep(name, raw.split("%}", 1)[0] + "%}", offset + tag.start)
            closing = conversion.keep(f"end{name}", f"{{% end{name} %}}", None)
            return f"{opening}\n{_again(inner, offset + tag.end, handle)}\n{closing}"
        return conversion.keep(name, raw, offset + tag.start)

    converted = walk_liquid(text, handle)
    return conversion.restore(converted)


def _again(inner: str, offset: int, handle: Callable[[Tag, str | None, int], str]) -> str:
    return walk_liquid(inner, handle, offset)


def _embed_url(name: str, value: str) -> str:
    if value.startswith(("http://", "https://")):
        return value
    return {
        "youtube": f"https://www.youtube.com/watch?v={value}",
        "vimeo": f"https://vimeo.com/{value}",
        "bilibili": f"https://www.bilibili.com/video/{value}",
        "gist": f"https://gist.github.com/{value}",
    }.get(name, value)
