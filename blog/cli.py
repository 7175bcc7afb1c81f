"""The ``blog`` command line: ``blog [--instance PATH] COMMAND``.

Start-up time matters here (``blog --help`` should answer as fast as ``flask --help``), so
this module imports only click and the configuration at the top; each command imports
the application, the database layer and what else it needs when it runs. Plugin
commands are added only when the command list is shown or a command is not built in:
those a plugin's distribution declares (``blog.commands`` entry points) are listed
without importing anything and imported when they run; for other plugins, adding them
loads the plugin modules, never the application.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import secrets
import socket
import sys
import time
from importlib import resources
from importlib.machinery import PathFinder
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import tomli_w

from blog.admin.cli import token as token_commands
from blog.admin.cli import uploads as upload_commands
from blog.comments import cli as comment_cli
from blog.config import BUILTIN_PLUGINS, ConfigError, load_config

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from flask import Flask

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
            from blog.app import create_app  # the whole application: only when a command needs it

            try:
                _apps[self.instance] = create_app(instance_path=self.instance)
            except ConfigError as error:
                raise click.ClickException(str(error)) from None
        return _apps[self.instance]


pass_context = click.make_pass_decorator(Context)


class BlogCommands(click.Group):
    """The built-in commands, and those of the instance's plugins once they are needed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plugin_commands_from: Path | None = None

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.add_plugin_commands(_instance_of(ctx))
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self.add_plugin_commands(_instance_of(ctx))
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command to run: a declared plugin command is imported only now."""
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, DeclaredCommand):
            command = command.load()
            self.add_command(command, name)
        return name, command, rest

    def add_plugin_commands(self, instance: Path) -> None:
        """Add the commands of the enabled plugins of ``instance`` (once per instance).

        A plugin whose distribution declares its commands (the ``blog.commands`` entry
        points, see ``docs/plugins.md``) is not imported: its commands are listed from the
        declaration and imported when one runs. Every other enabled plugin's module is
        loaded and its ``blog_register_commands`` called; the application is never
        created here (a plugin command creates it itself when it runs:
        ``ctx.obj.app()``). A configuration error is left for the command that needs the
        configuration to report.
        """
        instance = instance.resolve()
        if self.plugin_commands_from == instance or not (instance / "config.toml").is_file():
            return
        self.plugin_commands_from = instance
        try:
            settings, tables, sources = load_config(instance, None)
        except ConfigError:
            return
        enabled = list(settings["PLUGINS"])
        declared, covered = declared_plugin_commands()
        for plugin in enabled:
            for command in declared.get(plugin, []):
                if command.name not in self.commands:
                    self.add_command(command)
        undeclared = [name for name in enabled if name not in covered]
        if not undeclared:
            return
        # Imported here: plugin modules import Flask and their libraries, which listing
        # built-in and declared commands and most commands' --help do not need.
        from blog.plugins import Plugins

        plugins = Plugins(strict=False)
        plugins.load(instance, undeclared, tables, sources)
        plugins.hooks.blog_register_commands(cli=self)


COMMAND_ENTRY_POINT_GROUP = "blog.commands"


class DeclaredCommand(click.Command):
    """A plugin command known from its entry point, standing in until it runs.

    Its help is the docstring (or ``help=``) read from the command's source file without
    importing it, so ``blog --help`` lists it as the real command would be listed.
    """

    def __init__(self, name: str, point: EntryPoint) -> None:
        super().__init__(name, help=_declared_help(point.value))
        self.point = point

    def load(self) -> click.Command:
        command = self.point.load()
        if not isinstance(command, click.Command):
            raise click.ClickException(
                f"entry point {self.point.name} = {self.point.value!r} "
                f"({COMMAND_ENTRY_POINT_GROUP}) is not a click command"
            )
        return command


def declared_plugin_commands() -> tuple[dict[str, list[DeclaredCommand]], set[str]]:
    """The declared commands of each plugin, and the plugins whose commands are declared.

    A ``blog.commands`` entry point is named ``<plugin>.<command>``. A distribution that
    declares any command declares all of its plugins' commands, so its plugins without
    one are covered too (and need not be imported to find out).
    """
    # Imported here: reading the installed distributions' metadata costs start-up time
    # that ``blog --help`` without an instance does not need.
    from importlib.metadata import entry_points

    declared: dict[str, list[DeclaredCommand]] = {}
    declaring: set[str] = set()
    for point in entry_points(group=COMMAND_ENTRY_POINT_GROUP):
        plugin, _, command = point.name.partition(".")
        if not plugin or not command:
            continue  # not <plugin>.<command>: nothing to list it under
        if point.dist is not None:
            declaring.add(point.dist.name)
        declared.setdefault(plugin, []).append(DeclaredCommand(command, point))
    covered = {
        point.name
        for point in entry_points(group="blog.plugins")
        if point.dist is not None and point.dist.name in declaring
    }
    return declared, covered


def _declared_help(value: str) -> str | None:
    """The help of the command ``module:function`` as click builds it, read from source.

    ``None`` when the source cannot be read (then the listing has no help text; running
    the command still imports it).
    """
    module_name, _, attribute = value.partition(":")
    source = _module_source(module_name)
    if source is None:
        return None
    try:
        nodes = ast.parse(source).body
    except (SyntaxError, ValueError):
        return None  # importing it will report the error when the command runs
    for node in nodes:
        if isinstance(node, ast.FunctionDef) and node.name == attribute:
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call):
                    for keyword in decorator.keywords:
                        if keyword.arg == "help" and isinstance(keyword.value, ast.Constant):
                            return str(keyword.value.value)
            return ast.get_docstring(node)
    return None


def _module_source(module_name: str) -> str | None:
    """The source text of ``module_name``, found without executing it or its packages."""
    parts = module_name.split(".")
    spec = importlib.util.find_spec(parts[0])  # a top-level find executes nothing
    for depth in range(1, len(parts)):
        if spec is None or spec.submodule_search_locations is None:
            return None
        spec = PathFinder.find_spec(".".join(parts[: depth + 1]), spec.submodule_search_locations)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    try:
        return Path(spec.origin).read_text(encoding="utf-8")
    except OSError:
        return None


def _instance_of(ctx: click.Context) -> Path:
    """The instance folder of this invocation, also while ``--help`` is being handled
    (an eager option, answered before ``--instance`` is stored in ``ctx.obj``)."""
    if isinstance(ctx.obj, Context):
        return ctx.obj.instance
    root = ctx.find_root()
    if isinstance(root.params.get("instance"), Path):
        return Path(root.params["instance"])
    return _instance_from_argv(sys.argv[1:])


@click.group(cls=BlogCommands)
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
    # Loaded when this command runs, not at start-up (see the module docstring).
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
        # Loaded when this command runs, not at start-up (see the module docstring).
        from blog.importer import import_paths

        with app.app_context(), resources.as_file(resources.files("blog") / "demo") as folder:
            report = import_paths([folder], author="demo")
        click.echo(f"Demo posts: {report.summary()}")
        for failure in report.failures:
            click.echo(f"  {failure}", err=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port; the 'Serving' line names it.",
)
@click.option("--threads", default=None, type=int, help="Threads per process (SERVE_THREADS).")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="Processes sharing the port (SERVE_WORKERS).",
)
@click.option("--listen-fd", default=None, type=int, hidden=True)
@click.option("--supervisor", default=None, type=int, hidden=True)
@pass_context
def serve(
    context: Context,
    host: str,
    port: int,
    threads: int | None,
    workers: int | None,
    listen_fd: int | None,
    supervisor: int | None,
) -> None:
    """Serve the blog with waitress; SIGTERM stops it gracefully."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.db import is_initialised
    from blog.posts import choose_pending_related
    from blog.rerender import rerender_posts
    from blog.workers import bind, serve_socket, supervise

    app = context.app()
    threads = threads or int(app.config["SERVE_THREADS"])
    if listen_fd is not None:
        # A child of `--workers`: the supervisor checked the database and bound the port.
        serve_socket(app, socket.socket(fileno=listen_fd), threads, supervisor=supervisor)
        return
    if not is_initialised(app):
        raise click.ClickException("the database has no tables; run `blog upgrade`")
    with app.app_context():
        count = rerender_posts(stale_only=True)
        # Lists a save noted but never chose (the process stopped between the two).
        choose_pending_related()
    if count:
        click.echo(f"Re-rendered {count} posts whose render fingerprint was stale.")
    workers = workers or int(app.config["SERVE_WORKERS"])
    try:
        sock = bind(host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from None
    # The socket listens from here on: a request sent once this line is out waits in the
    # backlog, so the line is the readiness signal for scripts (and `--port 0` names the port).
    port = int(sock.getsockname()[1])
    if workers == 1:
        click.echo(f"Serving {context.instance} on http://{host}:{port}/")
        serve_socket(app, sock, threads)
        return
    click.echo(
        f"Serving {context.instance} on http://{host}:{port}/ with {workers} worker processes"
    )
    sys.exit(supervise(context.instance, sock, workers, threads))


cli.add_command(token_commands)
cli.add_command(upload_commands)
cli.add_command(comment_cli.comments)

#: How many changed paths `blog build` lists before summarising the rest.
LISTED_CHANGES = 20


@cli.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--base-url",
    default=None,
    help="Address the site is published at, e.g. https://name.github.io/blog/ (else SITE_URL).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Render every page again (by default only pages showing a changed post are).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes rendering pages (default: one per core on sites of 50 posts or more).",
)
@pass_context
def build(
    context: Context, out: Path, base_url: str | None, full: bool, workers: int | None
) -> None:
    """Write the whole public site, every variant, as static files into OUT (incremental)."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.build.paths import BuildError
    from blog.build.site import build_site

    context.app()  # the instance must exist and its config must load
    try:
        report = build_site(context.instance, out, base_url, full=full, workers=workers)
    except BuildError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(
            f"{out}: cannot write the site ({error}); the previous site, if any, is unchanged"
        ) from None
    for name in report.written[:LISTED_CHANGES]:
        click.echo(f"  written  {name}")
    if len(report.written) > LISTED_CHANGES:
        click.echo(f"  … and {len(report.written) - LISTED_CHANGES} more written")
    for name in report.removed[:LISTED_CHANGES]:
        click.echo(f"  removed  {name}")
    if len(report.removed) > LISTED_CHANGES:
        click.echo(f"  … and {len(report.removed) - LISTED_CHANGES} more removed")
    for path, referrers in sorted(report.broken.items()):
        click.echo(
            f"warning: {path} is linked from {sorted(referrers)[0]} but is not public", err=True
        )
    click.echo(
        f"Built {report.pages} pages ({report.rendered} rendered), {report.files} files into "
        f"{report.out} in "
        f"{report.seconds:.1f} s: {len(report.written)} written, {report.unchanged} unchanged, "
        f"{len(report.removed)} removed."
    )


@cli.group()
def user() -> None:
    """Manage admin users."""


@user.command("create")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
def user_create(context: Context, name: str, password_stdin: bool) -> None:
    """Create an admin user NAME."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from blog.models import User, db

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
@click.option("--dry-run", is_flag=True, help="Report what would be imported; write nothing.")
@click.option(
    "--media-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Local copy of a WordPress site's wp-content/uploads, for its attachments.",
)
@click.option(
    "--jobs", type=click.IntRange(min=1), default=None, help="Render processes (default: cores)."
)
@pass_context
def import_command(
    context: Context,
    paths: tuple[Path, ...],
    dry_run: bool,
    media_dir: Path | None,
    jobs: int | None,
) -> None:
    """Import a Hexo, Hugo or Jekyll site, a WordPress export (.xml), or Markdown files.

    Idempotent by slug; prints per file every construct converted, kept or unknown, the
    images and the old URLs that will answer 301. Exits 1 if any file failed.
    """
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.importer import import_paths, markdown_files

    with context.app().app_context():
        if sys.stdout.isatty() and not dry_run:
            files = list(markdown_files(paths))
            with click.progressbar(length=len(files), label="Importing") as bar:
                report = import_paths(
                    paths, on_file=lambda _p: bar.update(1), media_dir=media_dir, jobs=jobs
                )
        else:
            report = import_paths(paths, dry_run=dry_run, media_dir=media_dir, jobs=jobs)
        comments = None if dry_run else comment_cli.import_beside_posts(paths)
        if report.comments is not None:
            comments = report.comments.merged(comments)
    for line in report.details():
        click.echo(line)
    for failure in report.failures:
        click.echo(f"error: {failure}", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for note in report.notices:
        click.echo(f"note: {note}")
    click.echo(report.summary())
    if comments is not None:
        for failure in comments.failures:
            click.echo(f"error: {failure}", err=True)
        click.echo(comments.summary(dry_run=dry_run))
    if dry_run:
        click.echo("dry run: nothing was written")
    if report.failures or (comments is not None and comments.failures):
        sys.exit(1)


@cli.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_context
def export_command(context: Context, folder: Path) -> None:
    """Write every post and page as Markdown with front matter, and the uploads, into FOLDER."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.importer import export_posts

    with context.app().app_context():
        count = export_posts(folder)
        comments = comment_cli.export_beside_posts(folder)
    click.echo(f"exported {count} posts and {comments} comments to {folder}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def backup(context: Context, file: Path) -> None:
    """Write the whole instance (database, uploads, config) to FILE (.tar.gz), while serving."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.backup import BackupError, make_backup

    try:
        summary = make_backup(context.app(), file)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backed up {summary} to {file}")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the instance's content without asking.")
