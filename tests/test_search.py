"""Search: bigram index, Chinese recall, cross-variant queries, bad input, index upkeep."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from blog.config import BUILTIN_PLUGINS
from blog.importer import import_paths
from blog.models import Post, db
from blog.posts import PostFields, purge_trash, restore_post, save_post, trash_post
from blog.render import html_to_text
from blog.search import (
    SqliteBackend,
    backend,
    index_tokens,
    normalize,
    parse_query,
    rebuild_index,
    search,
    tsquery_literal,
)
from tests.conftest import REPO, count_html_parses, write_config

DEMO = REPO / "blog" / "demo"
#: Queries a reader of the demo posts would type: 1-, 2- and longer Chinese words.
CHINESE_QUERIES = [
    "注意",
    "注意力",
    "梯度",
    "显存",
    "旋转位置编码",
    "低秩",
    "学习率",
    "损失函数",
    "温度",
    "训练",
    "偏差修正",
    "对比学习",
    "广播",
    "混合精度",
    "的",
    "模",
    "数据并行",
    "KL散度",
]
NORMALIZER_PLUGIN = '''
"""Test plugin: Traditional and Taiwan wording -> Simplified for search, two URL variants."""
import opencc

from blog.api import hookimpl

__version__ = "1.0.0"
_TO_TRADITIONAL = opencc.OpenCC("s2t")
_TO_MAINLAND = opencc.OpenCC("tw2sp")


@hookimpl
def blog_search_text(text):
    return _TO_MAINLAND.convert(_TO_TRADITIONAL.convert(text))


@hookimpl
def blog_variants():
    return ["zh-hans", "zh-tw"]
'''


def install_normalizer(instance: Path) -> None:
    """Enable a real instance plugin that normalises scripts like the opencc plugin will."""
    (instance / "plugins").mkdir(exist_ok=True)
    (instance / "plugins" / "scriptfold.py").write_text(NORMALIZER_PLUGIN, encoding="utf-8")
    write_config(instance, PLUGINS=[*BUILTIN_PLUGINS, "scriptfold"])


class SearchPage(HTMLParser):
    """Collects result titles, the snippets' HTML structure and the message of /search."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.titles: list[str] = []
        self.marks: list[str] = []
        self.mark_parents: list[str] = []
        self.message = ""
        self._stack: list[tuple[str, dict[str, str | None]]] = []
        self._in_title = False
        self._in_mark = False
        self._in_message = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "a" and self._stack and self._stack[-1][0] == "h2":
            self._in_title = True
            self.titles.append("")
        if tag == "mark":
            self._in_mark = True
            self.marks.append("")
            self.mark_parents.append(self._stack[-1][0] if self._stack else "")
        if "search-message" in classes:
            self._in_message = True
        self._stack.append((tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._stack.pop()
        if tag == "a":
            self._in_title = False
        if tag == "mark":
            self._in_mark = False
        if tag == "p":
            self._in_message = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles[-1] += data
        if self._in_mark:
            self.marks[-1] += data
        if self._in_message:
            self.message += data


def search_page(client: FlaskClient, query: str, prefix: str = "", **args: str) -> SearchPage:
    response = client.get(f"{prefix}/search", query_string={"q": query, **args})
    assert response.status_code == 200
    page = SearchPage()
    page.feed(response.get_data(as_text=True))
    return page


@pytest.fixture
def demo_app(app: Flask) -> Flask:
    with app.app_context():
        report = import_paths([DEMO])
        assert not report.failures
    return app


@pytest.fixture
def folded_app(instance: Path, make_app: Callable[..., Flask], database: str) -> Flask:
    install_normalizer(instance)
    app = make_app(DATABASE_URL=database) if database else make_app()
    with app.app_context():
        assert not import_paths([DEMO]).failures
    return app


def searchable_text(post: Post) -> str:
    parts = [post.title, html_to_text(post.body_html), *(t.name for t in post.tags)]
    if post.category:
        parts.append(post.category.name)
    return normalize(" ".join(parts)).casefold()


def all_matches(query: str, per_page: int = 50) -> list[str]:
    outcome = search(query, 1, per_page)
    return [result.slug for result in outcome.results]


# --- Tokenising ---------------------------------------------------------------------------


def test_chinese_run_becomes_bigrams_plus_its_last_character() -> None:
    assert index_tokens("神经网络") == ["神经", "经网", "网络", "络"]


def test_latin_words_are_case_folded_whole_tokens_beside_chinese() -> None:
    assert index_tokens("用LoRA微调GPT-4") == ["用", "lora", "微调", "调", "gpt", "4"]


def test_query_syntax_characters_are_plain_text() -> None:
    terms = parse_query('"注意" NEAR(a b) -梯度 *x OR')
    assert [t.surface for t in terms] == ["注意", "near", "a", "b", "梯度", "x", "or"]
    expression = SqliteBackend.match_expression(terms)
    assert expression.count('"') == 2 * len(terms)


def test_one_character_chinese_query_is_a_prefix_term() -> None:
    (term,) = parse_query("注")
    assert term.prefix and term.tokens == ("注",)


def test_tsquery_quotes_every_lexeme() -> None:
    literal = tsquery_literal(parse_query("神经网络 it's"))
    assert literal == "('神经' <-> '经网' <-> '网络') & ('it') & ('s')"


# --- Recall over the demo posts -----------------------------------------------------------


def expected_matches(texts: dict[str, str], query: str) -> set[str]:
    """Brute force: posts (slug -> normalised text) that contain every query term."""
    surfaces = [term.surface for term in parse_query(normalize(query))]
    return {slug for slug, text in texts.items() if all(s in text for s in surfaces)}


def test_chinese_queries_find_exactly_the_demo_posts_containing_them(demo_app: Flask) -> None:
    with demo_app.app_context():
        posts = db.session.scalars(db.select(Post)).all()
        texts = {p.slug: searchable_text(p) for p in posts if p.is_public and p.kind == "post"}
        misses = {}
        for query in CHINESE_QUERIES:
            wanted = expected_matches(texts, query)
            assert wanted, f"{query!r} should occur in the demo posts"
            found = set(all_matches(query))
            if found != wanted:
                misses[query] = (sorted(wanted - found), sorted(found - wanted))
        assert misses == {}


def test_title_matches_rank_first(demo_app: Flask) -> None:
    with demo_app.app_context():
        first = all_matches("注意力")[0]
        assert "注意力" in db.session.scalar(db.select(Post.title).where(Post.slug == first))


def test_words_in_english_and_chinese_must_all_match(demo_app: Flask) -> None:
    with demo_app.app_context():
        both = set(all_matches("LoRA 初始化"))
        assert both
        assert both <= set(all_matches("LoRA")) & set(all_matches("初始化"))


def test_latin_prefix_finds_longer_words(demo_app: Flask) -> None:
    with demo_app.app_context():
        assert set(all_matches("optim")) >= set(all_matches("optimizer"))


def test_draft_demo_post_is_not_found(demo_app: Flask) -> None:
    with demo_app.app_context():
        draft = db.session.scalar(db.select(Post).where(Post.status == "draft"))
        assert draft is not None
        assert draft.slug not in all_matches(draft.title)


def test_pages_together_hold_every_result_once(make_app: Callable[..., Flask]) -> None:
    app = make_app(POSTS_PER_PAGE=4)
    with app.app_context():
        import_paths([DEMO])
        first = search("的", 1, 4)
        assert first.count > 1
        slugs = [r.slug for n in range(1, first.count + 1) for r in search("的", n, 4).results]
        assert len(slugs) == len(set(slugs)) == first.total


def test_search_page_links_to_the_next_page(make_app: Callable[..., Flask]) -> None:
    app = make_app(POSTS_PER_PAGE=3)
    with app.app_context():
        import_paths([DEMO])
    body = app.test_client().get("/search?q=的").get_data(as_text=True)
    assert 'rel="next"' in body and "page=2" in body


# --- Cross-variant ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected_in_title"),
    [("记忆体", "混合精度"), ("記憶體", "混合精度"), ("混合精度训练", "混合精度")],
)
def test_query_in_either_script_finds_the_traditional_post(
    folded_app: Flask, query: str, expected_in_title: str
) -> None:
    page = search_page(folded_app.test_client(), query)
    assert any(expected_in_title in title for title in page.titles)


def test_taiwan_wording_finds_mainland_wording(folded_app: Flask) -> None:
    with folded_app.app_context():
        save_post(PostFields(title="笔记", source="卷积神经网络的感受野。"), author="t")
    page = search_page(folded_app.test_client(), "神經網路")
    assert "笔记" in page.titles


def test_search_works_under_a_variant_prefix(folded_app: Flask) -> None:
    client = folded_app.test_client()
    prefixed = search_page(client, "記憶體", prefix="/zh-tw").titles
    assert prefixed
    assert len(prefixed) == len(search_page(client, "记忆体").titles)


def test_snippet_marks_the_traditional_text_for_a_simplified_query(folded_app: Flask) -> None:
    page = search_page(folded_app.test_client(), "训练")
    assert "訓練" in page.marks or "训练" in page.marks


# --- Bad input ----------------------------------------------------------------------------


BAD_QUERIES = [
    "",
    "   ",
    '"',
    "*",
    "NEAR",
    "-",
    "a",
    "注",
    '"注意" OR *',
    "AND",
    "x" * 5000,
    "梯度" * 1000,
    "\x00",
    "<script>alert(1)</script>",
    "(",
    "^",
    "NEAR(梯度 显存, 2)",
]


def test_any_query_gets_a_page_with_results_or_a_message(demo_app: Flask) -> None:
    client = demo_app.test_client()
    for query in BAD_QUERIES:
        page = search_page(client, query)
        assert page.titles or page.message.strip(), query


def test_empty_query_asks_for_words(demo_app: Flask) -> None:
    assert "关键词" in search_page(demo_app.test_client(), "").message


def test_long_query_is_shortened_with_a_note(demo_app: Flask) -> None:
    assert "太长" in search_page(demo_app.test_client(), "梯度" * 1000).message


def test_punctuation_only_query_says_nothing_is_searchable(demo_app: Flask) -> None:
    assert "没有可以搜索的文字" in search_page(demo_app.test_client(), '"*-').message


def test_page_number_that_is_not_a_number_falls_back_to_the_first(
    make_app: Callable[..., Flask], database: str
) -> None:
    app = make_app(POSTS_PER_PAGE=3, **({"DATABASE_URL": database} if database else {}))
    with app.app_context():
        assert not import_paths([DEMO]).failures
    client = app.test_client()
    first, second = (search_page(client, "的", page=n).titles for n in ("1", "2"))
    # Several pages of results, so that landing on another page would show.
    assert len(first) == 3 and second and set(first).isdisjoint(second)
    for page in ("x", "", "-1", "0", "1.5"):
        assert search_page(client, "的", page=page).titles == first, page


# --- Snippets -----------------------------------------------------------------------------


def test_snippet_escapes_the_text_and_marks_only_the_match(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    make_post("比较 a < b & c 时，<i>注意力</i>权重会变化。", title="符号")
    response = app.test_client().get("/search?q=注意力")
    body = response.get_data(as_text=True)
    assert "<i>" not in body.split("<main", 1)[1]
    page = SearchPage()
    page.feed(body)
    assert page.marks == ["注意力"]


def test_math_and_code_are_searchable_text_without_markup(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    make_post(
        "公式 $\\mathrm{softmax}(x)$。\n\n```python\nfrobnicate_tensor = 1\n```\n", title="数学"
    )
    client = app.test_client()
    for word in ("softmax", "frobnicate_tensor"):
        page = search_page(client, word)
        assert page.titles == ["数学"]
        assert set(page.mark_parents) <= {"p"}


# --- Index upkeep -------------------------------------------------------------------------


def test_index_follows_save_trash_restore_and_purge(app: Flask) -> None:
    with app.app_context():
        post = save_post(PostFields(title="甲", source="独一无二的词语"), author="t")
        assert all_matches("独一无二") == [post.slug]
        save_post(PostFields(title="甲", source="换了内容"), author="t", post=post)
        assert all_matches("独一无二") == []
        assert all_matches("换了内容") == [post.slug]
        trash_post(post)
        assert all_matches("换了内容") == []
        restore_post(post)
        assert all_matches("换了内容") == [post.slug]
        trash_post(post)
        assert purge_trash() == 1
        assert all_matches("换了内容") == []


def test_tags_and_category_are_searchable(app: Flask) -> None:
    with app.app_context():
        post = save_post(
            PostFields(title="甲", source="正文", category="杂谈随笔", tags=["冷门标签"]),
            author="t",
        )
        assert all_matches("冷门标签") == [post.slug]
        assert all_matches("杂谈随笔") == [post.slug]


def test_an_edited_post_is_found_by_its_new_words_only(app: Flask) -> None:
    with app.app_context():
        post = save_post(PostFields(title="甲", source="旧的段落讲卷积网络"), author="t")
        assert all_matches("卷积") == [post.slug]
        save_post(PostFields(title="甲", source="新的段落讲循环网络"), author="t", post=post)
        assert all_matches("卷积") == []
        assert all_matches("循环") == [post.slug]
        assert backend().document_count() == 1


def test_reindex_command_rebuilds_an_emptied_index(
    make_app: Callable[..., Flask], run_cli: Callable[..., object]
) -> None:
    app = make_app()
    with app.app_context():
        import_paths([DEMO])
        before = all_matches("梯度")
        backend().clear()
        db.session.commit()
        assert all_matches("梯度") == []
    result = run_cli("reindex")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "indexed 15 posts" in result.output  # type: ignore[attr-defined]
    with app.app_context():
        assert all_matches("梯度") == before


def test_reindex_reads_stored_text_and_parses_html_only_for_older_rows(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        import_paths([DEMO])
        tagged = save_post(
            PostFields(title="甲", source="正文", category="杂谈随笔", tags=["冷门标签"]),
            author="t",
        )
        queries = [*CHINESE_QUERIES, "冷门标签", "杂谈随笔"]
        before = {query: all_matches(query) for query in queries}
        assert before["冷门标签"] == [tagged.slug] and before["梯度"]
        stored = {post.id: post.body_text for post in db.session.scalars(select(Post))}
        assert all(stored.values())
        fed = count_html_parses(monkeypatch)
        assert rebuild_index(batch=4) == 16
        assert fed == []
        assert {query: all_matches(query) for query in queries} == before

        # Rows saved before the column existed (the migration leaves it empty): their HTML
        # is read once, by this rebuild, and its text kept for the next one.
        db.session.execute(update(Post).values(body_text=None))
        db.session.commit()
        assert rebuild_index(batch=4) == 16
        assert len(fed) == 16
        assert {query: all_matches(query) for query in queries} == before
        rebuild_index()
        assert len(fed) == 16
        db.session.expire_all()
        for post in db.session.scalars(select(Post)):
            assert post.body_text == stored[post.id] == html_to_text(post.body_html)
