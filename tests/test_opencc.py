"""The opencc plugin's pure parts: OpenCC itself, the glossary, rules, markup and page conversion.

OpenCC's own test cases and golden files come from ``../shared/external/opencc`` (skipped
when absent); everything else runs the real converters on small documents.
"""

from __future__ import annotations

import json
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blog.sanitize import Allowlist, sanitize_html
from blog_plugins.opencc import DEFAULT_GLOSSARY, Config, prepare
from blog_plugins.opencc.converters import (
    MEMO_MAX_CHARS,
    SEPARATOR,
    UnknownConfigError,
    convert_many,
    convert_text,
    converter,
)
from blog_plugins.opencc.htmlconvert import Target, convert_document
from blog_plugins.opencc.markup import ALLOWED_HTML, VariantMarkupExtension
from blog_plugins.opencc.rules import Rule, RuleError, load_glossary, parse_rule, parse_rules
from blog_plugins.opencc.variants import (
    HANS,
    HANT,
    best_variant,
    parse_accept_language,
    pick_form,
    script_of_lang,
)

SHARED_OPENCC = Path(__file__).resolve().parents[1].parent / "shared" / "external" / "opencc"
#: Every configuration the plugin's default tables use.
USED_CONFIGS = sorted(
    {
        name
        for table in (Config().from_simplified, Config().from_traditional)
        for name in table.values()
        if name
    }
)
GLOSSARY = tuple(load_glossary(DEFAULT_GLOSSARY))


def _opencc_cases() -> list[Any]:
    path = SHARED_OPENCC / "testcases.json"
    if not path.is_file():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=f"{path} is absent"))]
    cases = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return [
        pytest.param(config, case["input"], case["expected"][config], id=f"{config}-{case['id']}")
        for case in cases
        for config in USED_CONFIGS
        if config in case["expected"]
    ]


@pytest.mark.parametrize(("config", "text", "expected"), _opencc_cases())
def test_opencc_passes_its_own_case(config: str, text: str, expected: str) -> None:
    assert convert_text(config, text) == expected


GOLDEN_CONFIGS = [c for c in ("s2t", "s2twp", "s2hk") if c in USED_CONFIGS]


def _golden(config: str) -> tuple[str, str]:
    source = SHARED_OPENCC / "golden" / "input" / "us_constitution_zhs.txt"
    expected = SHARED_OPENCC / "golden" / "output" / f"us_constitution_zhs.{config}.txt"
    if not (source.is_file() and expected.is_file()):
        pytest.skip(f"{SHARED_OPENCC / 'golden'} is absent")
    return source.read_text(encoding="utf-8"), expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("config", GOLDEN_CONFIGS)
def test_opencc_reproduces_golden_file(config: str) -> None:
    source, expected = _golden(config)
    assert convert_text(config, source) == expected


@pytest.mark.parametrize("config", GOLDEN_CONFIGS)
def test_joined_conversion_of_lines_matches_golden_file(config: str) -> None:
    source, expected = _golden(config)
    assert convert_many(config, source.split("\n")) == expected.split("\n")


def test_separator_keeps_segments_apart() -> None:
    # 改变 and 量子 side by side would be one OpenCC phrase (改變數) if the segments merged.
    assert convert_many("s2twp", ["改变", "量子"]) == ["改變", "量子"]
    assert SEPARATOR not in "".join(convert_many("s2t", ["数据", "软件"]))


def test_text_containing_the_separator_is_converted_segment_by_segment() -> None:
    assert convert_many("s2t", [f"数据{SEPARATOR}", "软件"]) == [f"數據{SEPARATOR}", "軟件"]


def test_nul_character_does_not_truncate_conversion() -> None:
    assert convert_text("s2t", "数据\x00软件") == "數據\x00軟件"


def test_converter_is_built_once_per_config() -> None:
    assert converter("s2t") is converter("s2t")


def test_unknown_config_is_refused_with_the_available_names() -> None:
    with pytest.raises(UnknownConfigError, match="s2twp"):
        converter("s2klingon")


