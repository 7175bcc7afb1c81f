"""The page cache: hits before Flask, ETags, invalidation, auth and variant separation.

Keyset listings are checked here too: they must match OFFSET paging and load no body column.
"""

from __future__ import annotations

import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import POSTGRES_HINT, POSTGRES_URL, reset_postgres, write_config
from flask import Flask, make_response, session
from flask.testing import FlaskClient
from serve_support import ANSWER_SECONDS, blog_serve
from sqlalchemy import event, select

from blog import queries
from blog.cache import CachedPage, PageStore, make_page
from blog.config import BUILTIN_PLUGINS
from blog.models import DRAFT, Post, db, utcnow
from blog.posts import PostFields, fields_of, save_post, trash_post

LONG_CHECK = {"PAGE_CACHE_CHECK_MS": 600_000}

VARIANT_PLUGIN = """
from flask import g

from blog.api import hookimpl


@hookimpl
def blog_variants():
    return ["aa", "bb"]


@hookimpl
def blog_request_variant(request):
    chosen = request.cookies.get("variant")
    if chosen in ("aa", "bb"):
        return chosen
    return "bb" if "bb" in request.headers.get("Accept-Language", "") else "aa"


@hookimpl
def blog_response_filter(request, response):
    response.set_data(response.get_data() + f"<!-- variant {g.variant} -->".encode())
    return response
"""


class FlaskCalls:
    """Counts requests that reach Flask (the page cache answers hits before it)."""

    def __init__(self, app: Flask) -> None:
        self.count = 0
        app.before_request(self._seen)

    def _seen(self) -> None:
        self.count += 1


def edit(app: Flask, post: Post, **changes: Any) -> None:
    with app.app_context():
        stored = db.session.get(Post, post.id)
        assert stored is not None
        fields = fields_of(stored)
        for name, value in changes.items():
            setattr(fields, name, value)
        save_post(fields, author="test", post=stored)


@pytest.fixture
def cached_app(make_app: Callable[..., Flask]) -> Flask:
    """An app whose cache never re-reads the version on a timer: only commits refresh it."""
    return make_app(**LONG_CHECK)


@pytest.fixture
def calls(cached_app: Flask) -> FlaskCalls:
    return FlaskCalls(cached_app)


@pytest.fixture
def reader(cached_app: Flask, calls: FlaskCalls) -> FlaskClient:
    return cached_app.test_client()


@pytest.fixture
def post(cached_app: Flask) -> Post:
    with cached_app.app_context():
        saved = save_post(
            PostFields(title="缓存测试", source="第一版正文。", slug="cached"), author="t"
        )
        db.session.refresh(saved)
        db.session.expunge(saved)
        return saved


def test_second_request_is_answered_without_reaching_flask(
    reader: FlaskClient, calls: FlaskCalls, post: Post
) -> None:
    first = reader.get("/posts/cached/")
    second = reader.get("/posts/cached/")
    assert calls.count == 1
    assert second.status_code == 200
    assert second.data == first.data
    assert second.headers["ETag"] == first.headers["ETag"]


def test_cached_response_keeps_security_headers(reader: FlaskClient, post: Post) -> None:
    reader.get("/posts/cached/")
    hit = reader.get("/posts/cached/")
    assert hit.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in hit.headers["Content-Security-Policy"]


def test_head_is_served_from_the_get_entry(
    reader: FlaskClient, calls: FlaskCalls, post: Post
) -> None:
    get = reader.get("/posts/cached/")
    head = reader.head("/posts/cached/")
    assert calls.count == 1
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.data))


