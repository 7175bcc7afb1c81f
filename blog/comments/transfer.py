"""Comments in and out: ``comments.json`` beside exported posts, and Waline's JSON export.

``blog export DIR`` writes ``DIR/comments.json``; ``blog import DIR`` reads it back after
the posts, so a site moves with its comments (client addresses stay behind: they are
kept for moderation only). Importing is idempotent by each comment's ``uid``. A comment
whose post is missing is reported and skipped, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from blog.comments.fields import CommentError, CommentFields, clean_fields
from blog.comments.models import APPROVED, DELETED, PENDING, SPAM, STATUSES, Comment
from blog.comments.service import new_comment, within_depth
from blog.models import Post, db
from blog.posts import bump_content_version
from blog.render import RenderError

FILE_NAME = "comments.json"
FORMAT_VERSION = 1
#: Waline's statuses -> ours.
WALINE_STATUS = {"approved": APPROVED, "waiting": PENDING, "spam": SPAM}
#: Imported text may be longer than a new reader comment (old systems had other limits).
IMPORT_MAX_CHARS = 100_000


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self, *, dry_run: bool = False) -> str:
        verb = "to import" if dry_run else "imported"
        return (
            f"comments: {self.imported} {verb}, {self.skipped} already present, "
            f"{len(self.failures)} failed"
        )

    def merged(self, other: ImportReport | None) -> ImportReport:
        """This report and ``other`` added up (comments from several sources of one import)."""
        if other is None:
            return self
        return ImportReport(
            self.imported + other.imported,
            self.skipped + other.skipped,
            self.failures + other.failures,
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def export_comments(folder: Path) -> int:
    """Write every comment (not their client addresses) to ``folder/comments.json``.

    A site without comments gets no file, so its export is exactly its posts.
    """
    rows = db.session.scalars(select(Comment).order_by(Comment.id)).all()
    if not rows:
        return 0
    uid_of = {row.id: row.uid for row in rows}
    items = [
        {
            "uid": row.uid,
            "post": row.post.slug,
            "parent": uid_of.get(row.parent_id) if row.parent_id else None,
            "name": row.name,
            "email": row.email,
            "website": row.website,
            "source": row.source,
            "status": row.status,
            "is_author": row.is_author,
            "created_at": _iso(row.created_at),
            "approved_at": _iso(row.approved_at),
        }
        for row in rows
    ]
    folder.mkdir(parents=True, exist_ok=True)
    data = {"format": "blog-comments", "version": FORMAT_VERSION, "comments": items}
    (folder / FILE_NAME).write_text(
        json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return len(items)


def _utc(value: Any) -> datetime | None:
    """An ISO time or epoch milliseconds as naive UTC (how every date is stored)."""
    if not value:
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _insert(item: dict[str, Any], posts: dict[str, Post], where: str) -> Comment:
    """Store one imported comment; raise ``CommentError``/``ValueError`` naming the problem."""
    post = posts.get(str(item.get("post", "")))
    if post is None:
        raise CommentError("post", f"{where}: no post with slug {item.get('post')!r}")
    status = str(item.get("status", APPROVED))
    if status not in STATUSES:
        raise CommentError("status", f"{where}: status must be one of {', '.join(STATUSES)}")
    source = str(item.get("source", ""))
    if status == DELETED and not source.strip():
        fields = CommentFields(name=str(item.get("name", "")), email="", website="", body="")
    else:
        form = {
            "name": str(item.get("name") or "匿名"),
            "email": str(item.get("email") or ""),
            "website": str(item.get("website") or ""),
            "body": source,
        }
        try:
            fields = clean_fields(form, IMPORT_MAX_CHARS)
        except CommentError as error:
            raise CommentError(error.key, f"{where}: {error.key}: {error.message}") from None
    parent = None
    if item.get("parent"):
        parent = db.session.scalar(select(Comment).where(Comment.uid == str(item["parent"])))
        if parent is None or parent.post_id != post.id:
            raise CommentError("parent", f"{where}: parent {item['parent']!r} is not imported")
    created = _utc(item.get("created_at"))
    return new_comment(
        post,
        fields,
        status=status,
        parent=within_depth(parent),
        is_author=bool(item.get("is_author", False)),
        created_at=created,
        approved_at=_utc(item.get("approved_at")) or (created if status == APPROVED else None),
        uid=str(item["uid"]),
    )


def import_items(items: Iterable[dict[str, Any]], source: str) -> ImportReport:
    """Import comments given in our export format (parents before their replies)."""
    report = ImportReport()
    posts = {p.slug: p for p in db.session.scalars(select(Post).where(Post.deleted_at.is_(None)))}
    known = set(db.session.scalars(select(Comment.uid)))
    for index, item in enumerate(items, start=1):
        where = f"{source}: comment {index}"
        if not isinstance(item, dict) or not item.get("uid"):
            report.failures.append(f"{where}: not an object with a uid")
            continue
        if str(item["uid"]) in known:
            report.skipped += 1
            continue
        try:
            # Every check runs before the row is added, so a failure leaves nothing behind.
            _insert(item, posts, where)
        except (CommentError, RenderError, ValueError, TypeError) as error:
            report.failures.append(str(getattr(error, "message", None) or error))
            continue
        known.add(str(item["uid"]))
        report.imported += 1
    if report.imported:
        bump_content_version()
    db.session.commit()
    return report


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommentError("file", f"{path}: cannot read JSON: {error}") from None


def import_comments_file(path: Path) -> ImportReport:
    """Import a ``comments.json`` written by :func:`export_comments`."""
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
        raise CommentError("file", f"{path}: not a comments export (no 'comments' list)")
    return import_items(data["comments"], str(path))


def _slug_from_url(url: str) -> str:
    """Waline keys threads by page path: ``/posts/<slug>/`` (any variant prefix) -> slug."""
    parts = [unquote(p) for p in urlsplit(url).path.split("/") if p]
    if "posts" in parts and parts.index("posts") + 1 < len(parts):
        return parts[parts.index("posts") + 1]
    if "pages" in parts and parts.index("pages") + 1 < len(parts):
        return parts[parts.index("pages") + 1]
    return parts[-1] if parts else ""


def waline_items(data: Any, source: str) -> list[dict[str, Any]]:
    """Translate Waline's export (``{"data": {"Comment": [...]}}``) into our items."""
    rows = data.get("data", {}).get("Comment") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise CommentError("file", f"{source}: not a Waline export (no data.Comment list)")
    by_id = {str(r.get("objectId", r.get("id", ""))): r for r in rows if isinstance(r, dict)}

    def depth(row: dict[str, Any]) -> int:
        seen, level = set(), 0
        while row.get("pid") and str(row["pid"]) in by_id and str(row["pid"]) not in seen:
            seen.add(str(row["pid"]))
            row = by_id[str(row["pid"])]
            level += 1
        return level

    ordered = sorted(by_id.values(), key=lambda r: (depth(r), str(r.get("insertedAt", ""))))
    return [
        {
            "uid": f"waline-{row.get('objectId', row.get('id'))}",
            "post": _slug_from_url(str(row.get("url", ""))),
            "parent": f"waline-{row['pid']}" if row.get("pid") else None,
            "name": row.get("nick") or "匿名",
            "email": row.get("mail") or "",
            "website": row.get("link") or "",
            "source": row.get("comment") or "",
            "status": WALINE_STATUS.get(str(row.get("status", "approved")), PENDING),
            "created_at": row.get("insertedAt") or row.get("createdAt"),
        }
        for row in ordered
    ]


def import_waline(path: Path) -> ImportReport:
    """Import Waline's JSON export (admin → export), matching page paths to post slugs."""
    return import_items(waline_items(_load_json(path), str(path)), str(path))
