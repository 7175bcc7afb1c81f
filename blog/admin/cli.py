"""``blog token create|revoke|list`` and ``blog uploads migrate|resize`` from the command line.

The ``blog`` command imports this module to list its commands, so it imports only click;
each command imports the database layer when it runs (see :mod:`blog.cli`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from blog.models import User


def _user(name: str) -> User:
    # Loaded when this command runs, not at start-up (see the module docstring).
    from sqlalchemy import select

    from blog.models import User, db

    found = db.session.scalar(select(User).where(User.name == name))
    if found is None:
        raise click.ClickException(f"no user {name!r}; create one with `blog user create {name}`")
    return found


@click.group()
def token() -> None:
    """Manage API tokens (Authorization: Bearer ...)."""


@token.command("create")
@click.argument("name")
@click.option("--user", "username", required=True, help="The user the token acts as.")
@click.pass_obj
def token_create(context: Any, name: str, username: str) -> None:
    """Create an API token NAME for a user and print it (it is shown only this once)."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.admin.tokens import create_token

    with context.app().app_context():
        secret = create_token(_user(username), name)
    click.echo(secret)
    click.echo(
        f"Created token {name!r} for {username}; store it now, it cannot be shown again.", err=True
    )


@token.command("revoke")
@click.argument("name")
@click.option("--user", "username", default=None, help="Only this user's token called NAME.")
@click.pass_obj
def token_revoke(context: Any, name: str, username: str | None) -> None:
    """Revoke the API token(s) called NAME."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.admin.tokens import revoke_tokens

    with context.app().app_context():
        count = revoke_tokens(name, _user(username) if username else None)
    if count == 0:
        raise click.ClickException(f"no live token named {name!r}")
    click.echo(f"Revoked {count} token(s) named {name!r}")


@token.command("list")
@click.pass_obj
def token_list(context: Any) -> None:
    """List API tokens (names, owners, state; never the secrets)."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from sqlalchemy import select

    from blog.admin.models import ApiToken
    from blog.models import db

    with context.app().app_context():
        for row in db.session.scalars(select(ApiToken).order_by(ApiToken.id)):
            state = "revoked" if row.revoked_at else "live"
            used = row.last_used_at.isoformat(" ", "minutes") if row.last_used_at else "never used"
            click.echo(f"{row.name:<20} {row.user.name:<16} {state:<8} {used}")


@click.group()
def uploads() -> None:
    """Manage uploaded images."""


@uploads.command("migrate")
@click.pass_obj
def uploads_migrate(context: Any) -> None:
    """Copy the instance folder's uploads into the database, for serving from several machines."""
    # Loaded when this command runs, not at start-up (see the module docstring).
    from blog.admin.uploads import UploadError, copy_uploads_to_database, stores_in_database

    with context.app().app_context():
        if not stores_in_database():
            raise click.ClickException(
                "uploads are kept as files here (UPLOAD_STORAGE, or SQLite with 'auto'); "
                'set DATABASE_URL to PostgreSQL or UPLOAD_STORAGE = "database" first'
            )
        try:
            copied, kept = copy_uploads_to_database()
        except UploadError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Copied {copied} upload(s) into the database; {kept} were already there.")


@uploads.command("resize")
@click.pass_obj
def uploads_resize(context: Any) -> None:
    """Record sizes and make WebP copies for uploads stored before either was kept.

    The posts that show those images are then rendered again, so their pages gain
    width/height and srcset. Safe to run again: uploads that have a size are skipped.
    """
    # Loaded when this command runs, not at start-up (see the module docstring).
    from sqlalchemy import or_, select

    from blog.admin.uploads import resize_old_uploads
    from blog.models import Post, db
    from blog.rerender import rerender_posts

    with context.app().app_context():
        report = resize_old_uploads()
        found: set[int] = set()
        # In groups: SQLite limits how deep one expression (a chain of ORs) may be.
        for start in range(0, len(report.resized), 100):
            names = report.resized[start : start + 100]
            showing = or_(*(Post.source.contains(name) for name in names))
            found.update(db.session.scalars(select(Post.id).where(showing)))
        posts = sorted(found)
        if posts:
            rerender_posts(stale_only=False, only=posts)
    for name, reason in report.failed:
        click.echo(f"warning: upload {name} left as it was: {reason}", err=True)
    click.echo(
        f"Resized {len(report.resized)} upload(s) ({report.copies} WebP copies made); "
        f"re-rendered {len(posts)} post(s) that show them."
    )
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} upload(s) could not be resized")
