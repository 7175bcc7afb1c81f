"""A plugin with a ``Config`` dataclass; its value shows up in every rendered post."""

from __future__ import annotations

from dataclasses import dataclass, field

from blog.api import hookimpl, plugin_config

__version__ = "1.2.0"


@dataclass
class Config:
    label: str = "default label"
    repeat: int = 1
    ratio: float = 1.0
    tags: list[str] = field(default_factory=list)


@hookimpl
def blog_render_html(html: str) -> str:
    config: Config = plugin_config("configured")
    label = " ".join([config.label] * config.repeat)
    return html + f'<p class="configured">{label}</p>'
