"""The ``blog`` command line: ``blog [--instance PATH] COMMAND``."""

from __future__ import annotations

import secrets
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import click
import tomli_w
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from blog.admin.cli import token as token_commands
from blog.app import create_app
from blog.config import BUILTIN_PLUGINS, ConfigError
from blog.models import Post, User, db

_apps: dict[Path, Flask] = {}


class Context:
    def __init__(self, instance: Path) -> None:
        self.instance = instance.resolve()

    def app(self) -> Flask:
        """Create (once) the app for the instance, turning config errors into CLI errors."""
        if self.instance not in _apps:
            if not (self.instance / "config.toml").is_file():
                raise click.ClickException(
                    f"no blog instance at {self.instance}; create one with `blog init`"
                )
            try:
                _apps[self.instance] = create_app(instance_path=self.instance)
            except ConfigError as error:
                raise click.ClickException(str(error)) from None
        return _apps[self.instance]


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--instance",
    envvar="BLOG_INSTANCE",
    default="instance",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Instance folder (config, database, uploads).",
)
@click.pass_context
def cli(ctx: click.Context, instance: Path) -> None:
    """A blog engine for Chinese technical writing."""
    ctx.obj = Context(instance)


def _new_config() -> dict[str, Any]:
    return {
        "SITE_TITLE": "INCOMING TRANSMISSION",
        "SITE_URL": "http://127.0.0.1:8000",
        "SECRET_KEY": secrets.token_hex(32),
        "PLUGINS": list(BUILTIN_PLUGINS),
    }


@cli.command()
@click.option("--demo", is_flag=True, help="Add the sample posts.")
@pass_context
def init(context: Context, demo: bool) -> None:
    """Create the instance folder, config, secret and database (an existing one is kept)."""
    from blog.db import upgrade

    config_file = context.instance / "config.toml"
    if config_file.exists():
        click.echo(f"Instance already exists at {context.instance}; keeping it and its posts.")
        upgrade(context.app())
        return
    context.instance.mkdir(parents=True, exist_ok=True)
    (context.instance / "plugins").mkdir(exist_ok=True)
    (context.instance / "templates").mkdir(exist_ok=True)
    config_file.write_text(tomli_w.dumps(_new_config()), encoding="utf-8")
    config_file.chmod(0o600)
    app = context.app()
    upgrade(app)
    click.echo(f"Created instance at {context.instance}")
    if demo:
        from blog.importer import import_paths

        with app.app_context(), resources.as_file(resources.files("blog") / "demo") as folder:
            report = import_paths([folder], author="demo")
        click.echo(f"Demo posts: {report.summary()}")
        for failure in report.failures:
            click.echo(f"  {failure}", err=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=None, type=int, help="Worker threads (SERVE_THREADS).")
@pass_context
def serve(context: Context, host: str, port: int, threads: int | None) -> None:
    """Serve the blog with waitress."""
    import waitress

    from blog.db import is_initialised
    from blog.rerender import rerender_posts

    app = context.app()
    if not is_initialised(app):
        raise click.ClickException("the database has no tables; run `blog upgrade`")
    with app.app_context():
        count = rerender_posts(stale_only=True)
    if count:
        click.echo(f"Re-rendered {count} posts whose render fingerprint was stale.")
    click.echo(f"Serving {context.instance} on http://{host}:{port}/")
    waitress.serve(app, host=host, port=port, threads=threads or app.config["SERVE_THREADS"])


cli.add_command(token_commands)


@cli.group()
def user() -> None:
    """Manage admin users."""


