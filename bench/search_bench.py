"""Search at scale on SQLite: latency p50/p99 at 10k posts and index size per post.

Also measures, side by side on the same text, the alternative design that was not
chosen (FTS5's trigram tokenizer): its size, and its recall on the Chinese demo queries.

    python bench/search_bench.py [--posts 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import tomli_w
from sqlalchemy import insert, select, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blog.app import create_app  # noqa: E402
from blog.config import BUILTIN_PLUGINS  # noqa: E402
from blog.db import upgrade  # noqa: E402
from blog.importer import import_paths  # noqa: E402
from blog.models import Post, db, post_tags  # noqa: E402
from blog.search import indexed_post, normalize, parse_query, rebuild_index, search  # noqa: E402

QUERIES = [
    "注",
    "梯度",
    "注意力",
    "旋转位置编码",
    "显存",
    "学习率",
    "LoRA",
    "softmax",
    "训练 GPU",
    "記憶體",
    "的",
    "optim",
    "不存在的词语",
]
RECALL_QUERIES = [
    "注意",
    "梯度",
    "显存",
    "低秩",
    "温度",
    "训练",
    "广播",
    "注意力",
    "学习率",
    "损失函数",
    "偏差修正",
    "对比学习",
    "混合精度",
    "旋转位置编码",
]


def build_site(folder: Path, posts: int) -> object:
    instance = folder / "instance"
    instance.mkdir()
    config = {"SECRET_KEY": "bench", "PLUGINS": list(BUILTIN_PLUGINS)}
    (instance / "config.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    app = create_app(config={"TESTING": True}, instance_path=instance)
    upgrade(app)
    with app.app_context():
        import_paths([REPO / "blog" / "demo"])
        demo = db.session.scalars(select(Post).where(Post.status == "published")).all()
        rows = []
        rng = random.Random(7)
        columns = [c.key for c in Post.__table__.columns if c.key not in ("id", "slug")]
        for n in range(posts - len(demo)):
            # Each copy shuffles the paragraphs of two demo posts, so texts differ.
            first, second = rng.sample(list(demo), 2)
            paragraphs = (first.body_html + second.body_html).split("</p>")
            rng.shuffle(paragraphs)
            row = {c: getattr(first, c) for c in columns}
            row.update(
                slug=f"copy-{n}", body_html="</p>".join(paragraphs), category_id=first.category_id
            )
            rows.append(row)
        for start in range(0, len(rows), 1000):
            db.session.execute(insert(Post), rows[start : start + 1000])
        db.session.commit()
        tagged = [{"post_id": i, "tag_id": 1} for i in range(len(demo) + 1, posts + 1, 7)]
        db.session.execute(insert(post_tags).prefix_with("OR IGNORE"), tagged)
        db.session.commit()
    return app


def file_size(app: object) -> int:
    db.session.execute(text("VACUUM"))
    return int(db.session.execute(text("PRAGMA page_count")).scalar() or 0) * int(
        db.session.execute(text("PRAGMA page_size")).scalar() or 0
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        app = build_site(Path(folder), args.posts)
        print(f"built {args.posts} posts in {time.perf_counter() - started:.1f}s")
        with app.app_context():  # type: ignore[attr-defined]
            db.session.execute(text("DELETE FROM search_fts"))
            db.session.execute(text("DELETE FROM search_documents"))
            db.session.commit()
            empty = file_size(app)
            started = time.perf_counter()
            count = rebuild_index()
            print(f"blog reindex: {count} posts in {time.perf_counter() - started:.1f}s")
            with_index = file_size(app)
            fts_only = with_index - int(
                db.session.execute(
                    text("SELECT sum(length(body_text)) FROM search_documents")
                ).scalar()
                or 0
            )
            print(
                f"index size: {(with_index - empty) / count:,.0f} bytes/post in total, "
                f"about {(fts_only - empty) / count:,.0f} of them the bigram FTS5 table "
                f"(the rest is plain text kept for snippets)"
            )

            latencies: dict[str, list[float]] = {q: [] for q in QUERIES}
            for _round in range(args.rounds):
                for query in QUERIES:
                    t0 = time.perf_counter()
                    search(query, 1, 10)
                    latencies[query].append((time.perf_counter() - t0) * 1000)
                    db.session.rollback()
            everything = sorted(ms for values in latencies.values() for ms in values)
            p50 = statistics.median(everything)
            p99 = everything[min(len(everything) - 1, int(len(everything) * 0.99))]
            print(
                f"search latency over {len(everything)} queries: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
            )
            for query, values in latencies.items():
                total = search(query, 1, 10).total
                print(f"  {query!r:>16}: median {statistics.median(values):7.1f} ms, {total} hits")

            # The alternative: trigram FTS5 over the same normalised text, same database.
            db.session.execute(
                text(
                    "CREATE VIRTUAL TABLE trigram_fts USING fts5(title, body, tags, category, "
                    "tokenize='trigram')"
                )
            )
            for post in db.session.scalars(select(Post).where(Post.deleted_at.is_(None))):
                entry = indexed_post(post)
                db.session.execute(
                    text(
                        "INSERT INTO trigram_fts (rowid, title, body, tags, category) "
                        "VALUES (:id, :title, :body, :tags, :category)"
                    ),
                    {"id": entry.post_id, **entry.fields},
                )
            db.session.commit()
            with_trigram = file_size(app)
            print(
                f"trigram FTS5 alternative: {(with_trigram - with_index) / count:,.0f} bytes/post "
                f"vs bigram FTS5 {(fts_only - empty) / count:,.0f} bytes/post"
            )
            found = {"bigram": 0, "trigram": 0}
            for query in RECALL_QUERIES:
                normalized = normalize(query)
                wanted = {r.slug for r in search(query, 1, 100_000).results}
                rows = (
                    db.session.execute(
                        text("SELECT count(*) FROM trigram_fts WHERE trigram_fts MATCH :q"),
                        {"q": '"' + normalized + '"'},
                    ).scalar()
                    or 0
                )
                found["bigram"] += int(len(wanted) > 0)
                found["trigram"] += int(rows > 0)
                short = (
                    " (shorter than 3 characters)"
                    if len(parse_query(normalized)[0].surface) < 3
                    else ""
                )
                print(
                    f"  recall check {query!r}: bigram {len(wanted)} posts, "
                    f"trigram MATCH {rows}{short}"
                )
            print(
                f"queries with any hit: bigram {found['bigram']}/{len(RECALL_QUERIES)}, "
                f"trigram {found['trigram']}/{len(RECALL_QUERIES)}"
            )


if __name__ == "__main__":
    main()
