"""``blog import`` and ``blog export``: Markdown files with front matter in and out.

An import has two steps per file: :func:`blog.migrate.draft.make_draft` reads and converts
it (nothing is written), then :func:`store_draft` uploads its images, saves it through
``save_post`` and records its old URL. ``--dry-run`` runs only the first step. A whole
import settles a window of files at a time (:func:`settle_draft`), renders them at once
on every core (:mod:`blog.prerender`) and saves them in order (:func:`save_settled`).
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from flask import current_app
from sqlalchemy import select

from blog.admin.models import Upload
from blog.admin.uploads import UploadError, store_download, store_upload, uploads_folder
from blog.comments.transfer import ImportReport as CommentReport
from blog.comments.transfer import import_items
from blog.dates import site_zone, to_local
from blog.frontmatter import FrontMatterError
from blog.migrate import assets as asset_refs
from blog.migrate import wordpress
from blog.migrate.draft import Index, Options, PostDraft, build_index, make_draft
from blog.migrate.permalinks import feed_paths, taxonomy_paths
from blog.migrate.report import FileReport
from blog.migrate.site import MARKDOWN_SUFFIXES, Site, SiteError, recognise
from blog.models import DRAFT, Post, Redirect, db
from blog.posts import ConflictError, FieldError, draft_to_render, same_content, save_post
from blog.prerender import RenderAhead, default_workers
from blog.related import deferred
from blog.render import Rendered, RenderError, render_warnings
from blog.render_budget import RenderBusyError
from blog.slugs import SlugError, check_slug

__all__ = ["MARKDOWN_SUFFIXES", "ImportReport", "import_paths", "markdown_files"]

T = TypeVar("T")


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)
    #: ``path:line: message`` for every render warning a plugin stored on an imported post
    #: (``post.render_meta["warnings"]``), e.g. a formula shown as an error box.
    warnings: list[str] = field(default_factory=list)
    #: ``path: note`` for what plugins noticed and did (``post.render_meta["notices"]``).
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0
    files: list[FileReport] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)
    engines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    #: What became of the comments that came with the posts (WordPress); ``None`` if none came.
    comments: CommentReport | None = None

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        return (
            f"{verb} {self.imported}, updated {self.updated}, unchanged {self.unchanged}, "
            f"failed {len(self.failures)}, warnings {len(self.warnings)} in {self.seconds:.1f}s"
        )

    def details(self) -> list[str]:
        """Per-file constructs and images, the old-URL mapping and totals, for the CLI."""
        lines = [f"source: {', '.join(self.engines)}"] if self.engines else []
        for report in self.files:
            if report.constructs or report.notes or report.images_found or report.files_found:
                lines.extend(report.lines())
        lines.extend(self.notes)
        if self.redirects:
            lines.append(f"old URLs → new ({len(self.redirects)}):")
            lines.extend(f"    {old} → {new}" for old, new in sorted(self.redirects.items()))
        totals = {k: sum(r.count(k) for r in self.files) for k in ("converted", "kept", "unknown")}
        images, files = (
            [sum(getattr(r, f"{kind}_{n}") for r in self.files) for n in COUNTS]
            for kind in ("images", "files")
        )
        lines.append(
            f"constructs: {totals['converted']} converted, {totals['kept']} kept, "
            f"{totals['unknown']} unknown; images: {images[0]} found, {images[1]} imported, "
            f"{images[2]} missing; files: {files[0]} found, {files[1]} imported, "
            f"{files[2]} missing; old URLs redirected: {len(self.redirects)}"
        )
        return lines


#: What the totals count of images and of other files.
COUNTS = ("found", "imported", "missing")


def markdown_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand folders to the Markdown files inside them, sorted for a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in MARKDOWN_SUFFIXES)
        else:
            yield path


def _options() -> Options:
    return Options(
        zone=site_zone(),
        slug_style=str(current_app.config["SLUG_STYLE"]),
        upload_limit=int(current_app.config["UPLOAD_MAX_BYTES"]),
    )


def import_paths(
    paths: Iterable[Path],
    author: str = "import",
    on_file: Callable[[Path], Any] | None = None,
    *,
    dry_run: bool = False,
    media_dir: Path | None = None,
    jobs: int | None = None,
) -> ImportReport:
    """Import sites, WordPress exports, folders or files; a bad file is reported and skipped.

    Posts are rendered on ``jobs`` processes at once (default: one per core; 1 renders
    each post as it is saved) and written by this process alone.
    """
    report = ImportReport(dry_run=dry_run)
    started = time.perf_counter()
    workers = 1 if dry_run else (default_workers() if jobs is None else jobs)
    # Files are settled (slugs, images) in order, then a window of them is rendered at
    # once on every core, then saved in order, one transaction a file.
    window = max(1, workers * 4) if workers > 1 else 1
    options = _options()
    claimed: dict[str, Path] = {}
    # Saves only note the posts whose related lists change; they are chosen once, at the
    # end, for every post saved and its neighbours (one pass, not one per save and neighbour).
    with deferred():
        for path in paths:
            try:
                site = recognise(path)
            except SiteError as error:
                report.failures.append(str(error))
                continue
            report.engines.append(f"{site.engine} ({path})")
            if site.engine == "wordpress":
                drafts, index = wordpress.drafts_from_export(site, options, media_dir)
            else:
                index = build_index(site, options)
                drafts = [make_draft(site, source, index, options) for source in site.files]
            report.notes.extend(f"skipped {line}" for line in site.skipped)
            _relink(site, drafts)
            stored: list[PostDraft] = []
            with RenderAhead(current_app._get_current_object(), workers) as ahead:  # type: ignore[attr-defined]
                # Window n + 1 is settled and its renders started before window n is saved,
                # so the workers render while this process writes.
                waiting: deque[tuple[list[PostDraft], list[Settled | str | None]]] = deque()
                for start in range(0, len(drafts), window):
                    batch = drafts[start : start + window]
                    settled: list[Settled | str | None] = []
                    stored_posts = _posts_by_slug(batch)
                    for draft in batch:
                        draft.author = draft.author if draft.author != "import" else author
                        report.files.append(draft.report)
                        ready = _store_reported(draft, claimed, report, site, dry_run, stored_posts)
                        if isinstance(ready, Settled) and ahead.workers > 1:
                            assert draft.fields is not None
                            ready.ahead = ahead.submit(
                                draft_to_render(draft.fields, ready.existing)
                            )
                        settled.append(ready)
                    waiting.append((batch, settled))
                    if len(waiting) > (1 if ahead.workers > 1 else 0):  # one process: in order
                        _finish(*waiting.popleft(), report, stored, on_file)
                while waiting:
                    _finish(*waiting.popleft(), report, stored, on_file)
            _record_redirects(site, stored, index, report, dry_run)
            _import_comments(stored, report, str(path), dry_run)
    report.seconds = time.perf_counter() - started
    return report


def _import_comments(
    stored: list[PostDraft], report: ImportReport, source: str, dry_run: bool
) -> None:
    """Store the comments that came with ``stored`` posts, through the comments' own import."""
    items = []
    for draft in stored:
        if draft.fields is not None:
            for item in draft.comments:
                items.append({**item, "post": draft.fields.slug})
    if not items:
        return
    if report.comments is None:
        report.comments = CommentReport()
    if dry_run:
        report.comments.imported += len(items)
        return
    outcome = import_items(items, source)
    report.comments.imported += outcome.imported
    report.comments.skipped += outcome.skipped
    report.comments.failures.extend(outcome.failures)


