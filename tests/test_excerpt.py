"""The excerpt plugin: excerpt wording, cutting, the <!--more--> marker and reading statistics."""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import markdown
import pytest
from conftest import write_config
from flask import Flask
from flask.testing import FlaskClient

from blog.models import Post
from blog.posts import PostFields, save_post
from blog.sanitize import Allowlist, sanitize_html
from blog_plugins.excerpt import Config, blog_allowed_html
from blog_plugins.excerpt.cut import cut, text_length
from blog_plugins.excerpt.excerpt import meta_description, post_excerpt
from blog_plugins.excerpt.marker import mark_more
from blog_plugins.excerpt.stats import reading_stats
from blog_plugins.excerpt.structure import read_body

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
FAMILY = "👨\u200d👩\u200d👧\u200d👦"


def display_math(tex: str) -> str:
    return (
        '<div class="math math-display" translate="no"><math display="block"><semantics>'
        f'<mi>x</mi><annotation encoding="application/x-tex">{html_lib.escape(tex)}</annotation>'
        "</semantics></math></div>"
    )


def inline_math(tex: str, readable: str | None = None) -> str:
    """A formula as the math plugin writes it; ``readable`` is its text/plain annotation."""
    plain = readable if readable is not None else tex
    return (
        '<span class="math math-inline" translate="no"><math><semantics><mi>x</mi>'
        f'<annotation encoding="application/x-tex">{html_lib.escape(tex)}</annotation>'
        f'<annotation encoding="text/plain">{html_lib.escape(plain)}</annotation>'
        "</semantics></math></span>"
    )


def excerpt_of(
    html: str, *, meta: dict[str, str] | None = None, lang: str = "zh-Hans", **config: object
) -> str:
    return post_excerpt(read_body(html), meta or {}, lang, Config(**config))


def rendered(source: str) -> str:
    """Render Markdown as the core does (extensions, then this plugin's hook, then sanitizing)."""
    html = markdown.Markdown(extensions=["extra", "toc", "sane_lists"]).convert(source)
    allowlist = Allowlist()
    allowlist.extend(blog_allowed_html())
    return sanitize_html(mark_more(html) or html, allowlist)


# --- wording: the rendered structure becomes plain text ---------------------------------


def test_heading_becomes_its_text_followed_by_a_space() -> None:
    assert excerpt_of("<h2>背景</h2><p>随着模型变大</p>") == "背景 随着模型变大"


def test_post_starting_with_heading_and_image_reads_heading_then_image_placeholder() -> None:
    html = rendered("# 简介\n\n![架构图](arch.png)\n\n正文从这里开始。")
    assert excerpt_of(html) == "简介 [图片] 正文从这里开始。"


def test_display_math_becomes_formula_placeholder() -> None:
    html = f"<p>前向过程如下:</p>{display_math(r'dx = f(x,t)dt + g(t)dw')}<p>其中</p>"
    assert excerpt_of(html) == "前向过程如下: [公式] 其中"


def test_highlighted_code_block_becomes_one_code_placeholder() -> None:
    code = '<div class="highlight" translate="no"><pre><span>x = 1</span>\n</pre></div>'
    html = f"<p>代码如下</p>{code}<p>完</p>"
    assert excerpt_of(html) == "代码如下 [代码] 完"


def test_plain_code_block_becomes_code_placeholder() -> None:
    assert excerpt_of(rendered("如下\n\n    pip install torch\n\n完")) == "如下 [代码] 完"


def test_table_becomes_table_placeholder_without_its_cells() -> None:
    html = rendered("对比:\n\n| 模型 | 参数 |\n|---|---|\n| GPT | 175B |\n\n结论")
    assert excerpt_of(html) == "对比: [表格] 结论"


def test_short_inline_math_is_quoted_as_its_readable_text() -> None:
    formula = inline_math("10^{-6} f(x,t)", readable="10⁻⁶ f(x,t)")
    assert excerpt_of(f"<p>其中 {formula} 是偏移系数</p>") == "其中 10⁻⁶ f(x,t) 是偏移系数"


def test_inline_math_without_readable_text_is_a_placeholder_never_tex() -> None:
    formula = inline_math("\\tau", readable="")
    assert excerpt_of(f"<p>其中 {formula} 是温度</p>") == "其中 [公式] 是温度"


def test_long_inline_math_becomes_formula_placeholder() -> None:
    tex = r"\sum_{i=1}^{n} \alpha_i x_i^2"
    assert excerpt_of(f"<p>损失为 {inline_math(tex)} 。</p>") == "损失为 [公式] 。"


def test_inline_math_length_limit_is_configurable() -> None:
    assert excerpt_of(f"<p>设 {inline_math('x^2')} 。</p>", inline_math_max=2) == "设 [公式] 。"


