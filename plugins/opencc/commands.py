"""``blog groups``: list the installed conversion groups and install new ones.

The command runs with the ``blog`` command group's context object, whose ``app()`` is the
instance's application (created once the instance's configuration loaded).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click

from blog.api import plugin_config

from .groups import SUFFIXES, GroupError, group_files, load_group


def _folder(context: Any) -> Path:
    from . import Config, groups_folder  # the package imports this module

    app = context.app()
    return groups_folder(app.instance_path, plugin_config("opencc", app) or Config())


@click.group("groups", invoke_without_command=True)
@click.pass_context
def groups_command(ctx: click.Context) -> None:
    """List conversion groups (instance/variant_groups/) with their rule counts."""
    if ctx.invoked_subcommand is not None:
        return
    folder = _folder(ctx.obj)
    paths = group_files(folder)
    if not paths:
        click.echo(f"No conversion groups in {folder}. Install one with `blog groups add FILE`.")
        return
    failed = False
    for path in paths:
        try:
            group = load_group(path)
        except GroupError as error:
            click.echo(f"! {path.name}: {error}", err=True)
            failed = True
            continue
        note = f", {len(group.conflicts)} conflicting (later wins)" if group.conflicts else ""
        click.echo(f"{group.name:<16} {group.rule_count:>5} rules{note}  [{path.name}]")
    if failed:
        raise SystemExit(1)


@groups_command.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace an installed group of the same name.")
@click.option(
    "--later-wins",
    is_flag=True,
    help="Accept conflicting rules, the later one winning (as on Wikipedia).",
)
@click.pass_obj
def groups_add(context: Any, file: Path, replace: bool, later_wins: bool) -> None:
    """Check a group file (NAME.json or NAME.txt) and install it as group NAME."""
    if file.suffix not in SUFFIXES:
        raise click.ClickException(f"{file}: a group file ends in .json or .txt")
    try:
        group = load_group(file, strict=not later_wins)
    except GroupError as error:
        conflict = "conflicting rules" in str(error)
        hint = " (--later-wins accepts conflicting rules)" if conflict else ""
        raise click.ClickException(f"{error}{hint}") from None
    folder = _folder(context)
    installed = {path.stem.lower(): path for path in group_files(folder)}
    existing = installed.get(group.name.lower())
    if existing is not None and not replace:
        raise click.ClickException(
            f"group {group.name!r} is already installed ({existing}); use --replace"
        )
    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / f"{group.name}{file.suffix}"
    temporary = destination.with_name(destination.name + ".part")
    shutil.copyfile(file, temporary)
    if existing is not None and existing != destination:
        existing.unlink()
    temporary.replace(destination)
    click.echo(
        f"Installed {group.name}: {group.rule_count} rules → {destination}. "
        f"Posts use it with `variants_groups: [{group.name}]`; restart the site to load it."
    )
