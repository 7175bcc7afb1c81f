"""Reading-time badge: "约 5 分钟读完" above every post.

The estimate is made once, when a post is saved, and stored with the post; a theme
template shows it by including ``reading_badge.html``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blog.api import hookimpl, plugin_config, static_url

if TYPE_CHECKING:
    from flask import Request

    from blog.models import Post

__version__ = "1.0.0"
REQUIRES_API = "1"

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*")


@dataclass
class Config:
    """The ``[plugins.reading_badge]`` table of ``config.toml``."""

    chars_per_minute: int = 400
    words_per_minute: int = 200
    label: str = "约 {minutes} 分钟读完"


def reading_minutes(source: str, config: Config) -> int:
    """Minutes to read ``source``: Chinese characters and Latin words, at least one."""
    chars = len(HAN.findall(source))
    words = len(LATIN_WORD.findall(HAN.sub(" ", source)))
    return max(1, math.ceil(chars / config.chars_per_minute + words / config.words_per_minute))


@hookimpl
def blog_post_metadata(post: Post, html: str) -> dict[str, Any]:
    config: Config = plugin_config("reading_badge") or Config()
    minutes = reading_minutes(post.source, config)
    return {"reading_badge": config.label.format(minutes=minutes)}


@hookimpl
def blog_head_assets(request: Request) -> list[str]:
    return [static_url("reading_badge", "reading-badge.css")]
