"""Liveness and readiness for load balancers and process managers.

``/healthz`` answers 200 while the process can serve a request at all: it touches nothing
but the process, so a slow database never makes a balancer kill healthy workers.
``/readyz`` answers 200 only when the database answers and its schema is at the newest
migration, so a machine that is still upgrading, or cut off from PostgreSQL, is taken out
of rotation instead of answering readers with errors. Both are JSON, never cached (the page
cache passes them by and they say ``no-store``) and never logged as errors.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from blog.db import alembic_config
from blog.models import db

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

logger = logging.getLogger("blog.health")

health = Blueprint("health", __name__)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _scripts(app: Flask) -> ScriptDirectory:
    """The migration scripts this version ships (read once per process)."""
    scripts = app.extensions.get("blog.migration_scripts")
    if scripts is None:
        # Alembic is imported on the first /readyz, not when the app starts (see
        # blog.db.alembic_config).
        from alembic.script import ScriptDirectory

        scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
        app.extensions["blog.migration_scripts"] = scripts
    return scripts


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except Exception:  # alembic raises its own CommandError/ResolutionError subclasses
        return False


@health.get("/healthz")
def healthz() -> Response:
    """The process is up and answering requests."""
    return _no_store(jsonify(status="ok"))


@health.get("/readyz")
def readyz() -> Response:
    """The database answers and its schema is at the newest migration."""
    scripts = _scripts(current_app)
    expected = frozenset(scripts.get_heads())
    try:
        rows = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()
        current = frozenset(rows)
    except SQLAlchemyError as error:
        db.session.rollback()
        # One line, not a traceback: a balancer polls this every few seconds while the
        # database is away, and the reason is all an operator needs.
        logger.warning("not ready: database unreachable (%s)", type(error).__name__)
        return _unavailable("database unreachable")
    if current == expected:
        return _no_store(jsonify(status="ready", migration=sorted(current)))
    if current and not any(_known(scripts, revision) for revision in current):
        # A revision this version does not ship is a newer one: during a rolling deploy
        # the first machine has upgraded the schema (additively) and this older version
        # keeps serving until it is restarted.
        return _no_store(jsonify(status="ready", migration=sorted(current), newer_schema=True))
    return _unavailable(
        "migrations pending; run `blog upgrade`", current=sorted(current), expected=sorted(expected)
    )


def _unavailable(reason: str, **details: object) -> Response:
    response = jsonify(status="unavailable", reason=reason, **details)
    response.status_code = 503
    return _no_store(response)