def test_broken_formula_becomes_formula_placeholder() -> None:
    html = (
        '<p>见 <span class="math math-inline math-error" title="bad" translate="no">'
        '<code>$\\frac{$</code><span class="math-error-message">bad</span></span> 处</p>'
    )
    assert excerpt_of(html) == "见 [公式] 处"


def test_link_becomes_its_text() -> None:
    assert (
        excerpt_of(rendered("参见[原论文](https://arxiv.org/abs/1706.03762)。")) == "参见原论文。"
    )


def test_heading_permalinks_and_footnote_marks_are_left_out() -> None:
    html = (
        '<h2 id="a">背景<a class="headerlink" href="#a">¶</a></h2>'
        '<p>正文<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup></p>'
        '<div class="footnote"><ol><li>注释</li></ol></div>'
    )
    assert excerpt_of(html) == "背景 正文"


def test_wrapped_source_line_adds_no_space_between_chinese_characters() -> None:
    assert excerpt_of(rendered("大模型的参数量\n巨大 and\nmore")) == "大模型的参数量巨大 and more"


def test_placeholders_are_configurable() -> None:
    html = f"<p>a</p>{display_math('x')}<pre>code</pre>"
    assert (
        excerpt_of(html, formula_placeholder="[math]", code_placeholder="[code]")
        == "a [math] [code]"
    )


def test_traditional_post_uses_traditional_placeholders() -> None:
    html = '<p>程式碼</p><pre>x = 1</pre><p><img alt="" src="a.png"></p>'
    assert excerpt_of(html, lang="zh-Hant") == "程式碼 [代碼] [圖片]"


# --- length and cutting ----------------------------------------------------------------


def test_post_shorter_than_budget_gets_no_suffix() -> None:
    assert excerpt_of("<p>很短的文章。</p>") == "很短的文章。"


def test_post_exactly_at_budget_gets_no_suffix() -> None:
    assert excerpt_of("<p>" + "字" * 300 + "</p>") == "字" * 300


def test_each_cjk_character_counts_one() -> None:
    assert excerpt_of("<p>" + "字" * 301 + "</p>") == "字" * 300 + "..."


def test_latin_word_counts_its_letters() -> None:
    assert text_length("LLM时代") == 5


def test_budget_and_suffix_are_configurable() -> None:
    assert excerpt_of("<p>" + "字" * 50 + "</p>", length=10, suffix="…") == "字" * 10 + "…"


def test_cut_prefers_sentence_end_in_last_fifth_of_budget() -> None:
    text = "字" * 250 + "。" + "字" * 100
    assert cut(text, 300, suffix="...") == "字" * 250 + "。..."


def test_cut_prefers_english_sentence_end_followed_by_space() -> None:
    text = "word " * 52 + "end. " + "more " * 30
    assert cut(text, 300, suffix="...") == ("word " * 52 + "end.") + "..."


def test_sentence_end_before_last_fifth_is_not_preferred() -> None:
    text = "字" * 100 + "。" + "字" * 300
    assert cut(text, 300, suffix="...") == "字" * 100 + "。" + "字" * 199 + "..."


def test_cut_between_english_words_drops_the_space() -> None:
    text = "alpha " * 60
    assert cut(text, 100, suffix="...") == ("alpha " * 16).rstrip() + "..."


def test_cut_never_falls_inside_inline_formula_source() -> None:
    html = "<p>" + "字" * 290 + inline_math("a+b=c+d") + "字" * 50 + "</p>"
    assert excerpt_of(html, length=294) == "字" * 290 + "..."


def test_cut_never_falls_inside_url() -> None:
    text = "字" * 280 + " https://example.com/a/very/long/path?query=1 " + "字" * 50
    assert cut(text, 300, suffix="...") == "字" * 280 + "..."


def test_cut_never_falls_inside_english_word() -> None:
    text = "字" * 295 + "Transformer" + "字" * 20
    assert cut(text, 300, suffix="...") == "字" * 295 + "..."


def test_cut_never_falls_inside_number() -> None:
    text = "字" * 296 + "3.14159" + "字" * 20
    assert cut(text, 300, suffix="...") == "字" * 296 + "..."


def test_cut_never_falls_inside_emoji_zwj_sequence() -> None:
    text = "字" * 299 + FAMILY + "字" * 20
    assert cut(text, 300, suffix="...") == "字" * 299 + FAMILY + "..."


def test_emoji_zwj_sequence_counts_as_one_character() -> None:
    assert text_length(FAMILY + "🇨🇳" + "e\u0301") == 3


def test_cut_never_separates_a_combining_mark() -> None:
    text = "字" * 299 + "e\u0301" + "字" * 20
    assert cut(text, 300, suffix="...") == "字" * 299 + "e\u0301..."