@user.command("create")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
def user_create(context: Context, name: str, password_stdin: bool) -> None:
    """Create an admin user NAME."""
    from werkzeug.security import generate_password_hash

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    with context.app().app_context():
        if db.session.scalar(select(User).where(User.name == name)) is not None:
            raise click.ClickException(f"user {name!r} already exists")
        db.session.add(User(name=name, password_hash=generate_password_hash(password)))
        db.session.commit()
    click.echo(f"Created user {name}")


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@pass_context
def import_command(context: Context, paths: tuple[Path, ...]) -> None:
    """Import Markdown files or folders (idempotent by slug); exit 1 if any file failed."""
    from blog.importer import import_paths, markdown_files

    with context.app().app_context():
        if sys.stdout.isatty():
            files = list(markdown_files(paths))
            with click.progressbar(length=len(files), label="Importing") as bar:
                report = import_paths(paths, on_file=lambda _p: bar.update(1))
        else:
            report = import_paths(paths)
    for failure in report.failures:
        click.echo(f"error: {failure}", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for note in report.notices:
        click.echo(f"note: {note}")
    click.echo(report.summary())
    if report.failures:
        sys.exit(1)


@cli.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_context
def export_command(context: Context, folder: Path) -> None:
    """Write every post as Markdown with front matter into FOLDER."""
    from blog.importer import export_posts

    with context.app().app_context():
        count = export_posts(folder)
    click.echo(f"exported {count} posts to {folder}")


@cli.command()
@click.option("--all", "everything", is_flag=True, help="Also posts whose render is current.")
@pass_context
def rerender(context: Context, everything: bool) -> None:
    """Re-render posts whose render fingerprint is stale (after plugin or config changes)."""
    from blog.rerender import rerender_posts

    started = time.perf_counter()
    with context.app().app_context():
        if sys.stdout.isatty():
            total = db.session.query(Post).count()
            with click.progressbar(length=total, label="Rendering") as bar:
                count = rerender_posts(stale_only=not everything, on_post=lambda _p: bar.update(1))
        else:
            count = rerender_posts(stale_only=not everything)
    click.echo(f"re-rendered {count} posts in {time.perf_counter() - started:.1f}s")


@cli.command()
@pass_context
def reindex(context: Context) -> None:
    """Rebuild the search index from every post that is not in the trash."""
    from blog.search import rebuild_index

    started = time.perf_counter()
    with context.app().app_context():
        count = rebuild_index()
    click.echo(f"indexed {count} posts in {time.perf_counter() - started:.1f}s")


@cli.command()
@pass_context
def upgrade(context: Context) -> None:
    """Apply database migrations."""
    from blog.db import upgrade as apply_migrations

    apply_migrations(context.app())
    click.echo("database is up to date")


@cli.command()
@pass_context
def plugins(context: Context) -> None:
    """List discovered plugins: enabled, disabled or failed, with version and source."""
    registry = context.app().extensions["blog.plugins"]
    for info in sorted(registry.infos.values(), key=lambda i: i.name):
        line = f"{info.name:<14} {info.status:<9} {info.version or '-':<8} {info.source}"
        if info.reason:
            line += f"  ({info.reason})"
        click.echo(line)


@cli.command()
@pass_context
def themes(context: Context) -> None:
    """List available themes; the active one is marked with *."""
    app = context.app()
    active = app.config["THEME"]
    for name, theme in sorted(app.extensions["blog.themes"].items()):
        mark = "*" if name == active else " "
        parent = f" (extends {theme.parent})" if theme.parent else ""
        click.echo(f"{mark} {name:<14} {theme.description}{parent}  [{theme.folder}]")


def _instance_from_argv(argv: list[str]) -> Path:
    import os

    for index, arg in enumerate(argv):
        if arg == "--instance" and index + 1 < len(argv):
            return Path(argv[index + 1])
        if arg.startswith("--instance="):
            return Path(arg.split("=", 1)[1])
    return Path(os.environ.get("BLOG_INSTANCE", "instance"))


def main() -> None:
    """Console entry point: add plugin commands when an instance exists, then run."""
    context = Context(_instance_from_argv(sys.argv[1:]))
    if (context.instance / "config.toml").is_file():
        try:
            app = context.app()
        except click.ClickException:
            app = None
        if app is not None:
            app.extensions["blog.plugins"].call_each("blog_register_commands", cli=cli)
    try:
        cli()
    except OperationalError as error:
        # A full disk or a read-only instance folder surfaces here from any command; the
        # failed transaction was rolled back, so say what to fix instead of a traceback.
        raise SystemExit(
            f"error: the database cannot be opened or written ({error.orig}); check the free "
            f"disk space and that {context.instance} is writable. Nothing was half-written."
        ) from None
