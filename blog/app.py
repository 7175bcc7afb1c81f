"""The application factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from blog import db as database
from blog import feeds, fragments, health, posts, preview_links, protected, render_budget, views
from blog.admin.setup import csrf as admin_csrf
from blog.admin.setup import init_app as init_admin
from blog.assets import Assets
from blog.cache import install_page_cache
from blog.comments.setup import init_app as init_comments
from blog.config import ConfigError, load_config
from blog.dates import format_date, format_datetime
from blog.display import display_text
from blog.fragments import FragmentCache
from blog.i18n import EXTENSION as I18N_EXTENSION
from blog.i18n import install_template_gettext, load_translations, ui_plural_form, ui_text
from blog.metrics import install_metrics
from blog.plugins import Plugins, plugin_static_dirs, plugin_template_dirs
from blog.reading import reading_aids
from blog.render import render_fingerprint
from blog.search import page as search_page
from blog.textscan import TEXT_FRAGMENTS_KEY
from blog.themes import check_required_templates, discover_themes, template_loader, theme_chain
from blog.validation import (
    LimitedJSONProvider,
    refuse_undecodable_form,
    refuse_unstorable_request_text,
)
from blog.variants import ENVIRON_KEY, VariantPrefixMiddleware

logger = logging.getLogger("blog")

SECURITY_HEADERS = {
    # No inline script anywhere: themes and plugins ship their JavaScript as files.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https:; "
        "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}
FILTERED_MIMETYPES = ("text/html", "application/atom+xml", "application/xml", "text/xml")
_FRAGMENT_START = fragments.START.encode()


def default_instance_path() -> Path:
    return Path(os.environ.get("BLOG_INSTANCE", "instance")).resolve()


def create_app(
    config: dict[str, Any] | None = None, instance_path: Path | str | None = None
) -> Flask:
    """Create the blog application for the instance folder ``instance_path``.

    Configuration precedence: defaults < ``instance/config.toml`` < ``BLOG_*`` environment
    variables < ``config``. Raises :class:`ConfigError` naming the key and file on bad input.
    """
    instance = Path(instance_path).resolve() if instance_path else default_instance_path()
    settings, plugin_tables, sources = load_config(instance, config)
    if not settings["SECRET_KEY"]:
        raise ConfigError(
            f"{instance / 'config.toml'}: SECRET_KEY is missing; run `blog init` to create it"
        )

    app = Flask("blog", instance_path=str(instance), static_folder=None)
    app.json = LimitedJSONProvider(app)
    app.config.update(settings)
    app.config["SQLALCHEMY_DATABASE_URI"] = database.database_url(settings, instance)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    database.init_app(app)

    plugins = Plugins(strict=bool(settings["STRICT_PLUGINS"]))
    plugins.load(instance, list(settings["PLUGINS"]), plugin_tables, sources)
    app.extensions["blog.plugins"] = plugins
    app.extensions[TEXT_FRAGMENTS_KEY] = FragmentCache()

    themes = discover_themes(instance)
    chain = theme_chain(themes, str(settings["THEME"]))
    loader = template_loader(chain, instance, plugin_template_dirs(plugins))
    app.jinja_loader = loader
    app.extensions["blog.themes"] = themes
    app.extensions["blog.theme_chain"] = chain

    assets = Assets()
    for theme in chain:
        if theme.static.is_dir():
            assets.register("theme", theme.static)
    for name, folder in plugin_static_dirs(plugins).items():
        assets.register(f"plugins/{name}", folder)
    app.extensions["blog.assets"] = assets
    app.jinja_env.globals["asset_url"] = lambda path: assets.url("theme", path)
    app.jinja_env.globals["theme_options"] = _merged_options(chain)
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.globals["reading_aids"] = reading_aids
    app.jinja_env.filters["display"] = display_text
    # Stored HTML shown as it is (a post's body), marked for the text filters' cache.
    app.jinja_env.filters["fragment"] = fragments.mark
    # Unformatted messages for words a page hands to its scripts (search.js).
    app.jinja_env.globals["ui_text"] = ui_text
    app.jinja_env.globals["ui_plural_form"] = ui_plural_form
    translations = load_translations([t.folder for t in chain], str(settings["UI_LANGUAGE"]))
    app.extensions[I18N_EXTENSION] = translations
    install_template_gettext(app.jinja_env, translations)
    check_required_templates(chain, app.jinja_env)

    app.register_blueprint(health.health)
    app.register_blueprint(views.public)
    app.register_blueprint(preview_links.previews)
    app.register_blueprint(feeds.feeds)
    app.register_blueprint(search_page.pages)
    views.register_error_pages(app)
    render_budget.init_app(app)
    init_admin(app)
    init_comments(app, admin_csrf)
    protected.init_app(app, admin_csrf)
    plugins.hooks.blog_register_routes(app=app)

    variants: list[str] = []
    with app.app_context():
        for names in plugins.hooks.blog_variants():
            variants.extend(n for n in names if n not in variants)
    app.extensions["blog.variants"] = variants

    # First of all: the CSRF and login checks registered above parse the form, after which
    # its raw bytes can no longer be checked for invalid UTF-8.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_undecodable_form)
    app.before_request(refuse_unstorable_request_text)
    app.before_request(_select_variant)
    app.before_request(views.redirect_old_query)
    posts.init_app(app)  # after the checks above: a refused request chooses nothing
    app.after_request(_filter_response)

    with app.app_context():
        app.extensions["blog.render_fingerprint"] = render_fingerprint()
        plugins.start(app)

    routed = VariantPrefixMiddleware(app.wsgi_app, variants)
    app.wsgi_app = assets.wrap(  # type: ignore[method-assign]
        install_page_cache(app, routed, variants), SECURITY_HEADERS
    )
    app.wsgi_app = install_metrics(app, app.wsgi_app)  # type: ignore[method-assign,assignment]
    proxies = int(settings["PROXY_COUNT"])
    if proxies > 0:
        # Outermost, so the page cache, rate limits and logs all see the client's address
        # and scheme. Only the last PROXY_COUNT hops are believed: anything a client writes
        # into X-Forwarded-For before them is ignored, and with 0 the header is not read.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    return app


def close_app(app: Flask) -> None:
    """Release what ``app`` holds outside requests: the page-file watcher thread, the idle
    render workers and the database connections. A served process simply exits; tests and
    programs that build many apps in one process call this, or each app's threads keep
    polling its database and its workers wait out their idle time.
    """
    cache = app.extensions.get("blog.page_cache")
    if cache is not None:
        cache.close()
    render_budget.worker_pool().close()
    with app.app_context():
        database.db.session.remove()
        database.db.engine.dispose()


def _merged_options(chain: list[Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for theme in reversed(chain):
        options.update(theme.options)
    return options


def _select_variant() -> None:
    plugins: Plugins = current_app.extensions["blog.plugins"]
    prefixed = request.environ.get(ENVIRON_KEY)
    g.variant_prefixed = prefixed is not None
    g.variant = prefixed
    if prefixed is None and current_app.extensions["blog.variants"]:
        g.variant = plugins.hooks.blog_request_variant(request=request)


def _filter_response(response: Response) -> Response:
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    if response.direct_passthrough or response.mimetype not in FILTERED_MIMETYPES:
        return response
    plugins: Plugins = current_app.extensions["blog.plugins"]
    plugins.transform_text(request, response, current_app.extensions[TEXT_FRAGMENTS_KEY])
    filtered: Response = plugins.chain(
        "blog_response_filter", "response", response, request=request
    )
    if filtered.direct_passthrough:
        return filtered
    if _FRAGMENT_START in filtered.get_data():
        filtered.set_data(fragments.unmark(filtered.get_data(as_text=True)))
    return filtered
