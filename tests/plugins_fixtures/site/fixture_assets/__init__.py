"""An installed plugin package (found through its entry point) shipping static/ and templates/."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blog.api import hookimpl, static_url

if TYPE_CHECKING:
    from flask import Request

__version__ = "1.4.0"


@hookimpl
def blog_head_assets(request: Request) -> list[str]:
    return [static_url("fixture_assets", "fixture.css")]


@hookimpl
def blog_template_context(request: Request, template: str) -> dict[str, Any]:
    return {"fixture_assets_greeting": "hello from a plugin partial"}