def _finish(
    drafts: list[PostDraft],
    settled: list[Settled | str | None],
    report: ImportReport,
    stored: list[PostDraft],
    on_file: Callable[[Path], Any] | None,
) -> None:
    """Save the settled posts of a window in order; count each file's outcome."""
    for draft, ready in zip(drafts, settled, strict=True):
        outcome = ready
        if isinstance(ready, Settled):
            outcome = _save_reported(ready, report, ready.ahead)
        if isinstance(outcome, str):
            setattr(report, outcome, getattr(report, outcome) + 1)
            stored.append(draft)
        if on_file is not None:
            on_file(draft.source.path)


def _save_reported(
    settled: Settled, report: ImportReport, ahead: Future[Rendered | None] | None
) -> str | None:
    def save() -> str:
        rendered = ahead.result() if ahead is not None else None
        # Every render made ahead ends by its own deadline, so a slot frees up within
        # about one render budget; twice that (and at least a minute) is a stuck server.
        budget = float(current_app.config["RENDER_TIMEOUT_SECONDS"])
        give_up = time.monotonic() + max(60.0, 2 * budget)
        while True:
            try:
                return save_settled(
                    settled, warnings=report.warnings, notices=report.notices, rendered=rendered
                )
            except RenderBusyError:
                # Every render slot is taken by the renders made ahead (or by a server on
                # this instance): a bulk import waits its turn rather than giving up.
                db.session.rollback()
                if time.monotonic() > give_up:
                    raise RenderError("no render slot became free; try `--jobs 1`") from None

    return _reported(settled.draft, report, save)


