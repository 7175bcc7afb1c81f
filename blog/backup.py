"""``blog backup FILE`` / ``blog restore FILE``: the whole instance in one ``.tar.gz``.

The archive holds ``database.sqlite3`` (SQLite's online backup API, consistent while the
site is serving) or ``database.pgdump`` (``pg_dump --format=custom``), every upload, and
``config.toml``. Restoring replaces the database and the uploads; the running config is
kept (it holds this machine's database URL and secret) and the archived one is written
beside it as ``config.toml.restored`` when they differ.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

from blog.models import db

FORMAT = "blog-backup/1"


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why."""


def _database(app: Flask) -> tuple[str, str]:
    """("sqlite", file path) or ("postgresql", libpq URL) of the instance's database."""
    url = make_url(str(app.config["SQLALCHEMY_DATABASE_URI"]))
    if url.drivername.startswith("sqlite"):
        return "sqlite", str(url.database).removeprefix("file:").split("?", 1)[0]
    if url.drivername.startswith("postgresql"):
        plain = url.set(drivername="postgresql")
        return "postgresql", plain.render_as_string(hide_password=False)
    raise BackupError(f"backups of {url.drivername} databases are not supported")


def _run(command: list[str], what: str) -> None:
    try:
        # The command is pg_dump/pg_restore with our own arguments; no shell is involved.
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed; it is needed to {what}") from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:500]}")


def make_backup(app: Flask, target: Path) -> str:
    """Write the archive to ``target`` (atomically); return a one-line summary."""
    kind, location = _database(app)
    instance = Path(app.instance_path)
    uploads = instance / "uploads"
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="blog-backup-") as scratch:
        work = Path(scratch)
        if kind == "sqlite":
            database = work / "database.sqlite3"
            source = sqlite3.connect(f"file:{location}?mode=ro", uri=True)
            copy = sqlite3.connect(database)
            try:
                with copy:
                    source.backup(copy)
            finally:
                copy.close()
                source.close()
        else:
            database = work / "database.pgdump"
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={database}", location],
                 "back up a PostgreSQL database")  # fmt: skip
        partial = target.with_name(f".{target.name}.part")
        files = sorted(p for p in uploads.iterdir() if p.is_file()) if uploads.is_dir() else []
        manifest = {"format": FORMAT, "database": kind, "uploads": [p.name for p in files]}
        with tarfile.open(partial, "w:gz") as archive:
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            archive.add(database, arcname=database.name)
            if (instance / "config.toml").is_file():
                archive.add(instance / "config.toml", arcname="config.toml")
            for file in files:
                archive.add(file, arcname=f"uploads/{file.name}")
        partial.replace(target)
    return f"{kind} database and {len(files)} uploads"


def _member(archive: tarfile.TarFile, name: str) -> bytes | None:
    try:
        member = archive.getmember(name)
    except KeyError:
        return None
    handle = archive.extractfile(member) if member.isfile() else None
    return handle.read() if handle is not None else None


def restore_backup(app: Flask, archive_path: Path) -> str:
    """Replace the database and uploads with the archive's; return a one-line summary."""
    kind, location = _database(app)
    instance = Path(app.instance_path)
    try:
        archive = tarfile.open(archive_path, "r:gz")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"{archive_path} is not a blog backup: {error}") from None
    with archive, tempfile.TemporaryDirectory(prefix="blog-restore-") as scratch:
        raw = _member(archive, "manifest.json")
        manifest = json.loads(raw) if raw else {}
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive_path} is not a blog backup (no {FORMAT} manifest)")
        if manifest.get("database") != kind:
            raise BackupError(
                f"the backup holds a {manifest.get('database')} database; this instance uses {kind}"
            )
        work = Path(scratch)
        names = [str(n) for n in manifest.get("uploads", [])]
        for name in names:  # names come from the archive: only plain file names are accepted
            if "/" in name or "\\" in name or name.startswith("."):
                raise BackupError(
                    f"refused: upload name {name!r} in the backup is not a plain name"
                )
        uploads_in = work / "uploads"
        uploads_in.mkdir()
        for name in names:
            data = _member(archive, f"uploads/{name}")
            if data is None:
                raise BackupError(f"the backup lists uploads/{name} but does not contain it")
            (uploads_in / name).write_bytes(data)
        database = work / ("database.sqlite3" if kind == "sqlite" else "database.pgdump")
        data = _member(archive, database.name)
        if data is None:
            raise BackupError(f"the backup has no {database.name}")
        database.write_bytes(data)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if kind == "sqlite":
            source = sqlite3.connect(database)
            live = sqlite3.connect(location)
            try:
                with live:
                    source.backup(live)
            finally:
                live.close()
                source.close()
        else:
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={location}",
                  str(database)], "restore a PostgreSQL database")  # fmt: skip
        uploads = instance / "uploads"
        uploads.mkdir(exist_ok=True)
        for old in uploads.iterdir():
            if old.is_file() and old.name not in names:
                old.unlink()
        for name in names:
            shutil.copyfile(uploads_in / name, uploads / name)
        config = _member(archive, "config.toml")
        current = instance / "config.toml"
        if config is not None and (not current.is_file() or current.read_bytes() != config):
            (instance / "config.toml.restored").write_bytes(config)
    return f"{kind} database and {len(names)} uploads"
