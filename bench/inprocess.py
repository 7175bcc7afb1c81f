"""Measurements that need no server: save time, import time, listing page boundaries."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bench.site import build_site, demo_sized_documents, new_app, write_instance
from blog import queries
from blog.importer import import_paths
from blog.models import Post, db
from blog.posts import PostFields, save_post

PARAGRAPH = (
    "在训练 Transformer 的时候，我们通常会用 AdamW 优化器配合 warmup 学习率调度，"
    "这样做的原因是早期梯度的方差很大，直接用较大的学习率容易让 loss 发散。"
)
INLINE = [
    r"$\alpha_{t}$",
    r"$\sqrt{d_k}$",
    r"$\mathbb{E}[x^2]$",
    r"$\beta_1=0.9$",
    r"$\frac{1}{n}\sum_i x_i$",
    r"$\nabla_\theta L$",
    r"$\epsilon$",
    r"$W_q K^\top$",
    r"$\log p(y\mid x)$",
    r"$\sigma(z)$",
]
DISPLAY = [
    r"$$\mathrm{Attention}(Q,K,V)=\mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$",
    r"$$m_t=\beta_1 m_{t-1}+(1-\beta_1)g_t,\quad \hat m_t=\frac{m_t}{1-\beta_1^t}$$",
    r"$$\mathcal{L}=-\sum_{i=1}^{N}\log\frac{\exp(s_{ii}/\tau)}{\sum_j \exp(s_{ij}/\tau)}$$",
]
CODE = [
    "```python\nimport torch\n\ndef scaled_dot(q, k, v):\n    w = q @ k.transpose(-2, -1)\n"
    "    w = w / q.size(-1) ** 0.5\n    return w.softmax(-1) @ v\n```",
    "```python\nfor step, batch in enumerate(loader):\n    loss = model(**batch).loss\n"
    "    loss.backward()\n    optimizer.step()\n    optimizer.zero_grad()\n```",
    "```bash\ntorchrun --nproc_per_node 8 train.py --lr 3e-4 --warmup 2000\n```",
]


def save_time_post(target_chars: int = 8_000) -> str:
    """An 8,000-character post with 10 inline and 3 display formulas and 3 code blocks."""
    blocks = []
    for number in range(10):
        blocks.append(
            f"## 第{number + 1}节\n\n{PARAGRAPH}其中 {INLINE[number]} 是关键量。{PARAGRAPH}"
        )
        if number < 3:
            blocks.append(DISPLAY[number])
            blocks.append(CODE[number])
    text = "\n\n".join(blocks)
    filler: list[str] = []
    while len(text) + len(PARAGRAPH) * len(filler) < target_chars:
        filler.append(PARAGRAPH)
    return text + "\n\n" + "\n\n".join(filler)


@dataclass
class Timing:
    median_ms: float
    samples: int


def measure_save(folder: Path, rounds: int) -> Timing:
    """Median wall time of ``save_post`` (render, revision, commit) on one post, re-saved."""
    app = new_app(write_instance(folder), PAGE_CACHE_BYTES=0)
    source = save_time_post()
    times = []
    with app.app_context():
        post = None
        for number in range(rounds + 1):
            fields = PostFields(
                title="保存基准", source=source + f"\n\n第{number}次保存。", slug="save-bench"
            )
            started = time.perf_counter()
            post = save_post(fields, author="bench", post=post)
            elapsed = time.perf_counter() - started
            if number:  # the first save also warms converters and imports
                times.append(elapsed * 1000)
        db.session.remove()
    return Timing(statistics.median(times), len(times))


@dataclass
class ImportFigure:
    posts: int
    seconds: float
    failures: int


def measure_import(folder: Path, count: int) -> ImportFigure:
    documents = demo_sized_documents(folder / "documents", count)
    app = new_app(write_instance(folder / "instance"), PAGE_CACHE_BYTES=0)
    with app.app_context():
        report = import_paths([documents], author="bench")
        db.session.remove()
    return ImportFigure(report.imported, report.seconds, len(report.failures))


@dataclass
class ListingFigures:
    posts: int
    build_ms: float
    first_ms: float
    far_ms: float
    far_page: int
    offset_far_ms: float


def measure_listings(
    folder: Path, posts: int, rounds: int = 21, per_page: int = 10
) -> tuple[ListingFigures, Path]:
    """Time page 1 and a far page of the home listing through ``listing_page`` (keyset)."""
    site = build_site(folder, posts, short_bodies=True)
    far_page = max(1, min(5_000, posts // per_page))
    with site.app.app_context():
        started = time.perf_counter()
        queries.listing_index(per_page)
        build_ms = (time.perf_counter() - started) * 1000
        first: list[float] = []
        far: list[float] = []
        offset: list[float] = []
        for _round in range(rounds):
            for number, bucket in ((1, first), (far_page, far)):
                started = time.perf_counter()
                page = queries.listing_page(number, per_page)
                bucket.append((time.perf_counter() - started) * 1000)
                assert page is not None and len(page.posts) == per_page
                db.session.expunge_all()
            started = time.perf_counter()
            db.session.scalars(
                queries.listing_query()
                .order_by(Post.published_at.desc(), Post.id.desc())
                .offset((far_page - 1) * per_page)
                .limit(per_page)
            ).all()
            offset.append((time.perf_counter() - started) * 1000)
            db.session.expunge_all()
        assert db.session.scalar(select(db.func.count(Post.id))) is not None
        db.session.remove()
    return (
        ListingFigures(
            posts=posts,
            build_ms=build_ms,
            first_ms=statistics.median(first),
            far_ms=statistics.median(far),
            far_page=far_page,
            offset_far_ms=statistics.median(offset),
        ),
        site.instance,
    )