def test_shared_converter_gives_identical_results_from_many_threads() -> None:
    text = "计算机程序的数据与软件，改变量子比特的参数。" * 200
    expected = convert_text("s2twp", text)
    results: list[str] = []

    def work() -> None:
        for _ in range(20):
            results.append(convert_text("s2twp", text))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 160
    assert set(results) == {expected}


# -- the default glossary --------------------------------------------------------------


def _tw(text: str) -> str:
    return convert_document(f"<p>{text}</p>", _target("zh-tw"))[3:-4]


def _hk(text: str) -> str:
    return convert_document(f"<p>{text}</p>", _target("zh-hk"))[3:-4]


def _target(code: str, glossary: tuple[Rule, ...] = GLOSSARY) -> Target:
    config = Config()
    html_lang = {
        "zh-hans": "zh-Hans",
        "zh-hant": "zh-Hant",
        "zh-tw": "zh-Hant-TW",
        "zh-hk": "zh-Hant-HK",
    }
    return Target(
        code=code,
        html_lang=html_lang[code],
        configs={HANS: config.from_simplified[code], HANT: config.from_traditional[code]},
        glossary=glossary,
    )


@pytest.mark.parametrize("rule", GLOSSARY, ids=lambda rule: rule.sources[0])
def test_every_glossary_rule_changes_what_opencc_alone_gives(rule: Rule) -> None:
    assert rule.forms, rule.sources
    for code, form in rule.forms:
        config = Config().from_simplified[code]
        sentence = f"我们{rule.sources[0]}。"
        assert convert_text(config, sentence) != f"我們{form}。"
        assert convert_document(f"<p>{sentence}</p>", _target(code)) == f"<p>我們{form}。</p>"


def test_glossary_keeps_parameter_as_canshu_in_taiwan() -> None:
    assert convert_text("s2twp", "模型参数") == "模型引數"
    assert _tw("模型参数") == "模型參數"
    assert _tw("超参数与非参数方法") == "超參數與非參數方法"


def test_glossary_keeps_quantum_bit_whole_after_gaibian() -> None:
    assert convert_text("s2twp", "改变量子比特") == "改變數子位元"
    assert _tw("改变量子比特") == "改變量子位元"


def test_glossary_leaves_modify_variable_as_bianshu() -> None:
    assert _tw("修改变量") == "修改變數"


def test_glossary_gives_function_activation_and_operator_their_math_words() -> None:
    assert _tw("激活函数与算子") == "激活函數與算子"


def test_glossary_avoids_doubled_zui_in_optimisation() -> None:
    assert convert_text("s2twp", "最优化问题") == "最最佳化問題"
    assert _tw("最优化问题") == "最佳化問題"


def test_glossary_keeps_instance_and_process_words_of_taiwan() -> None:
    assert _tw("问题实例") == "問題實例"
    assert _tw("子进程") == "子行程"


def test_program_is_chengshi_in_taiwan_and_hong_kong() -> None:
    assert _tw("运行示例程序") == "執行示例程式"
    assert _hk("运行示例程序") == "運行示例程式"


def test_file_is_dangan_in_taiwan_and_hong_kong() -> None:
    assert _tw("配置文件") == "配置檔案"
    assert _hk("配置文件") == "配置檔案"


def test_data_is_ziliao_in_taiwan_and_shuju_in_hong_kong() -> None:
    assert _tw("训练数据") == "訓練資料"
    assert _hk("训练数据") == "訓練數據"


def test_glossary_rules_do_not_touch_generic_traditional() -> None:
    assert convert_document("<p>参数与程序</p>", _target("zh-hant")) == "<p>參數與程序</p>"


def test_broken_glossary_names_file_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "glossary.toml"
    path.write_text('[[rule]]\nfrom = "数据"\nzh-xx = "資料"\n', encoding="utf-8")
    with pytest.raises(RuleError, match=r"glossary\.toml: rule 1: unknown variant 'zh-xx'"):
        load_glossary(path)