LINK_TARGET = re.compile(r"(\]\(\s*<?|\bhref=[\"'])([^)\s>\"']+)")


def _relink(site: Site, drafts: list[PostDraft]) -> None:
    """Point links to the old site's posts (``{{ site.url }}/2017/01/x/``) at the new URLs."""
    moved = {
        d.old_path.rstrip(
            "/"
        ): f"/{'pages' if d.fields.kind == 'page' else 'posts'}/{d.fields.slug}/"
        for d in drafts
        if d.fields is not None and d.old_path
    }
    if not moved:
        return
    prefix = site.site_url.removesuffix(site.base_path) if site.base_path else site.site_url

    def swap(match: re.Match[str]) -> str:
        url = match.group(2)
        path, _hash, anchor = url.partition("#")
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        new = (
            moved.get(path.removesuffix("index.html").rstrip("/")) if path.startswith("/") else None
        )
        if new is None:
            return match.group(0)
        return match.group(1) + new + (f"#{anchor}" if anchor else "")

    for draft in drafts:
        if draft.fields is not None:
            draft.fields.source = LINK_TARGET.sub(swap, draft.fields.source)


def _posts_by_slug(drafts: list[PostDraft]) -> dict[str, Post | None]:
    """The stored post (``None``: none yet) of each slug ``drafts`` ask for, in one query.

    A slug that fails its check is left out: settling its draft reports why.
    """
    slugs: dict[str, Post | None] = {}
    for draft in drafts:
        if draft.fields is not None:
            try:
                slugs[check_slug(draft.fields.slug or "")] = None
            except SlugError:
                continue
    if slugs:
        for post in db.session.scalars(select(Post).where(Post.slug.in_(list(slugs)))):
            slugs[post.slug] = post
    return slugs


def _store_reported(
    draft: PostDraft,
    claimed: dict[str, Path],
    report: ImportReport,
    site: Site,
    dry_run: bool,
    stored_posts: dict[str, Post | None] | None = None,
) -> Settled | str | None:
    """Settle ``draft`` (see :func:`settle_draft`); a failure is reported, ``None``."""
    if draft.error is not None or draft.fields is None:
        report.failures.append(draft.error or f"{draft.source.path}: not converted")
        return None
    return _reported(
        draft,
        report,
        lambda: settle_draft(
            draft,
            claimed,
            dedupe=site.engine != "plain",
            dry_run=dry_run,
            stored_posts=stored_posts,
        ),
    )


def _reported(draft: PostDraft, report: ImportReport, step: Callable[[], T]) -> T | None:
    """``step()``, or ``None`` with the file's failure reported and its transaction undone."""
    try:
        return step()
    except FrontMatterError as error:
        db.session.rollback()
        location = f"{draft.source.path}:{error.line}" if error.line else str(draft.source.path)
        report.failures.append(f"{location}: {error.reason}")
    # A conflict: the post was saved by someone else during the import; a rerun
    # imports the file onto the new version.
    except (FieldError, SlugError, RenderError, ConflictError, OSError) as error:
        db.session.rollback()
        report.failures.append(f"{draft.source.path}: {error}")
    return None


def store_draft(
    draft: PostDraft,
    claimed: dict[str, Path],
    *,
    dedupe: bool = False,
    dry_run: bool = False,
    warnings: list[str] | None = None,
    notices: list[str] | None = None,
) -> str:
    """Save one converted post (its images first); return imported/updated/unchanged.

    What plugins asked the author to fix in the saved post (``render_meta["warnings"]``)
    is appended to ``warnings`` as ``path:line: message``, and what they noticed and did
    (``render_meta["notices"]``) to ``notices``.

    A slug taken by an earlier file of the same import fails the file, or, for a whole
    site (``dedupe``), gets a ``-2`` suffix and a note, so nothing is lost.
    """
    settled = settle_draft(draft, claimed, dedupe=dedupe, dry_run=dry_run)
    if isinstance(settled, str):
        return settled
    return save_settled(settled, warnings=warnings, notices=notices)


@dataclass
class Settled:
    """A converted post whose slug is claimed and images are stored, ready to be saved."""

    draft: PostDraft
    existing: Post | None
    #: Its render, being made ahead on another core (see :mod:`blog.prerender`).
    ahead: Future[Rendered | None] | None = None