def test_unbreakable_opening_longer_than_budget_is_kept_whole() -> None:
    url = "https://example.com/" + "a" * 40
    assert cut(url + " 后文" * 20, 20, suffix="...") == url + "..."


def test_unbreakable_text_longer_than_budget_comes_back_whole() -> None:
    url = "https://example.com/" + "a" * 40
    assert cut(url, 20, suffix="...") == url


def test_cut_never_falls_inside_an_atomic_span_across_the_budget() -> None:
    # The formula's source starts within the budget and ends past it.
    text = "字" * 297 + "x^2+y^2" + "字" * 20
    assert cut(text, 300, suffix="...", atomic=[(297, 304)]) == "字" * 297 + "..."


def test_excerpt_does_not_end_on_a_comma() -> None:
    text = "字" * 299 + "，" + "字" * 20
    assert cut(text, 300, suffix="...") == "字" * 299 + "..."


# --- precedence: <!--more-->, front matter, automatic ------------------------------------


@pytest.mark.parametrize(
    "marker", ["<!--more-->", "<!-- more -->", "<!-- MORE -->", "<!--More  -->"]
)
def test_more_marker_ends_the_excerpt(marker: str) -> None:
    html = rendered(f"第一段。\n\n第二段。\n\n{marker}\n\n第三段。")
    assert excerpt_of(html) == "第一段。 第二段。"


def test_more_marker_inside_a_paragraph_ends_the_excerpt() -> None:
    assert excerpt_of(rendered("开头的话 <!--more--> 后面的话")) == "开头的话"


def test_more_marker_inside_code_is_not_a_marker() -> None:
    html = rendered("用法:\n\n```\n<!--more-->\n```\n\n正文。")
    assert excerpt_of(html) == "用法: [代码] 正文。"


def test_more_marker_excerpt_is_not_shortened() -> None:
    html = rendered("字" * 400 + "\n\n<!--more-->\n\n后文")
    assert excerpt_of(html) == "字" * 400


def test_more_marker_wins_over_front_matter_excerpt() -> None:
    html = rendered("手选的开头\n\n<!--more-->\n\n其余")
    assert excerpt_of(html, meta={"excerpt": "前言里的摘要"}) == "手选的开头"


def test_front_matter_excerpt_wins_over_automatic_excerpt() -> None:
    assert excerpt_of("<p>正文</p>", meta={"excerpt": "前言里的  摘要"}) == "前言里的 摘要"


def test_front_matter_description_is_used_without_excerpt() -> None:
    assert excerpt_of("<p>正文</p>", meta={"description": "描述"}) == "描述"


def test_marker_at_the_very_top_falls_back_to_automatic_excerpt() -> None:
    assert excerpt_of(rendered("<!--more-->\n\n正文。")) == "正文。"


def test_meta_description_uses_a_120_character_budget() -> None:
    description = meta_description(read_body("<p>" + "字" * 500 + "</p>"), {}, "zh-Hans", Config())
    assert description == "字" * 120 + "..."


def test_meta_description_shortens_a_long_front_matter_description() -> None:
    description = meta_description(
        read_body("<p>正文</p>"), {"description": "长" * 200}, "zh-Hans", Config()
    )
    assert description == "长" * 120 + "..."


def test_config_rejects_a_non_positive_length() -> None:
    with pytest.raises(ValueError, match="length must be positive"):
        Config(length=0)


# --- word counts and reading time -------------------------------------------------------


def stats_of(html: str, **config: object) -> dict[str, object]:
    return reading_stats(read_body(html), Config(**config))


def test_cjk_characters_are_counted_one_by_one() -> None:
    assert stats_of("<p>大模型，参数量！</p>")["cjk_chars"] == 6


def test_latin_words_are_counted_by_word_boundaries() -> None:
    assert stats_of("<p>使用GPT-4和LoRA fine-tuning做实验</p>")["latin_words"] == 3


def test_url_counts_as_one_word() -> None:
    assert stats_of("<p>见 https://example.com/a/b.html 页</p>")["latin_words"] == 1


def test_code_blocks_and_lines_are_counted_apart_from_words() -> None:
    stats = stats_of('<p>看</p><div class="highlight"><pre>import torch\nx = 1\n</pre></div>')
    assert (stats["code_blocks"], stats["code_lines"], stats["latin_words"]) == (1, 2, 0)


def test_formulas_are_counted_apart_from_words() -> None:
    stats = stats_of(f"<p>设 {inline_math('x')} 则</p>{display_math('y = x')}")
    assert (stats["formulas"], stats["display_formulas"], stats["latin_words"]) == (2, 1, 0)


def test_reading_time_adds_separate_rates() -> None:
    html = "<p>" + "字" * 600 + " word" * 400 + "</p>" + "<pre>x</pre>" * 3
    stats = stats_of(html, seconds_per_code_block=60)
    assert stats["reading_minutes"] == 2 + 2 + 3


