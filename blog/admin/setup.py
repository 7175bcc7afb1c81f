"""Wire the admin into an application: blueprints, sessions, CSRF, limits, assets.

:func:`init_app` is called by ``create_app``; importing this module loads every admin page.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from blog.admin import (  # noqa: F401  (modules add their routes and error handlers)
    editor,
    links,
    media,
    old_urls,
    previews,
    refusals,
    revisions,
    theme_preview,
    trash,
)
from blog.admin.api import api, install_limiters
from blog.admin.auth import AdminSessionInterface, current_user, require_login
from blog.admin.blueprint import admin
from blog.admin.checks import broken_internal_links
from blog.admin.downloads import KINDS, unknown_extensions
from blog.admin.messages import field_message, human_size
from blog.admin.uploads import STORAGES, files
from blog.config import ConfigError
from blog.render import render_warnings
from blog.views import render_page

STATIC = Path(__file__).parent / "static"
csrf = CSRFProtect()


@admin.after_request
def never_cache(response: Response) -> Response:
    # Admin pages hold drafts and CSRF tokens: no shared or page cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    return render_page(
        "admin/error.html",
        status=400,
        message=f"请求缺少有效的 CSRF 令牌：{error.description} 请返回、刷新页面后重试。",
    )


def _too_large(error: RequestEntityTooLarge) -> Response | tuple[str | Response, int]:
    if request.blueprint == "admin" and current_user() is not None:
        return media.too_large()
    return error.get_response()


def init_app(app: Flask) -> None:
    """Register the admin, the API and upload serving, with sessions and CSRF set up."""
    if app.config["UPLOAD_STORAGE"] not in STORAGES:
        raise ConfigError(
            f"UPLOAD_STORAGE must be one of {', '.join(STORAGES)}, "
            f"got {app.config['UPLOAD_STORAGE']!r}"
        )
    unknown = unknown_extensions(list(app.config["UPLOAD_DOWNLOAD_EXTENSIONS"]))
    if unknown:
        raise ConfigError(
            f"UPLOAD_DOWNLOAD_EXTENSIONS: cannot check {', '.join(map(repr, unknown))}; "
            f"known kinds: {', '.join(sorted(KINDS))}"
        )
    app.session_interface = AdminSessionInterface()
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=int(app.config["SESSION_HOURS"]))
    if str(app.config.get("SITE_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    # The session already expires after SESSION_HOURS; a shorter token lifetime would make
    # a long writing session fail to save.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)

    # The login wall runs before the CSRF check, so anonymous requests get the login page.
    app.before_request(require_login)
    app.before_request(media.limit_upload_request)
    csrf.exempt(api)
    csrf.init_app(app)

    app.register_blueprint(admin)
    app.register_blueprint(api)
    app.register_blueprint(files)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    install_limiters(app)

    assets = app.extensions["blog.assets"]
    assets.register("admin", STATIC)
    app.jinja_env.globals["admin_asset"] = lambda path: assets.url("admin", path)
    app.jinja_env.globals["post_warnings"] = lambda post: render_warnings(post.render_meta)
    app.jinja_env.globals["field_message"] = field_message
    app.jinja_env.globals["broken_internal_links"] = broken_internal_links
    app.jinja_env.filters["human_size"] = human_size