def test_glossary_with_toml_syntax_error_names_file(tmp_path: Path) -> None:
    path = tmp_path / "glossary.toml"
    path.write_text("[[rule]\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"glossary\.toml"):
        load_glossary(path)


def test_site_glossary_overrides_default_rule(tmp_path: Path) -> None:
    (tmp_path / "glossary.toml").write_text(
        '[[rule]]\nfrom = "参数"\nzh-tw = "引數"\n', encoding="utf-8"
    )
    state = prepare(str(tmp_path), Config())
    assert convert_document("<p>参数</p>", _target("zh-tw", state.glossary)) == "<p>引數</p>"


def test_unknown_variant_in_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="zh-xx"):
        prepare(str(tmp_path), Config(variants=["zh-hans", "zh-xx"]))


def test_unknown_opencc_config_in_config_is_refused(tmp_path: Path) -> None:
    config = Config(from_simplified={"zh-tw": "s2nowhere"})
    with pytest.raises(ValueError, match=r"from_simplified\.zh-tw"):
        prepare(str(tmp_path), config)


# -- rule syntax -------------------------------------------------------------------------


def test_one_way_rule_applies_to_variants_of_the_other_script() -> None:
    rule = parse_rule("程序=>程式", HANS)
    assert rule.sources == ("程序",)
    assert dict(rule.forms) == {"zh-hant": "程式", "zh-tw": "程式", "zh-hk": "程式"}


def test_one_way_rule_of_traditional_post_targets_simplified() -> None:
    assert dict(parse_rule("程式=>程序", HANT).forms) == {"zh-hans": "程序"}


def test_one_way_rule_with_variant_forms() -> None:
    rule = parse_rule("程序=>zh-tw:程式;zh-hk:程式", HANS)
    assert dict(rule.forms) == {"zh-tw": "程式", "zh-hk": "程式"}


def test_two_way_rule_looks_for_every_form() -> None:
    rule = parse_rule("zh-hans:程序;zh-tw:程式", HANS)
    assert set(rule.sources) == {"程序", "程式"}
    assert rule.form_for("zh-hans") == "程序"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("=>程式", "nothing before"),
        ("程序=>", "nothing after"),
        ("程序", "expected 'from=>to'"),
        ("zh-tw:程式;zh-tw:程序", "given twice"),
        ("程序=>zh-tw:", "expected 'variant:text'"),
        ("zh-hans:程序;zh-xx:程式", "unknown variant 'zh-xx'"),
    ],
)
def test_malformed_rule_is_reported(text: str, problem: str) -> None:
    with pytest.raises(RuleError, match=problem):
        parse_rule(text, HANS)


def test_rules_list_keeps_good_rules_and_reports_bad_ones() -> None:
    rules, errors = parse_rules(["程序=>程式", "bad"], HANS)
    assert len(rules) == 1
    assert len(errors) == 1 and "bad" in errors[0]


def test_rules_value_that_is_not_a_list_is_reported() -> None:
    rules, errors = parse_rules({"程序": "程式"}, HANS)
    assert rules == [] and "must be a list" in errors[0]


# -- variants and language tags ----------------------------------------------------------


def test_form_for_the_variant_itself_wins() -> None:
    assert pick_form({"zh-hant": "繁", "zh-tw": "臺灣", "zh-hk": "香港"}, "zh-hk") == "香港"


def test_hong_kong_falls_back_to_generic_traditional_then_taiwan() -> None:
    assert pick_form({"zh-hant": "繁", "zh-tw": "臺灣"}, "zh-hk") == "繁"
    assert pick_form({"zh-tw": "臺灣"}, "zh-hk") == "臺灣"


def test_simplified_does_not_fall_back_to_traditional_forms() -> None:
    assert pick_form({"zh-tw": "臺灣"}, "zh-hans") is None


@pytest.mark.parametrize(
    ("lang", "script"),
    [
        ("zh-Hant", HANT),
        ("zh-TW", HANT),
        ("zh-HK", HANT),
        ("zh-Hans", HANS),
        ("zh", HANS),
        ("en", HANS),
    ],
)
def test_script_of_language_tag(lang: str, script: str) -> None:
    assert script_of_lang(lang) == script


ALL = ["zh-hans", "zh-hant", "zh-tw", "zh-hk"]


