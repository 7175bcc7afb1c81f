"""The public API for plugins: everything a plugin imports from the core comes from here.

Plugins implement hooks from :mod:`blog.hookspecs` with :data:`hookimpl`, read their
validated configuration with :func:`plugin_config`, and link their static files with
:func:`static_url`. ``API_VERSION`` follows semantic versioning: a plugin may declare
``REQUIRES_API = "1"`` (a major version) and is refused by an incompatible core.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context

from blog.hookspecs import API_VERSION, hookimpl

__all__ = [
    "API_VERSION",
    "NO_CONVERT_ATTRIBUTE",
    "current_variant",
    "hookimpl",
    "plugin_config",
    "static_url",
]

#: Elements carrying ``translate="no"`` (the HTML attribute that means "do not
#: translate this") are skipped by every text transform: script conversion,
#: typography, excerpt wording. Math and code output carry it.
NO_CONVERT_ATTRIBUTE = ("translate", "no")


def plugin_config(name: str) -> Any:
    """Return the validated configuration object of plugin ``name`` for the current app.

    It is an instance of the plugin's ``Config`` dataclass, filled from the
    ``[plugins.<name>]`` table of ``config.toml``; plugins without ``Config`` get ``None``.
    """
    return current_app.extensions["blog.plugins"].config_for(name)


def static_url(plugin: str, path: str) -> str:
    """Return the content-hashed, cache-forever URL of ``path`` in plugin's ``static/``."""
    return str(current_app.extensions["blog.assets"].url(f"plugins/{plugin}", path))


def current_variant() -> str | None:
    """Return the variant selected for the current request (``None`` outside requests)."""
    if not has_request_context():
        return None
    return g.get("variant")
