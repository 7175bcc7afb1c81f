"""The floor of a dynamic page, as a ladder of apps that ``bench.miss_bench`` serves beside
hello-world under the same waitress, each rung adding one thing a cache miss does.

- :func:`bare_app`: a bare Flask app (no app factory) that reads the post through the ORM and
  renders a one-line template. ``/posts/<slug>/`` is session 6's floor as it was written, with
  ``render_template_string``, which compiles its template anew on every request (about 0.4 ms
  of CPU); ``/compiled/<slug>/`` renders the same template compiled once, and
  ``/memory/<slug>/`` renders it over a body held in memory (what the page's size costs).
- :func:`ladder_app`: the blog's own app (``create_app``: its middleware, before/after
  request hooks, security headers, response filters; page cache off) with these routes:

  - ``/floor/memory/<slug>/``: the one-line template over a body held in memory, no database;
  - ``/floor/orm/<slug>/``: + one select of the post through Flask-SQLAlchemy's ORM;
  - ``/floor/core/<slug>/``: the same select as a Core statement (rows, no ORM objects);
  - ``/floor/dbapi/<slug>/``: the same SQL on a raw DB-API cursor from the pool;
  - ``/floor/theme/<slug>/``: the Core select, rendered in a template that extends the base
    theme's ``base.html`` with the stored body, through ``views.render_page`` as real pages
    are (site context, head assets, the links-page statement, template context hooks);
  - and the blog's real ``/posts/<slug>/``, on the same server.

``BENCH_FLOOR_INSTANCE`` names the instance folder whose database both read. Served with
``waitress --call bench.floor:ladder_app`` (or ``bare_app``).
"""

import os
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, render_template_string
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from blog import db as database
from blog import views
from blog.app import create_app
from blog.models import Post, db

PAGE = "<!DOCTYPE html><title>{{ post.title }}</title><article>{{ post.body_html|safe }}</article>"
#: A page of the base theme around the stored body: its head, header, navigation, switcher
#: and footer, none of the post page's own parts.
THEME_PAGE = (
    '{% extends "base.html" %}{% block title %}{{ stored.title|display }}{% endblock %}'
    '{% block content %}<article class="post"><h1>{{ stored.title|display }}</h1>'
    '<div class="post-body">{{ stored.body_html|fragment }}</div></article>{% endblock %}'
)
#: The post alone, as an ORM object: its relationships are not loaded (one statement).
ORM_POST = select(Post).where(Post.slug == bindparam("slug")).options(lazyload("*"))
#: The same columns as a Core statement on the table: rows come back, no objects are built.
POSTS = Post.__table__
CORE_POST = select(POSTS).where(POSTS.c.slug == bindparam("slug"))


def _instance() -> Path:
    return Path(os.environ["BENCH_FLOOR_INSTANCE"])


def bare_app() -> Flask:
    """Session 6's floor: Flask, Flask-SQLAlchemy, one ORM select and a one-line page."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database.database_url({}, _instance())
    database.init_app(app)
    page = app.jinja_env.from_string(PAGE)

    with app.app_context():
        in_memory = {row.slug: row for row in db.session.execute(select(POSTS))}

    @app.route("/memory/<slug>/")
    def memory(slug: str) -> str:
        if slug not in in_memory:
            abort(404)
        return page.render(post=in_memory[slug])

    @app.route("/posts/<slug>/")
    def post(slug: str) -> str:
        found = db.session.scalar(ORM_POST, {"slug": slug})
        if found is None:
            abort(404)
        return render_template_string(PAGE, post=found)

    @app.route("/compiled/<slug>/")
    def compiled(slug: str) -> str:
        found = db.session.scalar(ORM_POST, {"slug": slug})
        if found is None:
            abort(404)
        return page.render(post=found)

    return app


def ladder_app() -> Flask:
    """The blog's app with one route per rung (see the module docstring)."""
    app = create_app(config={"PAGE_CACHE_BYTES": 0}, instance_path=_instance())
    themes = app.jinja_loader
    assert themes is not None  # create_app sets the theme chain's loader
    # Searched first, so views.render_page finds the theme rung's template by name.
    app.jinja_loader = ChoiceLoader([DictLoader({"floor.html": THEME_PAGE}), themes])
    page = app.jinja_env.from_string(PAGE)
    with app.app_context():
        in_memory = {row.slug: row for row in db.session.execute(select(POSTS))}
        dbapi_sql = str(CORE_POST.compile(dialect=db.engine.dialect))
    rungs = Blueprint("floor", __name__, url_prefix="/floor")

    def found(row: Any) -> Any:
        if row is None:
            abort(404)
        return row

    @rungs.route("/memory/<slug>/")
    def memory(slug: str) -> str:
        return page.render(post=found(in_memory.get(slug)))

    @rungs.route("/orm/<slug>/")
    def orm(slug: str) -> str:
        return page.render(post=found(db.session.scalar(ORM_POST, {"slug": slug})))

    @rungs.route("/core/<slug>/")
    def core(slug: str) -> str:
        row = db.session.execute(CORE_POST, {"slug": slug}).first()
        return page.render(post=found(row))

    @rungs.route("/dbapi/<slug>/")
    def dbapi(slug: str) -> str:
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            # The bench site is SQLite: its DB-API takes positional "?" parameters.
            cursor.execute(dbapi_sql, (slug,))
            names = [column[0] for column in cursor.description]
            values = cursor.fetchone()
            cursor.close()
        finally:
            connection.close()
        return page.render(post=found(values and dict(zip(names, values, strict=True))))

    @rungs.route("/theme/<slug>/")
    def theme(slug: str) -> tuple[str, int]:
        row = db.session.execute(CORE_POST, {"slug": slug}).first()
        return views.render_page("floor.html", stored=found(row))

    app.register_blueprint(rungs)
    return app
