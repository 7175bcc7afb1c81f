"""``blog comments …``: Waline import, address erasure and privacy requests from the shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from blog.comments.transfer import ImportReport

# The `blog` command imports this module to list its commands, so it imports only click;
# each command imports the comment modules (and with them the database layer) when it runs.


@click.group()
def comments() -> None:
    """Reader comments: import, privacy."""


def _report(report: ImportReport) -> None:
    for failure in report.failures:
        click.echo(f"error: {failure}", err=True)
    click.echo(report.summary())
    if report.failures:
        sys.exit(1)


@comments.command("import-waline")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def import_waline_command(context: Any, file: Path) -> None:
    """Import Waline's JSON export; page paths are matched to post slugs."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.comments.fields import CommentError
    from blog.comments.transfer import import_waline

    with context.app().app_context():
        try:
            report = import_waline(file)
        except CommentError as error:
            raise click.ClickException(error.message) from None
    _report(report)


@comments.command("erase-addresses")
@click.pass_obj
def erase_addresses_command(context: Any) -> None:
    """Forget client addresses older than COMMENTS_ADDRESS_DAYS (also done as comments arrive)."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.comments.service import erase_old_addresses

    with context.app().app_context():
        click.echo(f"erased the client address of {erase_old_addresses()} comments")


@comments.command("export-person")
@click.argument("email")
@click.pass_obj
def export_person_command(context: Any, email: str) -> None:
    """Print everything stored for EMAIL as JSON (a reader's access request)."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.comments.service import export_person

    with context.app().app_context():
        click.echo(json.dumps(export_person(email), ensure_ascii=False, indent=2))


@comments.command("delete-person")
@click.argument("email")
@click.pass_obj
def delete_person_command(context: Any, email: str) -> None:
    """Delete everything stored for EMAIL (replies by others keep a placeholder)."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.comments.service import erase_person

    with context.app().app_context():
        click.echo(f"deleted {erase_person(email)} comments of {email}")


def export_beside_posts(folder: Path) -> int:
    """Called by ``blog export`` inside an app context: write ``comments.json``."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.comments.transfer import export_comments

    return export_comments(folder)


def import_beside_posts(paths: tuple[Path, ...]) -> ImportReport | None:
    """Called by ``blog import`` after the posts: read ``comments.json`` in any given folder."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.comments.fields import CommentError
    from blog.comments.transfer import FILE_NAME, ImportReport, import_comments_file

    files = [p / FILE_NAME for p in paths if p.is_dir() and (p / FILE_NAME).is_file()]
    if not files:
        return None
    total = ImportReport()
    for file in files:
        try:
            report = import_comments_file(file)
        except CommentError as error:
            total.failures.append(error.message)
            continue
        total.imported += report.imported
        total.skipped += report.skipped
        total.failures.extend(report.failures)
    return total