def settle_draft(
    draft: PostDraft,
    claimed: dict[str, Path],
    *,
    dedupe: bool = False,
    dry_run: bool = False,
    stored_posts: dict[str, Post | None] | None = None,
) -> Settled | str:
    """The first half of :func:`store_draft`: claim the slug, store the images, compare.

    Returns what the import did when nothing is left to save (``unchanged``, or the
    outcome of a dry run), else the :class:`Settled` post for :func:`save_settled`.
    ``stored_posts`` (see :func:`_posts_by_slug`) holds the stored post of slugs read
    ahead for a window of files; another slug is looked up here.
    """
    fields = draft.fields
    assert fields is not None
    slug = check_slug(fields.slug or "")
    if slug in claimed:
        if not dedupe:
            raise FieldError("slug", f"{slug!r} is also the slug of {claimed[slug]} in this import")
        number = 2
        while f"{slug}-{number}" in claimed:
            number += 1
        draft.report.note(
            None, f"slug {slug!r} is also used by {claimed[slug]}; stored as {slug}-{number}"
        )
        slug = f"{slug}-{number}"
    fields.slug = slug
    fields.validate()
    claimed[slug] = draft.source.path
    if stored_posts is not None and slug in stored_posts:
        existing = stored_posts[slug]
    else:
        existing = db.session.scalar(select(Post).where(Post.slug == slug))
    report = draft.report
    if dry_run:
        report.images_imported = sum(asset.kind == "image" for asset in draft.assets)
        report.files_imported = len(draft.assets) - report.images_imported
        return "imported" if existing is None else "updated"
    names: list[str | None] = []
    for asset in draft.assets:
        store = store_upload if asset.kind == "image" else store_download
        try:
            original = original_name_of(asset.path)
        except ValueError as error:
            report.note(asset.line, str(error))
            original = asset.path.name
        try:
            upload = store(asset.path.read_bytes(), original, draft.author)
        except (UploadError, OSError) as error:
            names.append(None)
            if asset.kind == "image":
                report.images_missing += 1
            else:
                report.files_missing += 1
            why = str(error).rstrip("。")
            if asset.kind == "file":
                why += "; the link is kept as written"
            report.note(asset.line, f"{asset.kind} {asset.reference}: {why}")
        else:
            names.append(upload.name)
            if asset.kind == "image":
                report.images_imported += 1
            else:
                report.files_imported += 1
    fields.source = asset_refs.replace_tokens(fields.source, names, draft.assets)
    fields.meta = {
        key: asset_refs.replace_tokens(value, names, draft.assets)
        if isinstance(value, str)
        else value
        for key, value in fields.meta.items()
    }
    if existing is not None and same_content(existing, fields):
        return "unchanged"
    return Settled(draft, existing)


def save_settled(
    settled: Settled,
    *,
    warnings: list[str] | None = None,
    notices: list[str] | None = None,
    rendered: Rendered | None = None,
) -> str:
    """The second half of :func:`store_draft`: save the post (with ``rendered``, a render
    made ahead, when it matches) and collect its warnings; return imported/updated."""
    draft, existing = settled.draft, settled.existing
    assert draft.fields is not None
    saved = save_post(draft.fields, author=draft.author, post=existing, rendered=rendered)
    path = draft.source.path
    if warnings is not None:
        offset = draft.body_line - 1
        for warning in render_warnings(saved.render_meta):
            line = warning.get("line")
            where = f"{path}:{line + offset}" if isinstance(line, int) else str(path)
            warnings.append(f"{where}: {warning['message']}")
    if notices is not None:
        found = (saved.render_meta or {}).get("notices") or []
        notices.extend(f"{path}: {note}" for note in found)
    return "imported" if existing is None else "updated"


