"""A plugin with a route that answers slowly and names the process that answered."""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask

from blog.api import hookimpl

slow = Blueprint("slow_route", __name__)


@slow.get("/slow")
def answer_slowly() -> str:
    time.sleep(1.5)
    return f"done by {os.getpid()}"


@slow.get("/pid")
def process_id() -> str:
    return str(os.getpid())


@hookimpl
def blog_register_routes(app: Flask) -> None:
    app.register_blueprint(slow)