@pass_context
def restore(context: Context, file: Path, yes: bool) -> None:
    """Replace the instance's database and uploads with those in a `blog backup` FILE."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.backup import BackupError, restore_backup

    if not yes:
        click.confirm(f"Replace every post, user and upload of {context.instance}?", abort=True)
    try:
        summary = restore_backup(context.app(), file)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored {summary} from {file}")


@cli.command()
@click.option("--all", "everything", is_flag=True, help="Also posts whose render is current.")
@click.option(
    "--jobs", type=click.IntRange(min=1), default=None, help="Render processes (default: cores)."
)
@pass_context
def rerender(context: Context, everything: bool, jobs: int | None) -> None:
    """Re-render posts whose render fingerprint is stale (after plugin or config changes)."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.models import Post, db
    from blog.related import refresh_all
    from blog.rerender import rerender_posts

    started = time.perf_counter()
    with context.app().app_context():
        if sys.stdout.isatty():
            total = db.session.query(Post).count()
            with click.progressbar(length=total, label="Rendering") as bar:
                count = rerender_posts(
                    stale_only=not everything, on_post=lambda _p: bar.update(1), workers=jobs
                )
        else:
            count = rerender_posts(stale_only=not everything, workers=jobs)
        # Texts may have changed (a plugin now converts differently): choose related
        # posts again for every post, not only for the re-rendered ones.
        related = refresh_all()
    click.echo(f"re-rendered {count} posts in {time.perf_counter() - started:.1f}s")
    click.echo(f"chose related posts for {related} posts")