def test_matching_etag_gets_304_without_body(
    reader: FlaskClient, calls: FlaskCalls, post: Post
) -> None:
    etag = reader.get("/posts/cached/").headers["ETag"]
    revalidated = reader.get("/posts/cached/", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    assert revalidated.headers["ETag"] == etag
    assert calls.count == 1


def test_other_etag_gets_the_full_page(reader: FlaskClient, post: Post) -> None:
    reader.get("/posts/cached/")
    response = reader.get("/posts/cached/", headers={"If-None-Match": '"something-else"'})
    assert response.status_code == 200
    assert "第一版正文" in response.get_data(as_text=True)


def test_save_changes_page_and_etag_at_once(
    cached_app: Flask, reader: FlaskClient, post: Post
) -> None:
    before = reader.get("/posts/cached/")
    edit(cached_app, post, source="第二版正文。")
    after = reader.get("/posts/cached/")
    assert "第二版正文" in after.get_data(as_text=True)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert (
        reader.get("/posts/cached/", headers={"If-None-Match": before.headers["ETag"]}).status_code
        == 200
    )


def test_save_refreshes_every_listing_and_the_archive(
    cached_app: Flask, reader: FlaskClient, post: Post
) -> None:
    urls = ["/", "/archive/", "/categories/笔记/", "/tags/缓存/"]
    edit(cached_app, post, category="笔记", tags=["缓存"])
    for url in urls:
        assert "缓存测试" in reader.get(url).get_data(as_text=True)
    edit(cached_app, post, title="改过的标题")
    for url in urls:
        text = reader.get(url).get_data(as_text=True)
        assert "改过的标题" in text, url
        assert "缓存测试" not in text, url


def test_trashed_post_disappears_from_cached_pages(
    cached_app: Flask, reader: FlaskClient, post: Post
) -> None:
    assert reader.get("/posts/cached/").status_code == 200
    assert "缓存测试" in reader.get("/").get_data(as_text=True)
    with cached_app.app_context():
        stored = db.session.get(Post, post.id)
        assert stored is not None
        trash_post(stored)
    assert reader.get("/posts/cached/").status_code == 404
    assert "缓存测试" not in reader.get("/").get_data(as_text=True)


def test_publishing_a_draft_shows_it_on_the_cached_home(
    cached_app: Flask, reader: FlaskClient, post: Post
) -> None:
    with cached_app.app_context():
        draft = save_post(PostFields(title="草稿变正式", source="x", status=DRAFT), author="t")
        db.session.refresh(draft)
        db.session.expunge(draft)
    assert "草稿变正式" not in reader.get("/").get_data(as_text=True)
    edit(cached_app, draft, status="published")
    assert "草稿变正式" in reader.get("/").get_data(as_text=True)


def test_scheduled_post_appears_at_its_time_despite_the_cache(
    cached_app: Flask, reader: FlaskClient, post: Post
) -> None:
    with cached_app.app_context():
        save_post(
            PostFields(
                title="定时文章", source="x", published_at=utcnow() + timedelta(seconds=1.5)
            ),
            author="t",
        )
    assert "定时文章" not in reader.get("/").get_data(as_text=True)
    time.sleep(2)
    assert "定时文章" in reader.get("/").get_data(as_text=True)


def test_change_by_another_process_is_seen_within_the_check_interval(
    make_app: Callable[..., Flask], instance: Path
) -> None:
    app = make_app(PAGE_CACHE_CHECK_MS=200)
    with app.app_context():
        save_post(PostFields(title="旧标题", source="x", slug="remote"), author="t")
    client = app.test_client()
    assert "旧标题" in client.get("/posts/remote/").get_data(as_text=True)
    # Another process's write, made outside this process's SQLAlchemy sessions.
    with sqlite3.connect(instance / "blog.sqlite3") as other_process:
        other_process.execute("UPDATE posts SET title = '新标题' WHERE slug = 'remote'")
        other_process.execute("UPDATE site_state SET value = value + 1 WHERE key = 'content'")
    time.sleep(0.3)
    assert "新标题" in client.get("/posts/remote/").get_data(as_text=True)


def test_session_cookie_bypasses_the_cache_both_ways(
    cached_app: Flask, calls: FlaskCalls, post: Post
) -> None:
    @cached_app.route("/whoami/")
    def whoami() -> str:
        return f"<p>{session.get('user', 'anonymous')}</p>"

    author = cached_app.test_client()
    with author.session_transaction() as stored:
        stored["user"] = "author-alice"
    anonymous = cached_app.test_client()

    assert "author-alice" in author.get("/whoami/").get_data(as_text=True)
    assert "anonymous" in anonymous.get("/whoami/").get_data(as_text=True)
    assert "author-alice" in author.get("/whoami/").get_data(as_text=True)
    assert "anonymous" in anonymous.get("/whoami/").get_data(as_text=True)
    assert calls.count == 3


def test_responses_setting_cookies_are_never_stored(
    cached_app: Flask, reader: FlaskClient, calls: FlaskCalls
) -> None:
    @cached_app.route("/sets-cookie/")
    def sets_cookie() -> Any:
        response = make_response("<p>hello</p>")
        response.set_cookie("seen", "1")
        return response

    reader.get("/sets-cookie/")
    reader.get("/sets-cookie/")
    assert calls.count == 2


@pytest.mark.parametrize("value", ["private", "no-store"])
def test_private_and_no_store_responses_are_never_stored(
    cached_app: Flask, reader: FlaskClient, calls: FlaskCalls, value: str
) -> None:
    @cached_app.route("/private/")
    def private() -> Any:
        response = make_response("<p>mine</p>")
        response.headers["Cache-Control"] = value
        return response

    reader.get("/private/")
    reader.get("/private/")
    assert calls.count == 2


def test_admin_paths_are_never_cached(
    cached_app: Flask, reader: FlaskClient, calls: FlaskCalls
) -> None:
    @cached_app.route("/admin/cache-probe/")
    def probe() -> str:
        return "<p>admin</p>"

    reader.get("/admin/cache-probe/")
    reader.get("/admin/cache-probe/")
    assert calls.count == 2


def test_post_requests_are_never_cached(cached_app: Flask, reader: FlaskClient) -> None:
    @cached_app.route("/echo/", methods=["GET", "POST"])
    def echo() -> str:
        return "<p>echo</p>"

    store = cached_app.extensions["blog.page_cache"].store
    reader.post("/echo/")
    assert len(store) == 0
    cached_app.test_client().get("/echo/")
    assert len(store) == 1


def test_concurrent_misses_for_one_page_render_it_once(cached_app: Flask) -> None:
    renders: list[int] = []

    @cached_app.route("/slow/")
    def slow() -> str:
        renders.append(1)
        time.sleep(0.5)
        return "<p>slow</p>"

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _n: cached_app.test_client().get("/slow/"), range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert {r.data for r in responses} == {b"<p>slow</p>"}
    assert len(renders) == 1


def test_not_found_is_not_stored(reader: FlaskClient, calls: FlaskCalls) -> None:
    reader.get("/posts/missing/")
    reader.get("/posts/missing/")
    assert calls.count == 2


def test_query_string_is_part_of_the_key(cached_app: Flask, reader: FlaskClient) -> None:
    from flask import request

    @cached_app.route("/echo-query/")
    def echo_query() -> str:
        return f"<p>{request.args.get('q', '')}</p>"

    assert b"one" in reader.get("/echo-query/?q=one").data
    assert b"two" in reader.get("/echo-query/?q=two").data


def test_disabled_cache_sends_every_request_to_flask(make_app: Callable[..., Flask]) -> None:
    app = make_app(PAGE_CACHE_BYTES=0)
    calls = FlaskCalls(app)
    client = app.test_client()
    client.get("/")
    client.get("/")
    assert calls.count == 2
    assert "blog.page_cache" not in app.extensions


@pytest.fixture
def variant_app(instance: Path, make_app: Callable[..., Flask]) -> Flask:
    (instance / "plugins").mkdir(exist_ok=True)
    (instance / "plugins" / "probe_variants.py").write_text(VARIANT_PLUGIN, encoding="utf-8")
    # The probe plugin is the only variant provider here: opencc would add its own.
    others = [name for name in BUILTIN_PLUGINS if name != "opencc"]
    write_config(instance, PLUGINS=[*others, "probe_variants"])
    return make_app(**LONG_CHECK)


def test_prefixed_variants_are_cached_separately(variant_app: Flask) -> None:
    client = variant_app.test_client()
    for _round in range(2):
        assert b"<!-- variant aa -->" in client.get("/aa/").data
        assert b"<!-- variant bb -->" in client.get("/bb/").data


def test_unprefixed_page_is_keyed_by_the_variant_the_plugin_selects(variant_app: Flask) -> None:
    calls = FlaskCalls(variant_app)
    by_language = variant_app.test_client()
    by_cookie = variant_app.test_client()
    by_cookie.set_cookie("variant", "bb")
    for _round in range(2):
        assert (
            b"<!-- variant aa -->" in by_language.get("/", headers={"Accept-Language": "en"}).data
        )
        assert (
            b"<!-- variant bb -->" in by_language.get("/", headers={"Accept-Language": "bb"}).data
        )
        assert b"<!-- variant bb -->" in by_cookie.get("/", headers={"Accept-Language": "en"}).data
    assert calls.count == 2


def test_opencc_variants_never_share_an_entry(make_app: Callable[..., Flask]) -> None:
    app = make_app(**LONG_CHECK)
    if "zh-tw" not in app.extensions["blog.variants"]:
        pytest.skip("the opencc plugin (zh-hans/zh-tw variants) is not installed yet")
    with app.app_context():
        save_post(
            PostFields(title="软件与网络", source="这个软件的网络设置。", slug="wl"), author="t"
        )
    client = app.test_client()
    for _round in range(2):
        simplified = client.get("/zh-hans/posts/wl/").get_data(as_text=True)
        taiwan = client.get("/zh-tw/posts/wl/").get_data(as_text=True)
        assert "软件" in simplified
        assert "軟體" in taiwan
        assert "软件" not in taiwan


def test_store_evicts_least_recent_pages_to_stay_under_its_byte_limit() -> None:
    store = PageStore(max_bytes=64_000)
    page = make_page("200 OK", [("Content-Type", "text/html")], b"x" * 5_000)
    for number in range(40):
        store.put(("h", "http", f"/p{number}/", "", ""), page, store.generation)
    assert store.bytes <= 64_000
    assert store.get(("h", "http", "/p39/", "", "")) is not None
    assert store.get(("h", "http", "/p0/", "", "")) is None


def test_store_refuses_pages_rendered_before_an_invalidation() -> None:
    store = PageStore(max_bytes=1_000_000)
    rendered_in = store.generation
    store.new_generation()
    page = CachedPage("200 OK", [], b"old", '"e"')
    assert not store.put(("h", "http", "/", "", ""), page, rendered_in)
    assert len(store) == 0


def test_store_skips_a_page_larger_than_an_eighth_of_the_cache() -> None:
    store = PageStore(max_bytes=80_000)
    page = make_page("200 OK", [], b"x" * 20_000)
    assert not store.put(("h", "http", "/big/", "", ""), page, store.generation)


def test_etag_is_a_hash_of_the_body() -> None:
    one = make_page("200 OK", [], b"<p>a</p>")
    same = make_page("200 OK", [], b"<p>a</p>")
    other = make_page("200 OK", [], b"<p>b</p>")
    assert one.etag == same.etag != other.etag


# Keyset listings


@pytest.fixture
def many_posts(app: Flask) -> list[int]:
    """25 posts, some sharing a publish time (the id breaks ties), a category and a tag."""
    start = utcnow() - timedelta(days=60)
    ids = []
    with app.app_context():
        for number in range(25):
            saved = save_post(
                PostFields(
                    title=f"文章{number}",
                    source="x",
                    published_at=start + timedelta(days=number // 3),
                    category="偶数" if number % 2 == 0 else "奇数",
                    tags=["三"] if number % 3 == 0 else [],
                ),
                author="t",
            )
            ids.append(saved.id)
    return ids


def _offset_pages(app: Flask, per_page: int, **filters: Any) -> list[list[int]]:
    with app.app_context():
        posts = db.session.scalars(
            queries.listing_query(**filters).order_by(Post.published_at.desc(), Post.id.desc())
        ).all()
    ids = [p.id for p in posts]
    return [ids[i : i + per_page] for i in range(0, len(ids), per_page)]


@pytest.mark.parametrize("per_page", [1, 4, 10, 25, 30])
def test_keyset_pages_match_offset_paging(app: Flask, many_posts: list[int], per_page: int) -> None:
    expected = _offset_pages(app, per_page)
    with app.app_context():
        got = []
        for number in range(1, len(expected) + 1):
            page = queries.listing_page(number, per_page)
            assert page is not None
            assert page.count == len(expected)
            assert page.total == 25
            got.append([p.id for p in page.posts])
        assert queries.listing_page(len(expected) + 1, per_page) is None
    assert got == expected


def test_keyset_pages_of_a_category_and_a_tag_match_offset_paging(
    app: Flask, many_posts: list[int]
) -> None:
    with app.app_context():
        category = queries.category_named("偶数")
        tag = queries.tag_named("三")
        assert category is not None and tag is not None
    for filters in ({"category": category}, {"tag": tag}):
        expected = _offset_pages(app, 3, **filters)
        with app.app_context():
            pages = [queries.listing_page(n, 3, **filters) for n in range(1, len(expected) + 1)]
            got = [[p.id for p in page.posts] for page in pages if page is not None]
        assert got == expected


def test_listing_boundaries_follow_a_new_post(app: Flask, many_posts: list[int]) -> None:
    with app.app_context():
        assert queries.listing_page(3, 10) is not None
        assert queries.listing_page(4, 10) is None
        for number in range(6):
            save_post(PostFields(title=f"新{number}", source="x"), author="t")
        page = queries.listing_page(4, 10)
        assert page is not None
        assert page.total == 31


def test_empty_listing_has_one_empty_page(app: Flask) -> None:
    with app.app_context():
        page = queries.listing_page(1, 10)
        assert page is not None
        assert page.posts == []
        assert page.count == 1
        assert queries.listing_page(2, 10) is None


@contextmanager
def statements_run(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL of every statement ``app``'s engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    with statements_run(app) as seen:
        yield seen


@pytest.mark.parametrize("url", ["/", "/page/2/", "/categories/偶数/", "/tags/三/", "/archive/"])
def test_listings_never_select_body_columns(
    app: Flask, many_posts: list[int], statements: list[str], url: str
) -> None:
    response = app.test_client().get(url)
    assert response.status_code == 200
    post_selects = [
        s for s in statements if s.lstrip().upper().startswith("SELECT") and "posts" in s
    ]
    assert post_selects
    for statement in post_selects:
        for column in ("posts.source", "posts.body_html", "posts.body_text", "posts.toc"):
            assert column not in statement, statement


def test_post_page_reads_stored_html_without_rendering(app: Flask, statements: list[str]) -> None:
    with app.app_context():
        save_post(PostFields(title="公式", source="$$x^2$$\n\n正文", slug="stored"), author="t")
        db.session.execute(
            Post.__table__.update()
            .where(Post.slug == "stored")
            .values(body_html="<p>STORED-HTML</p>")
        )
        db.session.commit()
    assert "STORED-HTML" in app.test_client().get("/posts/stored/").get_data(as_text=True)


def test_post_page_does_not_read_the_index_text(app: Flask, statements: list[str]) -> None:
    with app.app_context():
        save_post(PostFields(title="正文", source="一段正文", slug="plain"), author="t")
    statements.clear()
    assert app.test_client().get("/posts/plain/").status_code == 200
    assert any("posts.body_html" in statement for statement in statements)
    assert not any("posts.body_text" in statement for statement in statements)


def _statement_kinds(statements: list[str]) -> list[str]:
    """``"SELECT posts"``, ``"SELECT post_tags"``…: each statement's verb and first table."""
    kinds = []
    for statement in statements:
        words = " ".join(statement.split()).split(" FROM ", 1)
        verb = words[0].split(" ", 1)[0].upper()
        table = words[1].split(" ", 1)[0] if len(words) > 1 else ""
        kinds.append(f"{verb} {table}".strip())
    return kinds


@pytest.fixture
def uncached_app(make_app: Callable[..., Flask], database: str) -> Flask:
    """The test app with its page cache off: every request renders (a cache miss)."""
    settings: dict[str, Any] = {"PAGE_CACHE_BYTES": 0}
    return make_app(DATABASE_URL=database, **settings) if database else make_app(**settings)


def test_a_post_page_miss_runs_few_queries(uncached_app: Flask) -> None:
    """The queries behind one uncached post page: the post with its categories joined, its
    tags, its two neighbours and its related posts in one statement, whether the links page
    exists and its comment counts; nothing for the neighbours' and related posts' tags,
    nor for comment threads when there are none."""
    app = uncached_app
    start = utcnow() - timedelta(days=3)
    with app.app_context():
        ids = []
        for number in range(3):
            saved = save_post(
                PostFields(
                    title=f"第{number}篇",
                    source="正文",
                    slug=f"p{number}",
                    published_at=start + timedelta(days=number),
                    category="分类",
                    tags=["甲", "乙"],
                ),
                author="t",
            )
            ids.append(saved.id)
        middle = db.session.get(Post, ids[1])
        assert middle is not None
        middle.related = [ids[0], ids[2]]
        db.session.commit()
    with statements_run(app) as seen:
        page = app.test_client().get("/posts/p1/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/posts/p0/"' in html and 'href="/posts/p2/"' in html
    assert "#甲" in html and ">分类</a>" in html
    reads = [kind for kind in _statement_kinds(seen) if kind.startswith("SELECT")]
    assert sorted(reads) == sorted(
        [
            "SELECT posts",  # the post, its categories joined
            "SELECT tags",
            "SELECT posts",  # older, newer and related
            "SELECT links",
            "SELECT comments",  # comment and thread counts, one query
        ]
    ), "\n".join(" ".join(statement.split())[:160] for statement in seen)


def test_a_home_page_miss_reads_each_kind_of_thing_once(uncached_app: Flask) -> None:
    """The queries behind an uncached home page whose listing index is built: the content
    version, the page of posts, their categories and tags, the pinned posts, whether the
    links page exists and every card's comment counts in one query."""
    app = uncached_app
    start = utcnow() - timedelta(days=5)
    with app.app_context():
        for number in range(4):
            save_post(
                PostFields(
                    title=f"第{number}篇",
                    source="正文",
                    slug=f"h{number}",
                    published_at=start + timedelta(days=number),
                    category="东西"[number % 2],
                    tags=["甲", "乙丙丁戊"[number]],
                ),
                author="t",
            )
    client = app.test_client()
    assert client.get("/").status_code == 200  # builds the listing index
    with statements_run(app) as seen:
        page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(f'href="/posts/h{number}/"' in html for number in range(4))
    assert "#戊" in html and ">西</a>" in html
    reads = [kind for kind in _statement_kinds(seen) if kind.startswith("SELECT")]
    assert sorted(reads) == sorted(
        [
            "SELECT site_state",  # the content version
            "SELECT posts",  # the page
            "SELECT post_categories",
            "SELECT post_tags",
            "SELECT posts",  # pinned
            "SELECT links",
            "SELECT comments",  # every card's counts, one query
        ]
    ), "\n".join(" ".join(statement.split())[:160] for statement in seen)


def test_neighbours_still_give_their_tags_when_a_theme_asks(app: Flask) -> None:
    start = utcnow() - timedelta(days=3)
    with app.app_context():
        for number in range(2):
            save_post(
                PostFields(
                    title=f"第{number}篇",
                    source="正文",
                    slug=f"n{number}",
                    published_at=start + timedelta(days=number),
                    tags=[f"标签{number}"],
                    category=f"类{number}",
                ),
                author="t",
            )
        newest = queries.find_public("n1")
        assert newest is not None
        older, newer = queries.neighbours(newest)
        assert newer is None and older is not None
        assert [t.name for t in older.tags] == ["标签0"]
        assert [c.name for c in older.categories] == ["类0"]
        newest.related = [older.id]
        assert [p.tags[0].name for p in queries.related_posts(newest)] == ["标签0"]


# Two waitress processes over one PostgreSQL database


def _lowered(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _fetch(
    url: str, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), _lowered(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, "", _lowered(error.headers)


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Flask, list[str]]]:
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_HINT)
    reset_postgres(POSTGRES_URL)
    instance = tmp_path / "shared-instance"
    write_config(instance, DATABASE_URL=POSTGRES_URL, PAGE_CACHE_CHECK_MS=300)
    from blog.app import create_app
    from blog.db import upgrade

    writer = create_app(config={"PAGE_CACHE_BYTES": 0}, instance_path=instance)
    upgrade(writer)
    try:
        with ExitStack() as stack:
            # Each server picks its own port and is waited for until it says it listens.
            servers = [stack.enter_context(blog_serve(instance, "--threads", "4")) for _ in "ab"]
            urls = [server.base for server in servers]
            for url in urls:
                _fetch(url + "/", timeout=ANSWER_SECONDS)  # caches "/" as it starts serving
            yield writer, urls
    finally:
        with writer.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.postgres
def test_two_waitress_processes_never_serve_a_page_older_than_the_check_interval(
    two_servers: tuple[Flask, list[str]],
) -> None:
    writer, urls = two_servers
    with writer.app_context():
        saved = save_post(PostFields(title="第一版", source="x", slug="shared"), author="t")
        post_id = saved.id
    time.sleep(1.0)  # the servers cached "/" while starting; wait out twice the check interval
    for url in urls:
        for _round in range(2):
            status, body, _headers = _fetch(url + "/posts/shared/")
            assert status == 200 and "第一版" in body
            assert "第一版" in _fetch(url + "/")[1]
    etags = {_fetch(url + "/posts/shared/")[2]["etag"] for url in urls}

    with writer.app_context():
        stored = db.session.get(Post, post_id)
        assert stored is not None
        fields = fields_of(stored)
        fields.title = "第二版"
        save_post(fields, author="t", post=stored)
    time.sleep(1.0)  # twice PAGE_CACHE_CHECK_MS: the documented bound on staleness

    for url in urls:
        status, body, headers = _fetch(url + "/posts/shared/")
        assert "第二版" in body
        assert headers["etag"] not in etags
        assert "第二版" in _fetch(url + "/")[1]

    with writer.app_context():
        stored = db.session.get(Post, post_id)
        assert stored is not None
        trash_post(stored)
        assert db.session.scalar(select(Post.deleted_at).where(Post.id == post_id)) is not None
    time.sleep(1.0)
    for url in urls:
        assert _fetch(url + "/posts/shared/")[0] == 404
        assert "第二版" not in _fetch(url + "/")[1]
