"""The code plugin: Pygments highlighting, fence options, plain fallback, CSS and allowlist."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import markdown
import pytest
from flask.testing import FlaskClient

from blog.models import Post
from blog.sanitize import Allowlist, sanitize_html
from blog_plugins.code import highlight as highlight_module
from blog_plugins.code.allowlist import allowed_html
from blog_plugins.code.extension import CodeExtension
from blog_plugins.code.info import parse_info
from blog_plugins.code.stylesheet import STYLESHEET, build_stylesheet
from blog_plugins.math import Config as MathConfig
from blog_plugins.math import limits_from
from blog_plugins.math.extension import MathExtension


def render(source: str, *, with_math: bool = False) -> str:
    """Markdown with the core's own extensions plus the code (and optionally math) extension."""
    extensions: list[markdown.extensions.Extension | str] = [
        "extra",
        "sane_lists",
        "admonition",
        "toc",
        CodeExtension(),
    ]
    if with_math:
        extensions.append(MathExtension(limits_from(MathConfig())))
    return markdown.Markdown(extensions=extensions).convert(source)


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def ancestors(self) -> list[str]:
        names = []
        node = self.parent
        while node is not None:
            names.append(node.tag)
            node = node.parent
        return names


class Tree(HTMLParser):
    VOID = frozenset({"br", "hr", "img", "input", "wbr"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.current = self.root
        self.nodes: list[Node] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        self.nodes.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)

    def find(self, tag: str, css_class: str | None = None) -> list[Node]:
        return [
            n for n in self.nodes if n.tag == tag and (css_class is None or css_class in n.classes)
        ]


PYTHON = '```python\nimport os\n\ndef main():\n    return "<b>"\n```\n'


def test_known_language_gets_pygments_token_classes() -> None:
    tree = Tree(render(PYTHON))
    keywords = [span.text() for span in tree.find("span", "kn") + tree.find("span", "k")]
    assert keywords == ["import", "def", "return"]


def test_highlighted_code_uses_classes_not_inline_styles() -> None:
    tree = Tree(render(PYTHON))
    assert tree.find("span")
    assert not [n for n in tree.nodes if "style" in n.attrs]


def test_highlighted_code_text_is_the_source_unchanged() -> None:
    (code,) = Tree(render(PYTHON)).find("code")
    assert code.text() == 'import os\n\ndef main():\n    return "<b>"\n'


def test_title_option_becomes_a_figcaption() -> None:
    tree = Tree(render('```python title="train.py"\nx = 1\n```'))
    (caption,) = tree.find("figcaption")
    assert caption.text() == "train.py"
    assert caption.parent is not None and caption.parent.tag == "figure"


def test_quoted_title_may_contain_spaces() -> None:
    (caption,) = Tree(render("```bash title='安装 依赖.sh'\npip install x\n```")).find("figcaption")
    assert caption.text() == "安装 依赖.sh"


def test_linenos_option_numbers_every_line() -> None:
    tree = Tree(render("```python linenos\na = 1\nb = 2\nc = 3\n```"))
    assert [n.text().strip() for n in tree.find("span", "linenos")] == ["1", "2", "3"]


def test_without_linenos_there_are_no_line_numbers() -> None:
    assert not Tree(render(PYTHON)).find("span", "linenos")


def test_hl_lines_option_highlights_the_listed_lines() -> None:
    tree = Tree(render('```python hl_lines="2 4-5"\na\nb\nc\nd\ne\n```'))
    assert [n.text().strip() for n in tree.find("span", "hll")] == ["b", "d", "e"]


def test_all_options_together() -> None:
    tree = Tree(render('```python title="train.py" linenos hl_lines="2 3"\na\nb\nc\n```'))
    assert tree.find("figcaption")[0].text() == "train.py"
    assert len(tree.find("span", "linenos")) == 3
    assert len(tree.find("span", "hll")) == 2


def test_unknown_language_is_escaped_plain_code() -> None:
    tree = Tree(render("```no-such-language\n<script>alert(1)</script>\n```"))
    assert not tree.find("script")
    (code,) = tree.find("code")
    assert code.text() == "<script>alert(1)</script>\n"
    assert not tree.find("span")


def test_missing_language_is_plain_code_without_guessing() -> None:
    tree = Tree(render("```\nimport os\ndef f(): pass\n```"))
    assert tree.find("code")[0].text() == "import os\ndef f(): pass\n"
    assert not tree.find("span")
    assert "data-lang" not in tree.find("figure")[0].attrs


def test_inline_code_is_left_to_markdown() -> None:
    tree = Tree(render("调用 `print(x)` 即可"))
    (code,) = tree.find("code")
    assert code.text() == "print(x)"
    assert code.parent is not None and code.parent.tag == "p"
    assert not tree.find("figure")


def test_code_block_wrapper_is_marked_translate_no() -> None:
    (figure,) = Tree(render(PYTHON)).find("figure", "code-block")
    assert figure.attrs["translate"] == "no"
    assert figure.attrs["data-lang"] == "python"


def test_fence_inside_a_list_item_stays_in_the_item() -> None:
    tree = Tree(render("1. 安装：\n\n    ```bash\n    pip install x\n    ```\n\n2. 运行"))
    (figure,) = tree.find("figure")
    assert "li" in figure.ancestors()
    assert tree.find("code")[0].text() == "pip install x\n"


def test_fence_directly_after_a_paragraph_is_not_inside_it() -> None:
    (figure,) = Tree(render("如下：\n```python\nx = 1\n```\n之后")).find("figure")
    assert "p" not in figure.ancestors()


def test_tilde_fences_and_longer_backtick_fences_work() -> None:
    tree = Tree(render("~~~python\na = 1\n~~~\n\n````\n```\n````"))
    assert [c.text() for c in tree.find("code")] == ["a = 1\n", "```\n"]


def test_unclosed_fence_runs_to_the_end_of_the_post() -> None:
    tree = Tree(render("```python\nx = 1\n\n# 标题"))
    assert not tree.find("h1")
    assert "# 标题" in tree.find("code")[0].text()


def test_math_delimiters_inside_code_stay_code() -> None:
    tree = Tree(render("```python\nprice = '$x$'  # $$y$$\n```", with_math=True))
    assert not tree.find("math")
    assert tree.find("code")[0].text() == "price = '$x$'  # $$y$$\n"


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ("python", ("python", None, False, frozenset())),
        ('python title="a b.py"', ("python", "a b.py", False, frozenset())),
        ('js linenos hl_lines="1,3-4"', ("js", None, True, frozenset({1, 3, 4}))),
        ('title="x.txt"', (None, "x.txt", False, frozenset())),
        ('python title="unbalanced', ("python", '"unbalanced', False, frozenset())),
        ("", (None, None, False, frozenset())),
    ],
)
def test_info_string_parsing(info: str, expected: tuple[object, ...]) -> None:
    parsed = parse_info(info)
    assert (parsed.language, parsed.title, parsed.line_numbers, parsed.highlighted) == expected


