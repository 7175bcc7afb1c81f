"""Lists nested by two spaces (CommonMark, Hexo, Hugo) nest; four-space Markdown is unchanged."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from blog.document import PostDraft
from blog.render import build_markdown, render_post
from tests.conftest import shared_path


@pytest.fixture
def site(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def body(site: Flask) -> Callable[[str], str]:
    """The body HTML a save of ``source`` stores (the whole render pipeline)."""

    def render(source: str) -> str:
        with site.app_context():
            return render_post(PostDraft(title="列表", source=source)).body_html

    return render


def nesting(html: str) -> list[tuple[int, str]]:
    """``(depth, first words)`` of every list item, in order."""
    found: list[tuple[int, str]] = []
    depth = 0
    for token in re.finditer(r"<(/?)(ul|ol)\b[^>]*>|<li>\s*(?:<p>)?([^<\n]*)", html):
        if token.group(2):
            depth += -1 if token.group(1) else 1
        else:
            found.append((depth, token.group(3).strip()))
    return found


def test_two_space_nesting_nests_as_commonmark_does(body: Callable[[str], str]) -> None:
    html = body("- 甲\n  - 乙\n    - 丙\n- 丁\n\n1. 一\n   - 二\n2. 三\n")
    assert nesting(html) == [
        (1, "甲"),
        (2, "乙"),
        (3, "丙"),
        (1, "丁"),
        (1, "一"),
        (2, "二"),
        (1, "三"),
    ]


def test_four_space_markdown_renders_as_before(body: Callable[[str], str], site: Flask) -> None:
    source = (
        "- 甲\n    - 乙\n        - 丙\n- 丁\n\n"
        "段落\n\n    缩进四格的代码\n    - 不是列表\n\n"
        "- 条目\n\n        条目里的代码\n\n- 下一条\n"
    )
    html = body(source)
    assert nesting(html)[:4] == [(1, "甲"), (2, "乙"), (3, "丙"), (1, "丁")]
    codes = re.findall(r"<code>(.*?)</code>", html, re.S)
    assert "缩进四格的代码\n- 不是列表\n" in codes
    assert "条目里的代码\n" in codes
    with site.app_context():
        with_nesting = build_markdown().convert(source)
        plain = build_markdown()
        plain.preprocessors.deregister("nested_lists")
        assert plain.convert(source) == with_nesting


def test_fenced_code_and_a_list_python_markdown_ended_are_left_alone(
    body: Callable[[str], str],
) -> None:
    # Hexo's way: the item's paragraph is indented two spaces after a blank line, which ends
    # the list for Python-Markdown; the later two-space item must not become a code block.
    source = "- 第一条\n\n  它的源码如下\n\n```text\n  - 代码里的横线\n```\n\n  - 后来的条目\n"
    html = body(source)
    assert "后来的条目</li>" in html
    assert "<pre" in html and "  - 代码里的横线" in html
    assert "<code>- 后来的条目" not in html


@pytest.mark.slow
def test_real_posts_nest_and_keep_every_code_block(site: Flask) -> None:
    folder = shared_path("external", "migration", "hexo", "source", "_posts")
    changed = 0
    with site.app_context():
        for path in sorted(Path(folder).glob("*.md")):
            source = re.sub(r"\A---\n.*?\n---\n", "", path.read_text(encoding="utf-8"), flags=re.S)
            nested = build_markdown().convert(source)
            plain_md = build_markdown()
            plain_md.preprocessors.deregister("nested_lists")
            plain = plain_md.convert(source)
            code = re.compile(r"<pre[^>]*>.*?</pre>", re.S)
            assert sorted(code.findall(nested)) == sorted(code.findall(plain)), path.name
            if nested != plain:
                changed += 1
                assert max(d for d, _ in nesting(nested)) >= max(d for d, _ in nesting(plain))
    print(f"Hexo posts whose lists nest differently: {changed}")
    assert changed >= 15


def test_a_long_list_keeps_every_line() -> None:
    from blog.markdown_lists import nest_lists

    source = ["- 条目", "  - 子条目", "", "    子条目的段落"] * 10_000
    out = nest_lists(source)
    assert out[:4] == ["- 条目", "    - 子条目", "", "        子条目的段落"]
    assert [line.strip() for line in out] == [line.strip() for line in source]
