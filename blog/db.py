"""Database set-up: engine options per backend and Alembic migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine

from blog.models import db

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(app_config: dict[str, Any], instance_path: Path) -> str:
    """Return the configured URL, or SQLite in the instance folder."""
    url = str(app_config.get("DATABASE_URL") or "")
    if not url:
        path = instance_path / "blog.sqlite3"
        if path.is_file() and not os.access(instance_path, os.W_OK):
            # A read-only instance folder (read-only mount, no write permission) still
            # serves its posts: SQLite cannot create the WAL index file there, so open the
            # database read-only and immutable (nothing can change it on such a folder).
            return f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true"
        return f"sqlite:///{path}"
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would look for psycopg2.
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers continue during a save; busy_timeout makes writers queue instead of
    # failing with "database is locked" under waitress's threads.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    """Configure Flask-SQLAlchemy for ``app``."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 10}})
    else:
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    db.init_app(app)
    if url.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)


def alembic_config(url: str) -> AlembicConfig:
    # Alembic (and Mako, which it imports) is loaded only to migrate: the served app and
    # every command that does not migrate start without it.
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(app: Flask) -> None:
    """Apply every pending migration to the app's database."""
    with app.app_context():
        engine: Engine = db.engine
        config = alembic_config(str(engine.url.render_as_string(hide_password=False)))
        from alembic import command  # see alembic_config

        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def is_initialised(app: Flask) -> bool:
    """Return whether the schema exists (the ``posts`` table is there)."""
    with app.app_context():
        return bool(inspect(db.engine).has_table("posts"))
