"""Related posts: chosen right after a save commits from shared tags and the search index,
refreshed for neighbours and by ``blog reindex``/``blog rerender``, filtered when shown
(SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, insert, select
from werkzeug.test import TestResponse

from blog.importer import import_paths
from blog.models import DRAFT, PUBLISHED, Post, Tag, db, post_tags
from blog.posts import PostFields, fields_of, save_post, trash_post
from blog.related import RELATED_COUNT, TEXT_CANDIDATES, deferred, refresh_all, related_ids
from tests.admin_support import create_user, csrf_token, editor_form, login
from tests.test_themes import Element, parse

ATTENTION = (
    "注意力机制让模型在生成每个词时关注输入序列中最相关的位置。"
    "自注意力与多头注意力是 Transformer 的核心。"
)
ATTENTION_TOO = "多头注意力把注意力机制并行做几次，Transformer 的编码器和解码器都用到自注意力。"
NOODLES = "Hand-pulled noodles need flour, water, salt and patience; the soup is beef bone broth."


def related_titles(app: Flask, post: Post) -> list[str]:
    response = app.test_client().get(f"/posts/{quote(post.slug)}/")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    found = page.with_class("related-posts")
    if not found:
        return []
    assert "相关文章" in found[0].text
    links = [e for e in _descendants(found[0]) if e.tag == "a"]
    assert all(a.attrs["href"].startswith("/posts/") for a in links)
    return [a.text.strip() for a in links]


def _descendants(element: Element) -> list[Element]:
    out: list[Element] = []
    stack = list(element.children)
    while stack:
        item = stack.pop(0)
        out.append(item)
        stack.extend(item.children)
    return out


def stored_related(app: Flask, post_id: int) -> list[int]:
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None
        return list(post.related or [])


def test_shared_tags_and_similar_text_make_posts_related(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    tagged = make_post(ATTENTION_TOO, title="多头注意力", tags=["transformer"])
    noodles = make_post(NOODLES, title="Beef noodles", tags=["cooking"])
    untagged = make_post("自注意力机制的计算复杂度是序列长度的平方。", title="注意力的代价")
    post = make_post(ATTENTION, title="注意力机制入门", tags=["transformer", "nlp"])

    titles = related_titles(app, post)
    assert titles[:1] == ["多头注意力"]  # shared tag and shared words
    assert "注意力的代价" in titles
    assert "Beef noodles" not in titles
    # The earlier posts were refreshed when the new one was saved: it is theirs now too.
    assert post.id in stored_related(app, tagged.id)
    assert post.id in stored_related(app, untagged.id)
    assert post.id not in stored_related(app, noodles.id)


def test_hidden_posts_are_never_shown_and_drafts_join_once_published(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    post = make_post(ATTENTION, title="注意力机制入门", tags=["transformer"])
    gone = make_post(ATTENTION_TOO, title="将删除", tags=["transformer"])
    draft = make_post(ATTENTION_TOO + "草稿。", title="草稿", tags=["transformer"], status=DRAFT)
    page = make_post(
        "只是一个关于注意力机制的页面。", title="关于", kind="page", tags=["transformer"]
    )
    assert related_titles(app, post) == ["将删除"]
    assert page.id not in stored_related(app, post.id)
    assert draft.id not in stored_related(app, post.id)

    with app.app_context():
        trash_post(db.session.get(Post, gone.id))
    assert related_titles(app, post) == []

    with app.app_context():
        stored = db.session.get(Post, draft.id)
        fields = fields_of(stored)
        fields.status = "published"
        save_post(fields, author="test", post=stored, expected_version=stored.version)
    assert related_titles(app, post) == ["草稿"]


def test_reindex_and_rerender_choose_every_list_again(
    make_app: Callable[..., Flask], run_cli: Callable[..., Result]
) -> None:
    # The CLI opens the instance's own database: SQLite here.
    app = make_app()
    with app.app_context():
        first = save_post(
            PostFields(title="注意力机制入门", source=ATTENTION, tags=["transformer"]), author="t"
        )
        save_post(
            PostFields(title="多头注意力", source=ATTENTION_TOO, tags=["transformer"]), author="t"
        )
        first_id = first.id

    def forget_all() -> None:
        with app.app_context():
            for post in db.session.query(Post):
                post.related = []
            db.session.commit()

    forget_all()
    assert stored_related(app, first_id) == []
    result = run_cli("reindex")
    assert result.exit_code == 0, result.output
    assert "chose related posts for 2 posts" in result.output
    assert len(stored_related(app, first_id)) == 1
    forget_all()
    result = run_cli("rerender")
    assert result.exit_code == 0, result.output
    assert "chose related posts for 2 posts" in result.output
    assert len(stored_related(app, first_id)) == 1


def test_related_list_is_capped_and_ordered_by_strength(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    for n in range(7):
        make_post(ATTENTION_TOO + f"第 {n} 篇。", title=f"弱相关 {n}")
    strong = make_post(ATTENTION_TOO, title="强相关", tags=["transformer", "attention"])
    post = make_post(ATTENTION, title="主文", tags=["transformer", "attention"])
    titles = related_titles(app, post)
    assert len(titles) == 5
    assert titles[0] == "强相关"
    assert strong.id == stored_related(app, post.id)[0]


def test_trashing_a_post_chooses_again_the_lists_that_showed_it(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    # Relatedness is not mutual: five close posts fill the trashed post's own list, so
    # the post that lists it is not among them and is found by its list alone.
    for n in range(5):
        make_post(ATTENTION_TOO + f"第 {n} 篇。", title=f"近邻 {n}", tags=["a", "b"])
    other = make_post("手工拉面的做法。", title="另一篇", tags=["p"])
    gone = make_post(ATTENTION_TOO, title="将删除", tags=["a", "b", "p"])
    post = make_post("一篇只与标签有关的短文。", title="读者", tags=["p"])
    assert post.id not in stored_related(app, gone.id)
    assert gone.id in stored_related(app, post.id)

    with app.app_context():
        assert trash_post(db.session.get(Post, gone.id))
    assert gone.id not in stored_related(app, post.id)
    assert other.id in stored_related(app, post.id)
    assert stored_related(app, gone.id) == []
    assert "将删除" not in related_titles(app, post)


def test_a_refresh_of_every_list_chooses_what_each_save_chose(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    # More posts share the common tag than the grouped query keeps per post
    # (RELATED_COUNT + TEXT_CANDIDATES), so its LIMIT is exercised; hidden posts and pages
    # never count. Most posts are copies inserted in bulk (tags only, no index entry).
    with app.app_context():
        for title, status, kind in (("原文", PUBLISHED, "post"), ("草稿", DRAFT, "post")):
            save_post(
                PostFields(
                    title=title, source=ATTENTION, tags=["common"], status=status, kind=kind
                ),
                author="t",
            )
        save_post(
            PostFields(title="页面", source=ATTENTION, tags=["common"], kind="page"), author="t"
        )
        template = db.session.execute(select(Post.__table__).where(Post.title == "原文")).one()
        tag_ids = {tag.name: tag.id for tag in db.session.scalars(select(Tag))}
        copies = RELATED_COUNT + TEXT_CANDIDATES + 5
        first_id = int(db.session.scalar(select(func.max(Post.id))) or 0) + 1
        rows, links = [], []
        for n in range(copies):
            post_id = first_id + n
            rows.append({**template._asdict(), "id": post_id, "slug": f"copy-{n}"})
            names = ["common", f"pair-{n // 2}"] + (["third"] if n % 3 == 0 else [])
            for name in names:
                if name not in tag_ids:
                    db.session.add(tag := Tag(name=name))
                    db.session.flush()
                    tag_ids[name] = tag.id
                links.append({"post_id": post_id, "tag_id": tag_ids[name]})
        db.session.execute(insert(Post.__table__), rows)
        db.session.execute(insert(post_tags), links)
        db.session.commit()

        posts = list(db.session.scalars(select(Post).where(Post.kind == "post")))
        # The saved posts and a few copies (each choice costs queries: kept few for speed).
        by_save = {post.id: related_ids(post) for post in posts if post.id <= first_id + 5}
        assert refresh_all() == len(posts) + 1  # and the page
        db.session.expire_all()
        for post in db.session.scalars(select(Post).where(Post.id.in_(list(by_save)))):
            assert list(post.related or []) == by_save[post.id], post.slug
        hidden = {p.id for p in posts if p.status == DRAFT} | {first_id - 1}
        assert all(not hidden & set(ids) for ids in by_save.values())
        assert all(len(ids) == RELATED_COUNT for ids in by_save.values())
        # The copy sharing the rare "pair-0" tag outranks every copy sharing only "common"
        # (the original, with its indexed text, may come first).
        assert next(i for i in by_save[first_id] if i >= first_id) == first_id + 1


TOPICS = [
    ("注意力机制入门", ATTENTION, "transformer"),
    ("多头注意力", ATTENTION_TOO, "transformer"),
    ("Beef noodles", NOODLES, "cooking"),
    ("拉面的汤", "Beef bone broth for hand-pulled noodles: simmer the soup for hours.", "cooking"),
]


def write_posts(folder: Path, copies: int) -> Path:
    """``copies`` posts of each topic, as Markdown files with front matter."""
    folder.mkdir()
    for n in range(copies):
        for number, (title, body, tag) in enumerate(TOPICS):
            text = f"---\ntitle: {title} {n}\nslug: t{number}-{n}\ntags: [{tag}]\n---\n{body}\n"
            (folder / f"{number}-{n}.md").write_text(text, encoding="utf-8")
    return folder


@contextmanager
def index_reads(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run meanwhile that read the search index's token counts/posts."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "search_fts MATCH" in statement or "@@ CAST(q.query" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_an_import_chooses_each_list_once_at_the_end(app: Flask, tmp_path: Path) -> None:
    # An older post on the topic: the import must add the new posts to its list too.
    with app.app_context():
        older = save_post(
            PostFields(title="注意力的代价", source=ATTENTION, tags=["transformer"]), author="t"
        ).id
    folder = write_posts(tmp_path / "posts", copies=3)
    with index_reads(app) as reads, app.app_context():
        report = import_paths([folder], author="t", jobs=1)
    assert report.imported == 12 and not report.failures
    # Refreshing at each save (the post and up to ten neighbours) read the index 44 times
    # here (SQLite); choosing once at the end reads at most two times per post.
    assert 0 < len(reads) <= 2 * report.imported + 2
    with app.app_context():
        posts = list(db.session.scalars(select(Post).order_by(Post.id)))
        stored = {post.id: list(post.related or []) for post in posts}
        titles = {post.id: post.title for post in posts}
        # Every list is the one a full refresh chooses now: none was chosen half-way.
        refresh_all()
        db.session.expire_all()
        assert {p.id: list(p.related or []) for p in db.session.scalars(select(Post))} == stored
    assert any(titles[pid].startswith("多头注意力") for pid in stored[older])
    for post_id, related in stored.items():
        topic = titles[post_id].split()[0]
        near = {"注意力机制入门", "多头注意力", "注意力的代价"}
        same = near if topic in near else {"Beef", "拉面的汤"}
        assert related and all(titles[pid].split()[0] in same for pid in related), titles[post_id]


def test_saves_inside_deferred_get_their_lists_when_it_ends(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    first = make_post(ATTENTION, title="注意力机制入门", tags=["transformer"])
    with app.app_context():
        with deferred():
            second = save_post(
                PostFields(title="多头注意力", source=ATTENTION_TOO, tags=["transformer"]),
                author="t",
            ).id
            assert stored_related(app, second) == []
            assert stored_related(app, first.id) == []
        assert stored_related(app, second) == [first.id]
        assert stored_related(app, first.id) == [second]


def test_a_deferred_block_left_by_an_error_chooses_nothing(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    first = make_post(ATTENTION, title="注意力机制入门", tags=["transformer"])
    with app.app_context():
        try:
            with deferred():
                save_post(
                    PostFields(title="多头注意力", source=ATTENTION_TOO, tags=["transformer"]),
                    author="t",
                )
                raise KeyError("stop")
        except KeyError:
            pass
    assert stored_related(app, first.id) == []


def test_related_posts_on_either_side_leave_the_neighbours_the_nearest_posts(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    """Previous/next and the related list are read together: a related post further away
    (or the neighbour itself) changes neither the navigation nor the related order."""
    start = datetime(2026, 1, 1, 8, 0)
    posts = [
        make_post(
            f"{name}篇的正文",
            title=f"{name}篇",
            slug=f"p{n}",
            published_at=start + timedelta(days=n),
        )
        for n, name in enumerate("甲乙丙丁戊")
    ]
    middle = posts[2]
    with app.app_context():
        stored = db.session.get(Post, middle.id)
        assert stored is not None
        # Stored best first: the far newer one, the far older one, then the older neighbour.
        stored.related = [posts[4].id, posts[0].id, posts[1].id]
        db.session.commit()
    response = app.test_client().get("/posts/p2/")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    previous = page.find("a", rel="prev")
    following = page.find("a", rel="next")
    assert [a.attrs["href"] for a in previous] == ["/posts/p1/"]
    assert [a.attrs["href"] for a in following] == ["/posts/p3/"]
    assert related_titles(app, middle) == ["戊篇", "甲篇", "乙篇"]


def logged_in(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def publish_over_http(
    client: FlaskClient, title: str, source: str, tags: str
) -> tuple[int, TestResponse]:
    """Publish a new post from the editor; return its id and the response, left unclosed
    as by a server that has not finished sending it."""
    form = editor_form(title=title, source=source, tags=tags, action="publish")
    response = client.post(
        "/admin/posts/new", data={"csrf_token": csrf_token(client, "/admin/posts/new"), **form}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-2]), response


def test_a_save_over_http_chooses_the_lists_once_its_response_is_closed(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    first = make_post(ATTENTION, title="注意力机制入门", tags=["transformer"])
    client = logged_in(app)
    second, response = publish_over_http(client, "多头注意力", ATTENTION_TOO, "transformer")
    # The writer had the answer before any list was chosen: the save only noted the post.
    assert stored_related(app, second) == []
    assert stored_related(app, first.id) == []
    response.close()
    assert stored_related(app, second) == [first.id]
    assert stored_related(app, first.id) == [second]
    assert related_titles(app, first) == ["多头注意力"]


def test_a_page_read_after_an_unsent_save_response_shows_the_new_lists(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    first = make_post(ATTENTION, title="注意力机制入门", tags=["transformer"])
    client = logged_in(app)
    second, _ = publish_over_http(client, "多头注意力", ATTENTION_TOO, "transformer")
    # The app's next request chooses what this process's save left, before it is served.
    assert related_titles(app, first) == ["多头注意力"]
    assert stored_related(app, second) == [first.id]


def test_a_trash_over_http_takes_the_post_out_of_every_list_at_once(
    app: Flask, make_post: Callable[..., Post]
) -> None:
    first = make_post(ATTENTION, title="注意力机制入门", tags=["transformer"])
    gone = make_post(ATTENTION_TOO, title="将删除", tags=["transformer"])
    other = make_post("自注意力机制的计算复杂度是序列长度的平方。", title="注意力的代价")
    assert gone.id in stored_related(app, first.id)
    client = logged_in(app)
    response = client.post(
        f"/admin/posts/{gone.id}/trash", data={"csrf_token": csrf_token(client, "/admin/")}
    )
    assert response.status_code == 302
    # Chosen in the trash's own transaction, not after its response.
    assert gone.id not in stored_related(app, first.id)
    assert other.id in stored_related(app, first.id)
    assert "将删除" not in related_titles(app, first)
    assert "将删除" not in related_titles(app, other)


def test_lists_a_crash_left_unchosen_are_chosen_by_the_next_save_and_by_rerender(
    make_app: Callable[..., Flask], run_cli: Callable[..., Result]
) -> None:
    # The CLI opens the instance's own database: SQLite here.
    before_crash = make_app()
    with before_crash.app_context():
        first_id = save_post(
            PostFields(title="注意力机制入门", source=ATTENTION, tags=["transformer"]), author="t"
        ).id
    client = logged_in(before_crash)
    second, _ = publish_over_http(client, "多头注意力", ATTENTION_TOO, "transformer")
    # The process dies here: its response is never closed, it serves no other request.
    after = make_app()
    assert stored_related(after, first_id) == []
    # A new process's save chooses every list left noted, its own and the crashed one's.
    with after.app_context():
        noodles = save_post(
            PostFields(title="Beef noodles", source=NOODLES, tags=["cooking"]), author="t"
        ).id
    assert stored_related(after, first_id) == [second]
    assert stored_related(after, second) == [first_id]
    assert noodles not in stored_related(after, first_id)

    third, _ = publish_over_http(
        logged_in_again(after), "注意力的代价", "自注意力机制的计算复杂度是序列长度的平方。", ""
    )
    # Another crash; `blog rerender` chooses every list, the noted ones included.
    assert third not in stored_related(after, first_id)
    result = run_cli("rerender")
    assert result.exit_code == 0, result.output
    assert third in stored_related(after, first_id)
    assert first_id in stored_related(after, third)


def logged_in_again(app: Flask) -> FlaskClient:
    """A client of ``app`` logged in as the editor an earlier :func:`logged_in` created."""
    client = app.test_client()
    assert login(client).status_code == 302
    return client