@cli.command()
@pass_context
def reindex(context: Context) -> None:
    """Rebuild the search index, then choose every post's related posts again."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.related import refresh_all
    from blog.search import rebuild_index

    started = time.perf_counter()
    with context.app().app_context():
        count = rebuild_index()
        related = refresh_all()
    click.echo(f"indexed {count} posts in {time.perf_counter() - started:.1f}s")
    click.echo(f"chose related posts for {related} posts")


@cli.command()
@pass_context
def upgrade(context: Context) -> None:
    """Apply database migrations."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.db import upgrade as apply_migrations

    apply_migrations(context.app())
    click.echo("database is up to date")


@cli.command()
@pass_context
def plugins(context: Context) -> None:
    """List discovered plugins: enabled, disabled or failed, with version and source."""
    app = context.app()
    registry = app.extensions["blog.plugins"]
    for info in sorted(registry.infos.values(), key=lambda i: i.name):
        line = f"{info.name:<14} {info.status:<9} {info.version or '-':<8} {info.source}"
        if info.reason:
            line += f"  ({info.reason})"
        click.echo(line)
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.db import is_initialised

    if not is_initialised(app):
        return
    with app.app_context():
        degraded = degraded_posts()
    if degraded:
        click.echo(
            f"\n{len(degraded)} posts were stored degraded because a plugin failed while "
            "rendering them; fix the plugin, then run `blog rerender`:"
        )
        for slug, problems in degraded[:20]:
            named = ", ".join(f"{p['plugin']} in {p['hook']}: {p['error']}" for p in problems)
            click.echo(f"  {slug}: {named}")
        if len(degraded) > 20:
            click.echo(f"  ... and {len(degraded) - 20} more")