@pytest.mark.parametrize(
    ("header", "variant"),
    [
        ("zh-TW", "zh-tw"),
        ("zh-HK", "zh-hk"),
        ("zh-MO", "zh-hk"),
        ("zh-Hant", "zh-hant"),
        ("zh-Hant-TW", "zh-tw"),
        ("zh-CN", "zh-hans"),
        ("zh-SG", "zh-hans"),
        ("zh-Hans", "zh-hans"),
        ("zh", "zh-hans"),
        ("en-US,en;q=0.9,zh-TW;q=0.5", "zh-tw"),
        ("zh-CN;q=0.4, zh-TW;q=0.8", "zh-tw"),
        ("en-US", None),
        ("zh-TW;q=0", None),
    ],
)
def test_accept_language_picks_best_variant(header: str, variant: str | None) -> None:
    assert best_variant(header, ALL) == variant


@pytest.mark.parametrize("header", ["zh-TW;q=abc", "zh TW", ";;;,,,", "zh-TW;q=1.5", "\x00zh"])
def test_malformed_accept_language_entry_is_ignored(header: str) -> None:
    assert best_variant(header, ALL) is None


def test_malformed_entry_does_not_hide_good_ones() -> None:
    assert parse_accept_language("zh-TW;q=x, zh-HK;q=0.5") == ["zh-hk"]


def test_missing_variant_falls_back_to_offered_one() -> None:
    assert best_variant("zh-HK", ["zh-hans", "zh-tw"]) == "zh-tw"


# -- the -{…}- markup ------------------------------------------------------------------


def _markdown(source: str) -> str:
    html = markdown.Markdown(extensions=["extra", VariantMarkupExtension()]).convert(source)
    allowlist = Allowlist()
    allowlist.extend(ALLOWED_HTML)
    return sanitize_html(html, allowlist)


def test_protected_text_markup_survives_the_sanitizer() -> None:
    assert _markdown("用 -{软件}- 写") == '<p>用 <span data-noconvert="">软件</span> 写</p>'


def test_protected_text_keeps_inline_markdown() -> None:
    assert "<strong>粗</strong>" in _markdown("-{**粗**}-")


def test_variant_forms_markup_survives_the_sanitizer() -> None:
    html = _markdown("-{zh-hans:程序;zh-tw:程式;zh-hk:程式}-")
    parser = _Spans()
    parser.feed(html)
    assert parser.spans == [
        (
            {
                "data-variants": json.dumps(
                    {"zh-hans": "程序", "zh-tw": "程式", "zh-hk": "程式"}, ensure_ascii=False
                )
            },
            "程序",
        )
    ]


def test_markup_inside_code_span_stays_literal() -> None:
    assert _markdown("`-{软件}-`") == "<p><code>-{软件}-</code></p>"


def test_escaped_markup_stays_literal() -> None:
    assert _markdown("\\-{软件}-") == "<p>-{软件}-</p>"


def test_malformed_variant_forms_keep_the_text_and_say_why() -> None:
    html = _markdown("-{zh-tw:}-")
    assert 'data-noconvert=""' in html and "zh-tw:" in html and "expected" in html


class _Spans(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "span":
            self._open = dict(attrs)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.spans.append((self._open, data))
            self._open = None


# -- page conversion -------------------------------------------------------------------


@pytest.mark.parametrize("code", ALL)
@pytest.mark.parametrize(
    "protected",
    [
        "<pre><code>数据 = 软件()</code></pre>",
        "<code>软件</code>",
        "<kbd>软件</kbd>",
        "<samp>软件</samp>",
        '<math><mi>软件</mi><mspace width="1em"/><mtext>数据</mtext></math>',
        "<script>var s = '<b>软件</b>';</script>",
        "<style>p::after { content: '软件'; }</style>",
        '<span translate="no">软件<b>数据</b></span>',
        '<span data-noconvert="">软件</span>',
        "<svg><text>软件</text></svg>",
    ],
)
def test_protected_content_is_untouched_in_every_variant(code: str, protected: str) -> None:
    page = f"<p>开始{protected}结束数据</p>"
    converted = convert_document(page, _target(code))
    assert protected in converted
    assert converted.endswith("数据</p>") == (code == "zh-hans")


def test_link_text_converts_while_href_stays() -> None:
    page = '<a href="/tags/软件/" title="软件">软件</a>'
    assert convert_document(page, _target("zh-tw")) == '<a href="/tags/软件/" title="軟體">軟體</a>'


def test_image_alt_converts_while_src_stays() -> None:
    page = '<img src="/uploads/软件.png" alt="软件截图">'
    assert (
        convert_document(page, _target("zh-hant")) == '<img src="/uploads/软件.png" alt="軟件截圖">'
    )


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        # Attributes are found whatever their case or spelling: the scan passes over a tag
        # without reading its attributes only when none of them can matter.
        ('<abbr TITLE="软件">软件</abbr>', '<abbr TITLE="軟體">軟體</abbr>'),
        ('<p LANG="zh-Hans">软件</p>', '<p LANG="zh-Hant-TW">軟體</p>'),
        (
            '<span class="variant&#45;switcher">简体</span>',
            '<span class="variant&#45;switcher">简体</span>',
        ),
        ('<span TRANSLATE="no">软件</span>', '<span TRANSLATE="no">软件</span>'),
        ('<span translate="n&#111;">软件</span>', '<span translate="n&#111;">软件</span>'),
        ('<div class="a" id="b"><em>软件</em></div>', '<div class="a" id="b"><em>軟體</em></div>'),
    ],
)
def test_tags_are_read_in_any_case_and_spelling(page: str, expected: str) -> None:
    assert convert_document(page, _target("zh-tw")) == expected


