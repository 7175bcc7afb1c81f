"""Write the built site into OUT without ever leaving a half-written one in its place.

A manifest (``.blog-build.json``) records the SHA-256 of every file. Two ways of writing:

- A full build (:func:`write_site`) assembles the new site in a temporary folder next to
  OUT (same file system), then swaps it in with two renames; a failure before the swap
  deletes the temporary folder and leaves the previous site untouched. A file whose content
  did not change is hard-linked from the previous build, so it keeps its inode and
  modification time (rsync and object-storage uploads skip it). Files of deleted posts are
  simply not carried over.
- An incremental build (:func:`update_site`) changes a few dozen files of thousands, so
  linking the whole tree again and deleting the old one would cost more than the rendering
  (seconds at 7,500 pages; deleting the retired tree alone took 26 s on a busy disk).
  Changed files are written into a temporary folder first; only when all of them are there
  are they renamed over their old versions one by one (each rename is atomic, so a reader
  never sees a half-written file), old versions being kept as hard links until the end.
  An error during the renames puts every old version back. The manifest is renamed in
  last: if the process dies in the middle (power cut, SIGKILL), OUT still holds the old
  manifest, so the next build sees the same posts as changed, renders the same pages again
  and rewrites exactly the files the interrupted one was replacing.

Text files also get ``.gz`` and ``.br`` siblings, for nginx ``gzip_static`` /
``brotli_static`` and hosts that serve precompressed files; an unchanged file reuses its
siblings from the previous build, so compression is paid only for what changed. The
caller may pass digests and siblings it already has (the build's pages are hashed and
compressed in its worker processes); anything not passed is computed here.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import brotli

from blog.build.paths import BuildError

MANIFEST = ".blog-build.json"
#: 2 added ``state``: what :mod:`blog.build.plan` needs to re-render only what changed.
MANIFEST_VERSION = 2
COMPRESSED_SUFFIXES = frozenset(
    {".html", ".css", ".js", ".json", ".xml", ".txt", ".svg", ".map", ".mjs"}
)
#: Below this size a compressed copy saves less than the request overhead.
MIN_COMPRESS_BYTES = 256
#: Brotli quality for precompressed files. 11 saves another 8 % on a page but costs 70 times
#: as long (0.14 s against 2 ms for an 18 KB page here), too slow for thousands of pages.
BROTLI_QUALITY = 5
#: From this size gzip uses level 6, not 9: 3 % larger but twice as fast, on the few big
#: files every rebuild after an edit writes again (a search index per variant, 0.7 MB at
#: 200 posts: 0.09 s at level 9, 0.04 s at level 6; feeds).
GZIP_LARGE_BYTES = 256 * 1024
#: From this size, level 3: the only such files are the search indexes (3.9 MB per variant
#: at 1,000 posts), written again by every rebuild after an edit. Level 3 took 0.06 s
#: against 0.22 s at level 6 for one, for a file 23 % larger (830 against 677 KB); browsers
#: ask for the brotli sibling (313 KB) anyway, whose quality stays.
GZIP_HUGE_BYTES = 1024 * 1024


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)


def compressible(path: PurePosixPath, size: int) -> bool:
    return path.suffix in COMPRESSED_SUFFIXES and size >= MIN_COMPRESS_BYTES


def gzip_bytes(data: bytes) -> bytes:
    # mtime=0 keeps the output identical for identical input.
    level = 9 if len(data) < GZIP_LARGE_BYTES else 6 if len(data) < GZIP_HUGE_BYTES else 3
    return gzip.compress(data, compresslevel=level, mtime=0)


def brotli_bytes(data: bytes) -> bytes:
    return bytes(brotli.compress(data, quality=BROTLI_QUALITY))


def check_out_folder(out: Path, instance: Path) -> None:
    """Refuse an OUT that would overwrite the instance or a folder the build did not make."""
    out = out.resolve()
    instance = instance.resolve()
    if out == instance or out.is_relative_to(instance):
        raise BuildError(f"{out}: OUT is inside the instance folder {instance}; choose another")
    if instance.is_relative_to(out):
        raise BuildError(f"{out}: OUT contains the instance folder {instance}; choose another")
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out}: OUT exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise BuildError(
            f"{out}: the folder is not empty and was not written by `blog build` (no {MANIFEST});"
            " the build replaces OUT entirely, so give an empty or new folder"
        )
    parent = out.parent
    if not parent.is_dir():
        raise BuildError(f"{out}: the parent folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BuildError(f"{out}: cannot write to {parent} (permission denied)")


def _load_manifest(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    # A manifest of another version still names the files, so they are reused when equal.
    return data if isinstance(data, dict) and data.get("version") in (1, MANIFEST_VERSION) else {}


def _read_manifest(out: Path) -> dict[str, str]:
    files = _load_manifest(out).get("files")
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def read_previous(out: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """``(files, state)`` of the build in ``out``: digests by relative path, and its state."""
    data = _load_manifest(out)
    state = data.get("state") if data.get("version") == MANIFEST_VERSION else None
    files = data.get("files")
    found = {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    return found, state if isinstance(state, dict) else {}


def _link_or_copy(source: Path, target: Path) -> bool:
    """Carry ``source`` over from the previous build; ``False`` when it is gone.

    One ``lstat`` decides: a regular file is linked, anything else (gone, a folder, a
    symbolic link that could point out of OUT) is not carried over.
    """
    try:
        if not stat.S_ISREG(os.lstat(source).st_mode):
            return False
    except OSError:
        return False
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return True


class _Folders:
    """Creates the folders of the new tree, each once (thousands of pages share few)."""

    def __init__(self) -> None:
        self.made: set[Path] = set()

    def parent_of(self, target: Path) -> None:
        folder = target.parent
        if folder not in self.made:
            folder.mkdir(parents=True, exist_ok=True)
            self.made.add(folder)


class SiteWriter:
    """Assembles a new site in a temporary folder next to OUT, file by file, then swaps it in.

    A full build hands each page over as soon as it is rendered, so the files are written
    while the other pages are still being rendered; nothing reaches OUT before
    :meth:`finish`, and :meth:`discard` deletes everything written so far.
    """

    def __init__(self, out: Path) -> None:
        self.out = out.resolve()
        self.previous = _read_manifest(self.out) if self.out.is_dir() else {}
        try:
            self.staging = Path(
                tempfile.mkdtemp(prefix=f".{self.out.name}.building-", dir=self.out.parent)
            )
        except OSError as error:
            raise BuildError(f"{self.out}: cannot create a folder next to it: {error}") from None
        self.folders = _Folders()
        self.digests: dict[PurePosixPath, str] = {}
        #: Files written anew; the others were linked from the previous build.
        self.written: set[PurePosixPath] = set()

    def add(
        self,
        relative: PurePosixPath,
        data: bytes,
        digest: str | None = None,
        compressed: tuple[bytes, bytes] | None = None,
    ) -> None:
        """Stage ``data`` as ``relative``; ``digest`` and ``compressed``: its own, if known."""
        name = str(relative)
        target = self.staging / relative
        siblings = (".gz", ".br") if compressible(relative, len(data)) else ()
        if relative in self.digests:
            # The same file twice: the last one wins. The first may be a hard link to the
            # previous build's file, which writing through it would change: unlinked first.
            for suffix in ("", ".gz", ".br"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
            self.written.discard(relative)
        digest = digest or hashlib.sha256(data).hexdigest()
        self.digests[relative] = digest
        self.folders.parent_of(target)
        old = self.out / relative
        if (
            self.previous.get(name) == digest
            and _link_or_copy(old, target)
            and all(
                _link_or_copy(old.with_name(old.name + s), target.with_name(target.name + s))
                for s in siblings
            )
        ):
            return
        target.write_bytes(data)
        if siblings:
            made = compressed or (gzip_bytes(data), brotli_bytes(data))
            for suffix, content in zip(siblings, made, strict=True):
                target.with_name(target.name + suffix).write_bytes(content)
        self.written.add(relative)

    def finish(
        self, kept: Mapping[PurePosixPath, str] | None, state: Mapping[str, Any] | None
    ) -> WriteReport:
        """Carry ``kept`` over, write the manifest with ``state`` and put the site at OUT."""
        out, staging = self.out, self.staging
        manifest = {str(relative): self.digests[relative] for relative in sorted(self.digests)}
        report = WriteReport(
            written=[str(relative) for relative in sorted(self.written)],
            unchanged=len(self.digests) - len(self.written),
        )
        for relative, digest in sorted((kept or {}).items()):
            name = str(relative)
            target = staging / relative
            self.folders.parent_of(target)
            old = out / relative
            if not _link_or_copy(old, target):
                raise BuildError(f"{old}: the previous build's file is missing; build again")
            for suffix in (".gz", ".br"):
                # Carried over when it exists (a small file has none).
                _link_or_copy(
                    old.with_name(old.name + suffix), target.with_name(target.name + suffix)
                )
            manifest[name] = digest
            report.unchanged += 1
        report.removed = sorted(set(self.previous) - set(manifest))
        (staging / MANIFEST).write_text(
            json.dumps(
                {"version": MANIFEST_VERSION, "files": manifest, "state": dict(state or {})},
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            encoding="utf-8",
        )
        staging.chmod(0o755)
        _swap(staging, out)
        return report

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def write_site(
    out: Path,
    files: Mapping[PurePosixPath, bytes],
    kept: Mapping[PurePosixPath, str] | None = None,
    state: Mapping[str, Any] | None = None,
    digests: Mapping[PurePosixPath, str] | None = None,
    compressed: Mapping[PurePosixPath, tuple[bytes, bytes]] | None = None,
) -> WriteReport:
    """Replace OUT with exactly ``files`` (relative paths -> bytes) and ``kept``, incrementally.

    ``kept`` names files of the previous build (relative path -> its manifest digest) that
    are carried over without being read; one that has gone missing is a BuildError, as the
    caller decided from the manifest that it exists. ``state`` is stored in the manifest.
    ``digests`` (SHA-256) and ``compressed`` (``.gz`` and ``.br`` bytes) are those of some
    of ``files``, already made.
    """
    writer = SiteWriter(out)
    try:
        for relative, data in sorted(files.items()):
            writer.add(
                relative,
                data,
                (digests or {}).get(relative),
                (compressed or {}).get(relative),
            )
        return writer.finish(kept, state)
    except BaseException:
        writer.discard()
        raise


def _digest(
    relative: PurePosixPath, data: bytes, digests: Mapping[PurePosixPath, str] | None
) -> str:
    known = digests.get(relative) if digests else None
    return known or hashlib.sha256(data).hexdigest()


def _compressed(
    relative: PurePosixPath,
    data: bytes,
    compressed: Mapping[PurePosixPath, tuple[bytes, bytes]] | None,
) -> tuple[bytes, bytes]:
    """The ``.gz`` and ``.br`` bytes of ``data``: given in ``compressed``, else made here."""
    known = compressed.get(relative) if compressed else None
    return known or (gzip_bytes(data), brotli_bytes(data))


def _siblings(
    relative: PurePosixPath,
    data: bytes,
    compressed: Mapping[PurePosixPath, tuple[bytes, bytes]] | None = None,
) -> dict[PurePosixPath, bytes]:
    """``relative`` and its compressed siblings, with their bytes."""
    found = {relative: data}
    if compressible(relative, len(data)):
        gz, br = _compressed(relative, data, compressed)
        found[relative.with_name(relative.name + ".gz")] = gz
        found[relative.with_name(relative.name + ".br")] = br
    return found


def update_site(
    out: Path,
    files: Mapping[PurePosixPath, bytes],
    kept: Mapping[PurePosixPath, str],
    state: Mapping[str, Any],
    digests: Mapping[PurePosixPath, str] | None = None,
    compressed: Mapping[PurePosixPath, tuple[bytes, bytes]] | None = None,
) -> WriteReport:
    """Bring the build in OUT up to ``files`` and ``kept`` by replacing only changed files.

    Same arguments and result as :func:`write_site`, for an OUT that holds a previous build
    (see the module's docstring for the order of the renames and what a crash leaves).
    """
    out = out.resolve()
    loaded = _load_manifest(out)
    previous = loaded.get("files") or {}
    report = WriteReport()
    manifest: dict[str, str] = {}
    changed: dict[PurePosixPath, bytes] = {}
    for relative, data in sorted(files.items()):
        name = str(relative)
        manifest[name] = _digest(relative, data, digests)
        if previous.get(name) == manifest[name] and (out / relative).is_file():
            report.unchanged += 1
        else:
            changed[relative] = data
            report.written.append(name)
    for relative, digest in kept.items():
        manifest[str(relative)] = digest
        report.unchanged += 1
    report.removed = sorted(set(previous) - set(manifest))
    new_manifest = {"version": MANIFEST_VERSION, "files": manifest, "state": dict(state)}
    if not changed and not report.removed and loaded == new_manifest:
        return report
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    except OSError as error:
        raise BuildError(f"{out}: cannot create a folder next to it: {error}") from None
    try:
        staged: list[PurePosixPath] = []
        gone: list[PurePosixPath] = []
        folders = _Folders()
        for relative, data in changed.items():
            written = _siblings(relative, data, compressed)
            for path, content in written.items():
                folders.parent_of(staging / "new" / path)
                (staging / "new" / path).write_bytes(content)
                staged.append(path)
            # A file that shrank below the compression threshold loses its old siblings.
            gone += (
                sibling
                for suffix in (".gz", ".br")
                for sibling in (relative.with_name(relative.name + suffix),)
                if sibling not in written
            )
        for name in report.removed:
            relative = PurePosixPath(name)
            gone += [relative, *(relative.with_name(relative.name + s) for s in (".gz", ".br"))]
        (staging / MANIFEST).write_text(
            json.dumps(new_manifest, ensure_ascii=False, separators=(",", ":")),
            encoding="utf-8",
        )
        _commit(out, staging, staged, gone)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _commit(
    out: Path, staging: Path, staged: list[PurePosixPath], gone: list[PurePosixPath]
) -> None:
    """Rename ``staged`` files (and the manifest, last) into OUT and remove ``gone`` ones.

    ``staging/new`` holds the staged files. Every old version is first hard-linked into
    ``staging/old``; an exception puts them all back, so OUT is either fully updated or as
    it was.
    """
    saved_root = staging / "old"
    folders = _Folders()
    done: list[tuple[Path, Path | None]] = []
    try:
        for relative in staged:
            target = out / relative
            saved: Path | None = saved_root / relative
            assert saved is not None
            folders.parent_of(saved)
            try:
                os.link(target, saved)
            except FileNotFoundError:
                saved = None
            folders.parent_of(target)
            os.replace(staging / "new" / relative, target)
            done.append((target, saved))
        for relative in gone:
            target = out / relative
            saved = saved_root / relative
            folders.parent_of(saved)
            try:
                os.replace(target, saved)
            except FileNotFoundError:
                continue
            done.append((target, saved))
        os.replace(staging / MANIFEST, out / MANIFEST)
    except BaseException:
        for target, saved in reversed(done):
            if saved is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(saved, target)
        raise
    for relative in gone:
        _remove_empty_folders(out, (out / relative).parent)


def _remove_empty_folders(out: Path, folder: Path) -> None:
    """Remove ``folder`` and its parents up to OUT while they are empty."""
    while folder != out and folder.is_relative_to(out):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _swap(staging: Path, out: Path) -> None:
    """Put ``staging`` at ``out``; the old site is moved aside first and deleted after."""
    if not out.exists():
        staging.rename(out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    retired.rmdir()
    out.rename(retired)
    try:
        staging.rename(out)
    except OSError:
        retired.rename(out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