def test_reading_time_is_at_least_one_minute() -> None:
    assert stats_of("<p>短</p>")["reading_minutes"] == 1


# --- the seed blog's excerpts -----------------------------------------------------------


def seed_excerpts() -> list[str]:
    if not SEEDS.is_dir():
        return []
    lines = {
        line[: -len("...")]
        for path in sorted(SEEDS.glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.endswith("...") and len(line) > 100
    }
    return sorted(lines)


@pytest.mark.parametrize(
    "seed", seed_excerpts() or [pytest.param("", marks=pytest.mark.skip("no ../shared/seeds"))]
)
def test_seed_excerpt_keeps_its_opening_and_cuts_cleanly(seed: str) -> None:
    body = f"{seed} {seed}"
    excerpt = excerpt_of(f"<p>{html_lib.escape(body)}</p>")
    kept = excerpt.removesuffix("...")
    assert excerpt.endswith("...")
    assert body.startswith(kept)
    assert kept[:40] == seed[:40]
    assert 240 <= text_length(kept) <= 300
    following = body[len(kept) :][:1]
    assert not (
        kept[-1].isascii() and kept[-1].isalnum() and following.isascii() and following.isalnum()
    )
    assert not (following and following in "\u200d\ufe0f\u0301")


# --- through the core: save a post, read the pages --------------------------------------


class _ExcerptParagraphs(HTMLParser):
    """Collect the text of every ``<p class="excerpt">`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.excerpts: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "p" and "excerpt" in (dict(attrs).get("class") or "").split():
            self._inside = True
            self.excerpts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.excerpts[-1] += data


def listed_excerpts(client: FlaskClient, url: str = "/") -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    parser = _ExcerptParagraphs()
    parser.feed(response.get_data(as_text=True))
    return parser.excerpts


def meta_description_of(client: FlaskClient, url: str) -> str | None:
    response = client.get(url)
    assert response.status_code == 200
    for tag in ElementTree.fromstring(f"<r>{_head_metas(response.get_data(as_text=True))}</r>"):
        if tag.get("name") == "description":
            return tag.get("content")
    return None


def _head_metas(page: str) -> str:
    class Metas(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.found: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "meta":
                self.found.append(
                    "<meta "
                    + " ".join(f'{k}="{html_lib.escape(v or "")}"' for k, v in attrs)
                    + "/>"
                )

    parser = Metas()
    parser.feed(page)
    return "".join(parser.found)


def test_home_page_lists_the_automatic_excerpt(
    make_post: Callable[..., Post], client: FlaskClient
) -> None:
    make_post(
        "# 背景\n\n![图](a.png)\n\n模型 $x^2$ 很大。\n\n```python\nprint(1)\n```\n\n" + "字" * 400
    )
    opening = "背景 [图片] 模型 x² 很大。 [代码] "
    assert listed_excerpts(client) == [opening + "字" * (300 - len(opening)) + "..."]


def test_home_page_lists_the_text_above_the_more_marker(
    make_post: Callable[..., Post], client: FlaskClient
) -> None:
    make_post("开头一段。\n\n<!-- MORE -->\n\n其余内容。")
    assert listed_excerpts(client) == ["开头一段。"]


def test_home_page_lists_the_front_matter_excerpt(
    make_post: Callable[..., Post], client: FlaskClient
) -> None:
    make_post("正文。", meta={"excerpt": "作者写的摘要"})
    assert listed_excerpts(client) == ["作者写的摘要"]


def test_traditional_post_listing_uses_traditional_placeholders(
    make_post: Callable[..., Post], client: FlaskClient
) -> None:
    make_post("程式如下\n\n```\nx = 1\n```", lang="zh-Hant")
    assert listed_excerpts(client) == ["程式如下 [代碼]"]


def test_saved_post_stores_counts_and_reading_time(make_post: Callable[..., Post]) -> None:
    post = make_post("字" * 600 + "\n\n```\na\nb\n```\n\n$$x$$")
    facts = post.render_meta
    counts = (facts["cjk_chars"], facts["code_blocks"], facts["code_lines"], facts["formulas"])
    assert counts == (600, 1, 2, 1)
    assert facts["reading_minutes"] == 3


def test_post_page_carries_the_meta_description(
    make_post: Callable[..., Post], client: FlaskClient
) -> None:
    post = make_post("字" * 200)
    assert meta_description_of(client, f"/posts/{post.slug}/") == "字" * 120 + "..."


def test_excerpt_length_comes_from_config_toml(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    write_config(instance, plugins={"excerpt": {"length": 10, "suffix": "…"}})
    app = make_app()
    with app.app_context():
        post = save_post(PostFields(title="配置", source="字" * 50), author="test")
        assert post.excerpt == "字" * 10 + "…"
