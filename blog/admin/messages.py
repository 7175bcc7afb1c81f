"""What the admin tells authors, in the admin's language (Chinese): field errors that
name the field as the form labels it, and sizes in KB/MB rather than bytes.

Errors are raised in English with the field's key (``FieldError("title", "must not be
empty")``), which the API returns as is; the editor shows them through
:func:`field_message`. A reason without a translation below is shown as raised, after the
field's label, so the author still learns which field is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from blog.validation import FieldError

#: Form labels of post fields (blog/admin/templates/admin/edit.html).
FIELD_LABELS = {
    "title": "标题",
    "source": "正文",
    "slug": "网址别名（slug）",
    "category": "分类",
    "categories": "更多分类",
    "tags": "标签",
    "published_at": "发布时间",
    "updated_at": "更新时间",
    "lang": "语言",
    "kind": "类型",
    "status": "状态",
    "meta": "其他字段",
}


def human_size(size: int) -> str:
    """``10485760`` -> ``10 MB``, ``1536`` -> ``1.5 KB``, ``300`` -> ``300 字节`` (base 1024)."""
    value = float(size)
    for unit in ("字节", "KB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            if unit == "字节":
                return f"{int(value):,} 字节"
            return f"{value:.1f}".removesuffix(".0") + f" {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _sizes(match: re.Match[str]) -> str:
    size, limit = (int(group.replace(",", "")) for group in match.groups())
    return f"大小为 {human_size(size)}，超过了 {human_size(limit)} 的上限（MAX_POST_BYTES）"


#: (pattern of the English reason, Chinese text or a function of the match).
REASONS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"must not be empty|slug is empty"), "不能为空"),
    (re.compile(r"is longer than (\d+) characters"), r"不能超过 \1 个字符"),
    (re.compile(r"slug is longer than (\d+) characters"), r"不能超过 \1 个字符"),
    (re.compile(r"must lie in the years (\d+)-(\d+)"), r"必须在 \1 年到 \2 年之间"),
    (re.compile(r".* is not a date \(use (.*)\)"), r"不是有效的日期，请按 \1 的格式填写"),
    (re.compile(r"must be an ISO 8601 string such as (.*)"), r"请按 \1 的格式填写"),
    (
        re.compile(r"slug .* must be a single path segment.*"),
        "只能是一段路径，不能包含 /、\\ 或 ..",
    ),
    (re.compile(r"slug .* contains control or separator characters"), "不能包含控制字符或空白"),
    (
        re.compile(r"contains a NUL character \(U\+0000\) at position (\d+)"),
        r"第 \1 个字符是不能保存的空字符（U+0000），请删除它",
    ),
    (
        re.compile(r"contains a lone surrogate \(U\+([0-9A-F]+)\) at position (\d+).*"),
        r"第 \2 个字符（U+\1）不是有效的 Unicode，请删除它",
    ),
    (
        re.compile(r"at most (\d+) tags per post, got (\d+)"),
        r"每篇文章最多 \1 个标签（现有 \2 个）",
    ),
    (
        re.compile(r"a tag or category name is longer than (\d+) characters"),
        r"标签或分类名不能超过 \1 个字符",
    ),
    (re.compile(r"post is ([\d,]+) bytes; the limit is ([\d,]+) \(MAX_POST_BYTES\)"), _sizes),
    (
        re.compile(r"lists or blockquotes are nested (\d+) levels deep; the limit is (\d+)"),
        r"列表或引用嵌套了 \1 层，最多 \2 层",
    ),
    (
        re.compile(r"rendering took longer than ([\d.]+) s .*"),
        r"渲染超过了 \1 秒（RENDER_TIMEOUT_SECONDS）被中止；请检查特别长或嵌套很深的结构",
    ),
    (
        re.compile(r"(post|the text) is nested too deeply for the Markdown renderer"),
        "嵌套太深，Markdown 渲染器无法处理",
    ),
    (
        re.compile(r"too many unclosed '\[' in one paragraph.*"),
        "同一段落中有太多未闭合的 [，请写成 \\[ 或补上 ]",
    ),
]


def reason_text(reason: str) -> str:
    """The Chinese text for an English ``reason``, or ``reason`` itself when none fits."""
    for pattern, replacement in REASONS:
        match = pattern.fullmatch(reason)
        if match is not None:
            return replacement(match) if callable(replacement) else match.expand(replacement)
    return reason


def field_message(error: FieldError) -> str:
    """``标题：不能为空`` for ``FieldError("title", "must not be empty")``."""
    label = FIELD_LABELS.get(error.key, error.key)
    return f"{label}：{reason_text(error.reason)}"
