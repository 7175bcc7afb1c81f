"""The floor of a dynamic page: one SQLAlchemy select of a post by slug, its stored body in
a one-line template, under the same waitress as the blog (``bench.miss_bench`` serves it).

Whatever the blog does beyond this (categories, neighbours, comments, the theme, response
filters, security headers) is what a cache miss could still lose; its ratio to hello-world
is as far as any page read from the database can go. ``BENCH_FLOOR_INSTANCE`` names the
instance folder whose database it reads.
"""

import os
from pathlib import Path

from flask import Flask, abort, render_template_string
from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from blog import db as database
from blog.models import Post, db

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = database.database_url(
    {}, Path(os.environ["BENCH_FLOOR_INSTANCE"])
)
database.init_app(app)

PAGE = "<!DOCTYPE html><title>{{ post.title }}</title><article>{{ post.body_html|safe }}</article>"
#: The post alone: its relationships are not loaded (one statement).
POST = select(Post).where(Post.slug == bindparam("slug")).options(lazyload("*"))


@app.route("/posts/<slug>/")
def post(slug: str) -> str:
    found = db.session.scalar(POST, {"slug": slug})
    if found is None:
        abort(404)
    return render_template_string(PAGE, post=found)