def test_meta_description_and_og_title_convert_but_other_meta_does_not() -> None:
    page = (
        '<meta name="description" content="数据">'
        '<meta property="og:title" content="数据">'
        '<meta name="generator" content="数据">'
    )
    assert convert_document(page, _target("zh-hant")) == (
        '<meta name="description" content="數據">'
        '<meta property="og:title" content="數據">'
        '<meta name="generator" content="数据">'
    )


def test_title_element_converts() -> None:
    page = "<head><title>数据 &amp; 软件</title></head>"
    assert (
        convert_document(page, _target("zh-hant")) == "<head><title>數據 &amp; 軟件</title></head>"
    )


def test_everything_but_text_is_reproduced_byte_for_byte() -> None:
    page = (
        "<!DOCTYPE html>\n<!-- 数据 注释 -->\n<HTML lang=zh-Hans><body class='x'  data-a = \"1\">"
        '<p>数据&nbsp;<br/>&#x6570;据<b >a<c</b></p>\n<input value="数据" disabled>'
        "<![CDATA[数据]]></body></HTML>\n"
    )
    converted = convert_document(page, _target("zh-hant"))
    assert converted == page.replace("<p>数据", "<p>數據").replace(";据<b", ";據<b").replace(
        "lang=zh-Hans", "lang=zh-Hant"
    )


def test_unclosed_paragraphs_do_not_leak_protection() -> None:
    page = "<div><p>数据<p><code>软件</code><p>数据</div><p>数据"
    assert convert_document(page, _target("zh-hant")) == (
        "<div><p>數據<p><code>软件</code><p>數據</div><p>數據"
    )


def test_variant_forms_pick_the_readers_variant_with_fallback() -> None:
    forms = json.dumps({"zh-hans": "程序", "zh-tw": "程式"}, ensure_ascii=False)
    page = f"<p><span data-variants='{forms}'>程序</span>员</p>"
    assert (
        convert_document(page, _target("zh-tw"))
        == f"<p><span data-variants='{forms}'>程式</span>員</p>"
    )
    assert (
        convert_document(page, _target("zh-hk"))
        == f"<p><span data-variants='{forms}'>程式</span>員</p>"
    )
    assert convert_document(page, _target("zh-hans")) == page


def test_variant_forms_without_any_match_convert_the_shown_text() -> None:
    page = """<span data-variants='{"zh-hans": "软件"}'>软件</span>"""
    assert convert_document(page, _target("zh-hant")).endswith(">軟件</span>")


def test_variant_form_text_is_escaped() -> None:
    page = """<span data-variants='{"zh-tw": "<b>x</b>"}'>y</span>"""
    assert convert_document(page, _target("zh-tw")).endswith(">&lt;b&gt;x&lt;/b&gt;</span>")


def test_traditional_marked_text_converts_to_simplified() -> None:
    page = '<article lang="zh-Hant"><p>軟體與資料</p></article>'
    assert (
        convert_document(page, _target("zh-hans"))
        == '<article lang="zh-Hans"><p>软体与资料</p></article>'
    )


