"""The document reader reads a sanitized body with libxml2 exactly as the tokenizer would."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from flask import Flask

from blog import document
from blog.config import BUILTIN_PLUGINS
from blog.document import Document, Kind, PostDraft, read_document
from blog.render import build_allowlist, render_post
from blog.sanitize import sanitize_html
from tests.conftest import count_html_parses

#: Tags beside the allowlist's own, so that the sanitizer's handling of unknown and
#: misplaced elements is met too.
EXTRA_TAGS = ["xmp", "iframe", "title", "textarea", "select", "option", "button", "font"]
TEXTS = ["a", " ", "\n", "中文", "&amp;", "&lt;x&gt;", "x y", "\u00a0", "\x0c", "“引号”"]
ATTRIBUTES = [
    "",
    ' class="math-inline"',
    ' class="highlight"',
    ' class="linenos"',
    ' class="excerpt-more"',
    ' id="h"',
    ' translate="no"',
    ' display="block"',
    ' encoding="application/x-tex"',
    ' encoding="text/plain"',
    ' src="https://example.com/a.png" alt="图"',
]


def random_html(chooser: random.Random, tags: list[str], depth: int = 0) -> str:
    out = []
    for _ in range(chooser.randint(0, 4)):
        if chooser.random() < 0.35 or depth > 5:
            out.append(chooser.choice(TEXTS))
            continue
        tag = chooser.choice(tags)
        inner = random_html(chooser, tags, depth + 1)
        closing = f"</{tag}>" if chooser.random() < 0.9 else ""
        out.append(f"<{tag}{chooser.choice(ATTRIBUTES)}>{inner}{closing}")
    return "".join(out)


def tokenizer_reading(html: str, monkeypatch: pytest.MonkeyPatch) -> Document:
    """The reading through html.parser alone: the reader's behaviour before libxml2."""
    with monkeypatch.context() as patched:
        patched.setattr(document, "_parsed_body", lambda _html: None)
        return read_document(html)


def test_libxml2_reading_equals_the_tokenizer_reading_on_sanitized_html(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(PLUGINS=list(BUILTIN_PLUGINS))
    with app.app_context():
        allowlist = build_allowlist()
    tags = sorted(allowlist.tags | set(EXTRA_TAGS))
    chooser = random.Random(16)
    bodies = [sanitize_html(random_html(chooser, tags), allowlist) for _ in range(300)]
    with_extra = {*allowlist.tags, *EXTRA_TAGS}
    allowlist.tags = with_extra  # a plugin may allow elements libxml2 reads differently
    bodies += [sanitize_html(random_html(chooser, tags), allowlist) for _ in range(300)]
    assert sum("<math" in body for body in bodies) > 20
    for body in bodies:
        assert read_document(body) == tokenizer_reading(body, monkeypatch), body


def test_an_ordinary_body_is_parsed_once_by_libxml2(monkeypatch: pytest.MonkeyPatch) -> None:
    body = '<h2 id="a">标题</h2><p>正文 <code>x</code></p><pre><code>print(1)\n</code></pre>'
    parsed = count_html_parses(monkeypatch)
    found = read_document(body)
    assert len(parsed) == 1 and body in parsed[0] and parsed[0] != body  # not html.parser's
    assert found.headings == ((2, "a", "标题"),)
    assert found.text == "标题 正文 x print(1)"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        # libxml2 would end the heading at the <p>: the heading would have no text.
        ('<h2 id="a"><p>标题</p></h2><p>正文</p>', "标题 正文"),
        # libxml2 reads <xmp>'s content as text; the tokenizer (and so far the reader) as tags.
        ("<xmp><b>粗</b></xmp>", "粗"),
        ("前\x00后", "前\x00后"),
        # Deeper than libxml2 goes without its "huge" option, which stays off.
        ("<div>" * 300 + "深" + "</div>" * 300, "深"),
    ],
)
def test_a_body_libxml2_would_read_differently_is_read_by_the_tokenizer(
    body: str, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = tokenizer_reading(body, monkeypatch)
    parsed = count_html_parses(monkeypatch)
    found = read_document(body)
    assert found == expected
    assert found.text == text
    assert parsed[-1] == body  # read by html.parser in the end
    if found.headings:
        assert found.headings == ((2, "a", "标题"),)


def test_rendered_formulas_and_code_read_by_libxml2_equal_the_tokenizer_reading(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Formulas and highlighted code are where libxml2's reading takes whole subtrees at once
    # (their text only): numbered and highlighted lines, labels, errors and footnotes in
    # and around them must read exactly as the tokenizer reads them, tag by tag.
    source = "\n\n".join(
        [
            "## 公式 $x^2$ 与代码[^1]",
            "行内 $\\frac{a}{b}$、$10^{-6}$ 和 $\\text{错误 \\undefinedmacro}$。",
            "$$\n\\begin{aligned}\na &= b \\\\\nc &= d\n\\end{aligned} \\tag{1}\n$$",
            '```python title="a.py" linenos hl_lines="2"\nimport os\nprint(os.sep)\n```',
            "```text\n纯文本 <b>\n```",
            "| 表 | $y$ |\n|---|---|\n| `x` | 值 |",
            "[^1]: 脚注里的 $z$。",
        ]
    )
    app = make_app(PLUGINS=list(BUILTIN_PLUGINS))
    with app.app_context():
        body = render_post(PostDraft(title="读", source=source)).body_html
    assert body.count("<math") >= 4 and 'class="linenos"' in body and "math-error" in body
    found = read_document(body)
    assert found == tokenizer_reading(body, monkeypatch)
    code = [segment.text for segment in found.segments if segment.kind is Kind.CODE_BLOCK]
    assert code == ["import os\nprint(os.sep)\n", "纯文本 <b>\n"]  # no line numbers