def test_committed_stylesheet_matches_the_generator() -> None:
    assert STYLESHEET.read_text(encoding="utf-8") == build_stylesheet()


def test_stylesheet_has_light_rules_and_dark_rules_in_a_media_query() -> None:
    css = build_stylesheet()
    light, _, dark = css.partition("@media (prefers-color-scheme: dark)")
    light_keyword = re.search(r"\.highlight \.k \{ color: (#\w+)", light)
    dark_keyword = re.search(r"\.highlight \.k \{ color: (#\w+)", dark)
    assert light_keyword and dark_keyword
    assert light_keyword.group(1) != dark_keyword.group(1)


def test_stylesheet_only_styles_code_blocks() -> None:
    css = re.sub(r"/\*.*?\*/", "", build_stylesheet(), flags=re.DOTALL)
    css = re.sub(r"@media[^{]*\{", "", css)
    selectors = [
        selector.strip()
        for group in re.findall(r"([^{}]+)\{[^{}]*\}", css)
        for selector in group.split(",")
    ]
    assert len(selectors) > 100
    assert all(s.startswith((".highlight", ".code-")) for s in selectors)


def test_sanitizer_with_the_allowlist_keeps_the_highlighted_markup() -> None:
    html = render('```python title="t.py" linenos hl_lines="1"\nimport os\n```')
    allowlist = Allowlist()
    allowlist.extend(allowed_html())
    assert sanitize_html(html, allowlist) == html


# Through the application: the plugin as the core loads it.


def test_highlighting_survives_the_full_pipeline(make_post: Callable[..., Post]) -> None:
    post = make_post('```python title="t.py" linenos hl_lines="1"\nimport os\n```\n\n正文 `x`')
    tree = Tree(post.body_html)
    (figure,) = tree.find("figure", "code-block")
    assert figure.attrs["translate"] == "no"
    assert tree.find("figcaption")[0].text() == "t.py"
    assert tree.find("span", "kn")[0].text() == "import"
    assert tree.find("span", "linenos") and tree.find("span", "hll")


def _head_assets(client: FlaskClient, slug: str) -> tuple[list[str], list[Node]]:
    tree = Tree(client.get(f"/posts/{slug}/").get_data(as_text=True))
    stylesheets = [
        n.attrs["href"] or "" for n in tree.find("link") if n.attrs.get("rel") == "stylesheet"
    ]
    return stylesheets, tree.find("script")


def test_post_page_links_the_pygments_stylesheet(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    post = make_post("```python\nx = 1\n```", slug="code-css")
    stylesheets, _scripts = _head_assets(client, post.slug)
    (pygments,) = [href for href in stylesheets if "pygments" in href]
    response = client.get(pygments)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == build_stylesheet()


def test_post_page_loads_the_copy_script_deferred_from_a_file(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    post = make_post("```python\nx = 1\n```", slug="code-js")
    _stylesheets, scripts = _head_assets(client, post.slug)
    (copy,) = [s for s in scripts if "copy" in (s.attrs.get("src") or "")]
    assert "defer" in copy.attrs
    assert client.get(copy.attrs["src"] or "").status_code == 200
    executable_inline = [
        s
        for s in scripts
        if not s.attrs.get("src") and s.attrs.get("type") in (None, "text/javascript", "module")
    ]
    assert executable_inline == []


def test_title_with_markup_is_escaped() -> None:
    tree = Tree(render('```python title="<img src=x onerror=alert(1)>"\nx\n```'))
    assert not tree.find("img")
    assert tree.find("figcaption")[0].text() == "<img src=x onerror=alert(1)>"


def test_oversized_highlight_range_is_ignored() -> None:
    assert parse_info('python hl_lines="1-100000000 3"').highlighted == frozenset({3})


def test_a_block_whose_highlighting_failed_is_highlighted_once_the_lexer_works(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Highlighted blocks are remembered per process; a failure must not be.
    source = "```python\nanswer = 42  # failing lexer\n```"
    with monkeypatch.context() as patched:
        patched.setattr(highlight_module, "highlight", _raise)
        failed = [render(source) for _ in range(2)]
    assert all('<span class="' not in html and "answer = 42" in html for html in failed)
    assert len([r for r in caplog.records if "Pygments failed" in r.getMessage()]) == 2
    highlighted = render(source)
    assert '<span class="mi">42</span>' in highlighted
    assert render(source) == highlighted


def _raise(*_args: object) -> str:
    raise RuntimeError("lexer bug")