def test_traditional_marked_text_becomes_hong_kong_forms() -> None:
    page = '<p lang="zh-Hant">著名的裏面</p>'
    assert convert_document(
        page, _target("zh-hk")
    ) == '<p lang="zh-Hant-HK">著名的裏面</p>'.replace("裏面", convert_text("t2hk", "裏面"))


def test_post_rules_apply_inside_their_element_only() -> None:
    rules = json.dumps([parse_rule("数据=>数据点", HANS).to_json()], ensure_ascii=False)
    page = f"<div data-variant-rules='{rules}'><p>数据</p></div><p>数据</p>"
    converted = convert_document(page, _target("zh-hant"))
    assert converted == f"<div data-variant-rules='{rules}'><p>数据点</p></div><p>數據</p>"


def test_post_rule_overrides_glossary_rule() -> None:
    rules = json.dumps([parse_rule("参数=>zh-tw:引數", HANS).to_json()], ensure_ascii=False)
    page = f"<div data-variant-rules='{rules}'>参数</div>参数"
    assert (
        convert_document(page, _target("zh-tw"))
        == f"<div data-variant-rules='{rules}'>引數</div>參數"
    )


def test_two_way_rule_converts_traditional_text_to_simplified_form() -> None:
    rules = json.dumps([parse_rule("zh-hans:程序;zh-tw:程式", HANS).to_json()], ensure_ascii=False)
    page = f"<div lang=\"zh-Hant\" data-variant-rules='{rules}'>程式</div>"
    assert "程序" in convert_document(page, _target("zh-hans"))


def test_broken_stored_rules_are_ignored() -> None:
    page = "<div data-variant-rules='not json'>数据</div>"
    assert (
        convert_document(page, _target("zh-hant"))
        == "<div data-variant-rules='not json'>數據</div>"
    )


def test_private_use_characters_in_text_survive() -> None:
    page = "<p>参数\U000f0000数据</p>"
    assert convert_document(page, _target("zh-tw")) == "<p>引數\U000f0000資料</p>"


def test_atom_feed_converts_text_but_not_code() -> None:
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        '<title>数据</title><entry><title>软件</title><content type="xhtml">'
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>数据</p><pre><code>软件</code></pre></div>'
        "</content></entry></feed>"
    )
    converted = convert_document(feed, _target("zh-hant"), xml=True)
    assert converted == feed.replace("<title>数据", "<title>數據").replace(
        "<title>软件", "<title>軟件"
    ).replace("<p>数据", "<p>數據")


MARKUP_ALPHABET = "<>/!?-=\"' \n&;#abcdefghijklmnopqrstuvwxy数据软件"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=MARKUP_ALPHABET, max_size=200))
def test_any_markup_is_reproduced_exactly_when_nothing_converts(document: str) -> None:
    target = Target(code="zh-hant", html_lang="zh-Hant", configs={})
    assert convert_document(document, target) == document
    assert convert_document(document, target, xml=True) == document


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=MARKUP_ALPHABET, max_size=200))
def test_any_markup_converts_only_its_chinese_characters(document: str) -> None:
    converted = convert_document(document, _target("zh-hant", ()))
    assert len(converted) == len(document)
    assert [c for c in converted if c.isascii()] == [c for c in document if c.isascii()]


def test_kept_conversions_are_the_ones_opencc_gives_alone_and_in_a_batch() -> None:
    texts = ["这个软件的内存", "鼠标", "", "打印机和服务器", "长" * (MEMO_MAX_CHARS + 1)]
    alone = [convert_text("s2twp", text) for text in texts]
    assert convert_many("s2twp", texts) == alone  # cold: one OpenCC call
    assert convert_many("s2twp", list(reversed(texts))) == list(reversed(alone))  # kept
    assert convert_many("s2hk", texts[:2]) == [convert_text("s2hk", t) for t in texts[:2]]
    # Not vacuous: the texts changed, and Taiwan's wording differs from Hong Kong's.
    assert alone[0] == "這個軟體的記憶體" and convert_text("s2hk", texts[0]) != alone[0]