def _record_redirects(
    site: Site, stored: list[PostDraft], index: Index, report: ImportReport, dry_run: bool
) -> None:
    """Store old post, category, tag and feed URLs of ``site`` → their new URLs (301)."""
    mapping: dict[str, str] = {}
    for draft in stored:
        if draft.fields is None or not draft.old_path:
            continue
        folder = "pages" if draft.fields.kind == "page" else "posts"
        mapping[draft.old_path] = f"/{folder}/{draft.fields.slug}/"
        for old in draft.old_aliases:
            mapping[old] = mapping[draft.old_path]
        for alias in draft.fields.meta.get("aliases") or []:
            if isinstance(alias, str) and alias.strip():
                mapping[site.base_path + "/" + alias.strip().lstrip("/")] = mapping[draft.old_path]
    names: dict[str, set[str]] = {"categories": set(), "tags": set()}
    for draft in stored:
        if draft.fields is not None:
            # Every category of the post has its listing here, so every old listing
            # that showed it leads to one.
            names["categories"].update(draft.fields.categories)
            if draft.fields.category:
                names["categories"].add(draft.fields.category)
            names["tags"].update(draft.fields.tags)
            for old, name in draft.old_category_paths.items():
                mapping[old] = f"/categories/{name}/"
    for kind, values in names.items():
        if kind == "categories" and site.engine == "hexo":
            continue  # nested under their parents: each draft's old_category_paths
        for name in values:
            for old in taxonomy_paths(site, kind, name):
                mapping[old] = f"/{kind}/{name}/"
    for old in feed_paths(site):
        mapping[old] = "/feed.xml"
    for old, new in site.redirects.items():
        kind, _slash, name = new.strip("/").partition("/")
        if kind not in names or name in names[kind]:  # no redirect to an empty listing
            mapping[old] = new
    # An old path that is also a page of the new site (Hexo's "C++" tag was /tags/C/, and a
    # tag "C" exists too) stays with that page: a redirect there would never be reached.
    targets = {new.rstrip("/") for new in mapping.values()} | {
        f"/{kind}/{name}" for kind, values in names.items() for name in values
    }
    mapping = {
        old: new
        for old, new in mapping.items()
        if old.rstrip("/") != new.rstrip("/") and old.rstrip("/") not in targets
    }
    report.redirects.update(mapping)
    if dry_run or not mapping:
        return
    origin = f"import:{site.engine}"
    for old, new in mapping.items():
        row = db.session.get(Redirect, old)
        if row is None:
            db.session.add(Redirect(old_path=old, target=new, origin=origin))
        else:
            row.target = new
    db.session.commit()


def export_document(post: Post) -> str:
    """Serialise ``post`` as Markdown with YAML front matter that imports back identically."""
    front: dict[str, Any] = {"title": post.title, "slug": post.slug}
    if post.published_at is not None:
        front["date"] = to_local(post.published_at).isoformat()
    front["updated"] = to_local(post.updated_at).isoformat()
    names = [c.name for c in post.categories]
    if len(names) > 1:  # primary first, as Hugo/Jekyll/Hexo read a list
        front["categories"] = names
    elif post.category is not None:
        front["categories"] = post.category.name
    front["tags"] = [t.name for t in post.tags]
    front["lang"] = post.lang
    if post.status == DRAFT:
        front["draft"] = True
    if post.kind != "post":
        front["kind"] = post.kind
    front.update(post.meta)
    header = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return f"---\n{header}---\n{post.source}"


UPLOAD_LINK = re.compile(r"/uploads/([0-9a-f]{32}\.(?:png|jpg|gif|webp))")


#: Written beside the exported uploads: the name each was uploaded under, which a download
#: is saved as. An import of the folder reads it back (:func:`original_name_of`).
ORIGINAL_NAMES = "original-names.json"


def original_name_of(path: Path) -> str:
    """The name the file at ``path`` was uploaded under, when it lies in the ``uploads``
    folder of a ``blog export`` (else its own name); a malformed list is a ValueError
    naming it."""
    listing = path.parent / ORIGINAL_NAMES
    if not listing.is_file():
        return path.name
    try:
        names = json.loads(listing.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(
            f"{listing}: not valid JSON ({error}); {path.name} keeps its name"
        ) from None
    if not isinstance(names, dict):
        raise ValueError(f"{listing}: not an object of names; {path.name} keeps its name")
    name = names.get(path.name)
    return name if isinstance(name, str) and name.strip() else path.name


def export_posts(folder: Path) -> int:
    """Write every post not in the trash to ``folder/<slug>.md``; return how many.

    The uploads go to ``folder/uploads/`` under their own (content-hash) names, so the
    posts' ``/uploads/...`` links still point at them after an import elsewhere, with
    their original names in :data:`ORIGINAL_NAMES`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    posts = db.session.scalars(
        select(Post).where(Post.deleted_at.is_(None)).order_by(Post.id)
    ).all()
    for post in posts:
        target = folder / f"{check_slug(post.slug)}.md"
        target.write_text(export_document(post), encoding="utf-8", newline="\n")
    uploads = db.session.scalars(select(Upload).order_by(Upload.id)).all()
    if uploads:
        (folder / "uploads").mkdir(exist_ok=True)
    for upload in uploads:
        source = uploads_folder() / upload.name
        if source.is_file():
            (folder / "uploads" / upload.name).write_bytes(source.read_bytes())
    originals = {u.name: u.original_name for u in uploads if u.original_name not in ("", u.name)}
    if originals:
        listing = json.dumps(originals, ensure_ascii=False, indent=1, sort_keys=True)
        (folder / "uploads" / ORIGINAL_NAMES).write_text(listing + "\n", encoding="utf-8")
    return len(posts)
