"""Render-time cost of the math and code plugins.

Renders one 8,000-character Chinese post with 10 inline and 3 display formulas and 3
code blocks, interleaving rounds of:

* the full pipeline (``render_post`` with every built-in plugin),
* the core pipeline with only the math and code plugins (their own cost),
* the core pipeline with no plugins (Markdown with the core's extensions + sanitizer),
* bare Python-Markdown with the core's extensions,

and prints the median of each and their ratios. Run: ``python bench/render_bench.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import markdown
import tomli_w
from flask import Flask

from blog.app import create_app
from blog.config import BUILTIN_PLUGINS
from blog.db import upgrade
from blog.models import Post
from blog.render import render_post

POST_LENGTH = 8_000

INLINE = [
    r"$x_i \in \mathbb{R}^d$",
    r"$\theta^{(t+1)} = \theta^{(t)} - \eta \nabla L$",
    r"$p(y \mid x)$",
    r"$\sigma(z) = \frac{1}{1 + e^{-z}}$",
    r"$\mathbf{W} \in \mathbb{R}^{m \times n}$",
    r"$\lVert w \rVert_2^2$",
    r"$\mathbb{E}_{x \sim p}[f(x)]$",
    r"$\alpha = 0.01$",
    r"$\hat{y}_i$",
    r"$\sum_{k=1}^{K} \pi_k = 1$",
]
DISPLAY = [
    r"$$L(\theta) = -\frac{1}{N} \sum_{i=1}^{N} \left[ y_i \log \hat{y}_i + (1 - y_i) \log (1 - \hat{y}_i) \right] \tag{1}$$",  # noqa: E501
    "$$\n\\begin{aligned}\nh_t &= \\tanh(W_h h_{t-1} + W_x x_t + b) \\\\\ny_t &= \\mathrm{softmax}(W_y h_t)\n\\end{aligned}\n$$",  # noqa: E501
    "$$\nf(x) = \\begin{cases} x & x > 0 \\\\ 0.01 x & x \\le 0 \\end{cases}\n$$",
]
CODE = [
    '```python title="train.py" linenos\nimport torch\n\n\ndef train(model, loader, optimizer):\n    model.train()\n    for x, y in loader:\n        optimizer.zero_grad()\n        loss = torch.nn.functional.cross_entropy(model(x), y)\n        loss.backward()\n        optimizer.step()\n    return loss.item()\n```',  # noqa: E501
    "```bash\npip install torch numpy\npython train.py --epochs 10 --lr 0.001\n```",
    '```python hl_lines="2 3"\nimport numpy as np\nx = np.random.randn(100, 3)\nw = np.linalg.lstsq(x, x @ [1.0, 2.0, 3.0], rcond=None)[0]\nprint(w)\n```',  # noqa: E501
]
FILLER = (
    "在机器学习中，我们通常使用 gradient descent 来最小化损失函数。"
    "模型的 parameters 会在每个 epoch 中根据 mini-batch 的梯度更新，"
    "而 learning rate 的选择对收敛速度影响很大。"
)
CORE_EXTENSIONS: list[str | markdown.extensions.Extension] = [
    "extra",
    "sane_lists",
    "admonition",
    "toc",
]


def build_post() -> str:
    """Return a post of exactly POST_LENGTH characters with the advertised content."""
    blocks: list[str] = ["# 梯度下降笔记"]
    for index in range(10):
        blocks.append(f"## 第 {index + 1} 节\n\n{FILLER}其中 {INLINE[index]} 是关键的量。{FILLER}")
        if index in (1, 4, 7):
            blocks.append(DISPLAY[(index - 1) // 3])
        if index in (2, 5, 8):
            blocks.append(CODE[(index - 2) // 3])
    body = "\n\n".join(blocks)
    padding = POST_LENGTH - len(body) - 2
    filler = (FILLER * (padding // len(FILLER) + 1))[:padding]
    source = f"{body}\n\n{filler}"
    assert len(source) == POST_LENGTH
    return source


def make_app(folder: Path, plugins: list[str]) -> Flask:
    folder.mkdir(parents=True)
    settings = {"SECRET_KEY": "bench", "PLUGINS": plugins, "STRICT_PLUGINS": True}
    (folder / "config.toml").write_text(tomli_w.dumps(settings), encoding="utf-8")
    app = create_app(instance_path=folder)
    upgrade(app)
    return app


def pipeline(app: Flask, source: str) -> Callable[[], object]:
    def run() -> object:
        with app.app_context():
            return render_post(Post(source=source, title="bench"))

    return run


def bare_markdown(source: str) -> Callable[[], object]:
    return lambda: markdown.Markdown(extensions=CORE_EXTENSIONS).convert(source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    arguments = parser.parse_args()
    source = build_post()
    with tempfile.TemporaryDirectory() as temporary:
        candidates = {
            "full pipeline, all plugins": pipeline(
                make_app(Path(temporary) / "all", list(BUILTIN_PLUGINS)), source
            ),
            "core pipeline + math + code only": pipeline(
                make_app(Path(temporary) / "math-code", ["math", "code"]), source
            ),
            "core pipeline, no plugins": pipeline(make_app(Path(temporary) / "none", []), source),
            "bare Markdown (core extensions)": bare_markdown(source),
        }
        timings: dict[str, list[float]] = {name: [] for name in candidates}
        for run in candidates.values():
            run()  # warm imports and caches outside the measurement
        for _ in range(arguments.rounds):
            for name, run in candidates.items():
                started = time.perf_counter()
                run()
                timings[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    print(f"post: {len(source):,} characters, 10 inline + 3 display formulas, 3 code blocks")
    print(f"rounds: {arguments.rounds} (interleaved)")
    for name, value in medians.items():
        print(f"  {name:34} median {value:7.2f} ms")
    full, math_code, core, bare = medians.values()
    print(f"ratio full / core without plugins:        {full / core:.2f}x")
    print(f"ratio full / bare Markdown:               {full / bare:.2f}x")
    print(f"ratio math+code only / core w/o plugins:  {math_code / core:.2f}x")


if __name__ == "__main__":
    main()