def degraded_posts() -> list[tuple[str, list[dict[str, str]]]]:
    """``(slug, problems)`` of every post whose last render missed a failing plugin's part."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from sqlalchemy import select

    from blog.models import DEGRADED_FINGERPRINT, Post, db

    rows = db.session.execute(
        select(Post.slug, Post.render_problems)
        .where(Post.render_fingerprint == DEGRADED_FINGERPRINT)
        .order_by(Post.id)
    )
    return [(slug, list(problems or [])) for slug, problems in rows]


@cli.command()
@pass_context
def themes(context: Context) -> None:
    """List available themes; the active one is marked with *."""
    from blog.themes import discover_themes  # Jinja: only for this command

    if not (context.instance / "config.toml").is_file():
        raise click.ClickException(
            f"no blog instance at {context.instance}; create one with `blog init`"
        )
    try:
        settings, _tables, _sources = load_config(context.instance, None)
        found = discover_themes(context.instance)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    active = settings["THEME"]
    for name, theme in sorted(found.items()):
        mark = "*" if name == active else " "
        parent = f" (extends {theme.parent})" if theme.parent else ""
        click.echo(f"{mark} {name:<14} {theme.description}{parent}  [{theme.folder}]")


def _instance_from_argv(argv: list[str]) -> Path:
    for index, arg in enumerate(argv):
        if arg == "--instance" and index + 1 < len(argv):
            return Path(argv[index + 1])
        if arg.startswith("--instance="):
            return Path(arg.split("=", 1)[1])
    return Path(os.environ.get("BLOG_INSTANCE", "instance"))


def main() -> None:
    """Console entry point (plugin commands are added by the group when needed)."""
    context = Context(_instance_from_argv(sys.argv[1:]))
    try:
        cli()
    except Exception as error:
        # sqlalchemy is imported only by commands that use the database; if it was never
        # imported, the error cannot be one of its OperationalErrors.
        exceptions = sys.modules.get("sqlalchemy.exc")
        if exceptions is None or not isinstance(error, exceptions.OperationalError):
            raise
        # A full disk or a read-only instance folder surfaces here from any command; the
        # failed transaction was rolled back, so say what to fix instead of a traceback.
        raise SystemExit(
            f"error: the database cannot be opened or written ({error.orig}); check the free "
            f"disk space and that {context.instance} is writable. Nothing was half-written."
        ) from None


if __name__ == "__main__":
    main()
