"""Jekyll's Liquid in posts (``{% highlight %}``, ``{% post_url %}``, ``{{ site.url }}``...).

Jekyll runs Liquid over the whole file, code included; ``{% raw %}`` is how authors keep
it literal. ``{% capture %}``/``{% assign %}`` set variables that later tags use, so tags
are handled in order. An ``{% include %}`` whose file exists is expanded with its
parameters when it only uses ``include.*``, ``site.*`` and ``page.*`` values; any other
include is kept visibly and reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blog.migrate.common import Conversion, Tag, fenced, parse_params, walk_liquid
from blog.migrate.report import CONVERTED

OUTPUT = re.compile(r"\{\{-?\s*([\w.\[\]'\"-]+)\s*((?:\|[^}]*)?)-?\}\}")
ASSIGN = re.compile(r"(\w+)\s*=\s*(.+)")
SIMPLE_INCLUDE_TAGS = re.compile(r"\{%")
PostLookup = Callable[[str], tuple[str, str] | None]


def convert(
    body: str,
    conversion: Conversion,
    lookup: PostLookup,
    site: dict[str, Any],
    page: dict[str, Any],
    includes: Path | None,
) -> str:
    variables = conversion.variables
    variables.setdefault("site", site)
    variables.setdefault("page", page)

    def handle(tag: Tag, inner: str | None, offset: int) -> str:
        position = offset + tag.start
        line = conversion.line(position)
        report = conversion.report
        name = tag.name
        if name == "raw" and inner is not None:
            report.construct("raw", CONVERTED, line)
            return conversion.protect(inner)
        if name == "comment" and inner is not None:
            report.construct("comment", CONVERTED, line, "a Liquid comment, not shown")
            return ""
        if name == "capture" and inner is not None:
            variables[tag.args.strip()] = substitute(
                walk_liquid(inner, handle, offset + tag.end), conversion, variables
            )
            report.construct("capture", CONVERTED, line)
            return ""
        if name == "assign":
            found = ASSIGN.match(tag.args)
            if found:
                variables[found.group(1)] = _value(found.group(2).strip(), variables)
                report.construct("assign", CONVERTED, line)
                return ""
        if name == "highlight" and inner is not None:
            words = tag.args.split()
            report.construct("highlight", CONVERTED, line)
            return conversion.protect(fenced(inner, words[0] if words else ""))
        if name == "post_url" and tag.args:
            target = lookup(tag.args.strip())
            if target is None:
                return conversion.keep(
                    name, tag.raw, position, f"no post {tag.args!r} in this import"
                )
            report.construct("post_url", CONVERTED, line)
            return target[0]
        if name == "link" and tag.args:
            target = lookup(Path(tag.args.strip()).stem)
            if target is None:
                return conversion.keep(
                    name, tag.raw, position, f"{tag.args!r} is not an imported post"
                )
            report.construct("link", CONVERTED, line)
            return target[0]
        if name == "include":
            return _include(tag, conversion, includes, variables, position)
        if inner is not None:
            opening = conversion.keep(name, tag.raw.split("%}", 1)[0] + "%}", position)
            closing = conversion.keep(f"end{name}", f"{{% end{name} %}}", None)
            return f"{opening}\n{walk_liquid(inner, handle, offset + tag.end)}\n{closing}"
        return conversion.keep(name, tag.raw, position)

    text = walk_liquid(
        body, handle, never_paired=frozenset({"include", "assign", "post_url", "link"})
    )
    text = substitute(text, conversion, variables)
    return conversion.restore(text)


def _value(expression: str, variables: dict[str, Any]) -> Any:
    if expression[:1] in ("'", '"') and expression[-1:] == expression[:1]:
        return expression[1:-1]
    return _lookup(expression, variables)


def _lookup(path: str, variables: dict[str, Any]) -> Any:
    value: Any = variables
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def substitute(text: str, conversion: Conversion, variables: dict[str, Any]) -> str:
    """Replace ``{{ site.x }}``, ``{{ page.x }}`` and captured variables by their values."""

    def output(match: re.Match[str]) -> str:
        name, filters = match.group(1), match.group(2)
        value = _lookup(name, variables)
        if value is None and name.startswith("include."):
            return ""  # an include parameter not passed renders empty, as in Liquid
        if value is None or isinstance(value, dict | list):
            return conversion.keep(
                name.split(".")[0] + "." if "." in name else name,
                match.group(0),
                None,
                f"{{{{ {name} }}}} has no value here",
            )
        result = str(value)
        for part in (p.strip() for p in filters.split("|") if p.strip()):
            if part in ("relative_url", "absolute_url", "escape", "xml_escape", "strip"):
                continue  # the value is already a full URL or plain text
            if part.startswith("prepend:"):
                prefix = _value(part.split(":", 1)[1].strip(), variables)
                result = f"{prefix or ''}{result}"
            elif part.startswith("append:"):
                suffix = _value(part.split(":", 1)[1].strip(), variables)
                result = f"{result}{suffix or ''}"
            else:
                return conversion.keep("filter", match.group(0), None, f"Liquid filter {part!r}")
        conversion.report.construct(
            name if name.count(".") < 2 else name.rsplit(".", 1)[0], CONVERTED
        )
        return result

    return OUTPUT.sub(output, text)


def _include(
    tag: Tag,
    conversion: Conversion,
    includes: Path | None,
    variables: dict[str, Any],
    position: int,
) -> str:
    words = tag.args.split(None, 1)
    file_name = words[0] if words else ""
    template: str | None = None
    if includes is not None and file_name and "/" not in file_name and ".." not in file_name:
        path = includes / file_name
        if path.is_file() and not path.is_symlink():
            template = path.read_text(encoding="utf-8", errors="replace")
    if template is None or SIMPLE_INCLUDE_TAGS.search(template):
        return conversion.keep(
            "include",
            tag.raw,
            position,
            f"include {file_name!r} "
            + ("has Liquid logic" if template else "not found")
            + "; shown as code",
        )
    _positional, named = parse_params(words[1] if len(words) > 1 else "")
    params: dict[str, Any] = {}
    # parse_params already removed the quotes; a bare word is a variable name.
    for key, value in named.items():
        raw_value = re.search(rf"{key}\s*=\s*(\S)", words[1] if len(words) > 1 else "")
        quoted = raw_value is not None and raw_value.group(1) in ("'", '"')
        params[key] = value if quoted else (_lookup(value, variables) or value)
    scope = {**variables, "include": params}
    conversion.report.construct(
        "include", CONVERTED, conversion.line(position), f"{file_name} expanded with its parameters"
    )
    html = substitute(template, conversion, scope).strip()
    return "\n\n" + conversion.protect(" ".join(row.strip() for row in html.splitlines())) + "\n\n"
