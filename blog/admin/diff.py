"""Line diffs of post sources as an HTML table (difflib), escaped, styled by class."""

from __future__ import annotations

import difflib

from markupsafe import Markup, escape

CONTEXT_LINES = 3


def _row(kind: str, old_number: int | None, new_number: int | None, text: str) -> str:
    sign = {"del": "-", "ins": "+", "same": " "}[kind]
    return (
        f'<tr class="diff-{kind}"><td class="diff-num">{old_number or ""}</td>'
        f'<td class="diff-num">{new_number or ""}</td><td class="diff-sign">{sign}</td>'
        f'<td class="diff-text" translate="no">{escape(text)}</td></tr>'
    )


def diff_table(old: str, new: str, old_label: str, new_label: str) -> Markup:
    """Return a table of the changed lines of ``old`` → ``new`` with a little context."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    rows: list[str] = []
    for index, group in enumerate(matcher.get_grouped_opcodes(CONTEXT_LINES)):
        if index:
            rows.append('<tr class="diff-gap"><td colspan="4">…</td></tr>')
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows.extend(
                    _row("same", i + 1, j + 1, old_lines[i])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                )
                continue
            rows.extend(_row("del", i + 1, None, old_lines[i]) for i in range(i1, i2))
            rows.extend(_row("ins", None, j + 1, new_lines[j]) for j in range(j1, j2))
    if not rows:
        rows.append('<tr class="diff-gap"><td colspan="4">没有差异</td></tr>')
    head = (
        f'<thead><tr><th scope="col">{escape(old_label)}</th>'
        f'<th scope="col">{escape(new_label)}</th>'
        '<th scope="col"><span class="visually-hidden">变化</span></th>'
        '<th scope="col">内容</th></tr></thead>'
    )
    return Markup(f'<table class="diff">{head}<tbody>{"".join(rows)}</tbody></table>')  # noqa: S704
