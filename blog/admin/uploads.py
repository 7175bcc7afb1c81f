"""Image uploads: type from the bytes, size-limited, stored and served under hash names.

SVG is refused rather than sanitized: it is a script-capable document, and an SVG opened
directly from this origin would run with the admin's cookies; keeping a sanitizer for it
correct is a project of its own. Authors can export PNG or WebP instead.

Where the bytes live (``UPLOAD_STORAGE``): ``files`` keeps them in the instance folder only;
``database`` also stores them in the ``upload_blobs`` table, in the same transaction as the
upload's row, so that every machine of a site sharing one PostgreSQL can serve them; each
machine then keeps its own copy in its instance folder, written on the first request, and
serves later requests from disk. ``auto`` (the default) means ``database`` on PostgreSQL and
``files`` on SQLite, whose database file is on one machine anyway. Names are content hashes,
so a local copy can never be stale and is served with immutable caching.

Responsive copies: a still image wider than 480, 960 or 1600 pixels also gets a WebP copy at
each of those widths (never enlarged), named ``<hash>-<width>.webp`` and stored exactly like
the original, so pages can offer a phone the 480-pixel copy through ``srcset``. Animated
images keep only their original: a still WebP of a GIF would lose the animation.

Downloads: a file whose name ends in one of ``UPLOAD_DOWNLOAD_EXTENSIONS`` (PDF, ZIP …) and
whose bytes are of that kind (:mod:`blog.admin.downloads`) is stored the same way, under
``<hash>.<extension>``, and always served as an attachment, never as a page.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_file
from PIL import Image, ImageOps
from sqlalchemy import select

from blog.admin.downloads import KINDS, extension_of, matches
from blog.admin.messages import human_size
from blog.admin.models import Upload, UploadBlob
from blog.models import db
from blog.uploaded_image import UploadedImage

#: Generated names only: 32 hex digits of the SHA-256 of the bytes, then for an image its
#: responsive copy's width (if any) and its extension, for a download its extension.
NAME_PATTERN = re.compile(
    r"[0-9a-f]{32}(?:(?:-[0-9]{2,4})?\.(png|jpg|gif|webp)|\.(" + "|".join(KINDS) + "))"
)
#: Widths of the WebP copies made of every still image wider than them.
VARIANT_WIDTHS = (480, 960, 1600)
#: Visually close to the original at a third of a JPEG's bytes (Pillow's 0-100 scale).
VARIANT_QUALITY = 80
#: EXIF orientations that turn the picture by 90°: browsers show such images with width
#: and height swapped, and so must the page's width/height attributes.
_QUARTER_TURNS = {5, 6, 7, 8}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
CACHE_FOREVER = "public, max-age=31536000, immutable"

files = Blueprint("uploads", __name__)


class UploadError(ValueError):
    """The file cannot be accepted; the message tells the author why."""


def sniff_image(data: bytes) -> str | None:
    """Return the extension for PNG, JPEG, GIF or WebP bytes, else ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


STORAGES = ("auto", "files", "database")


#: Images that decode to less than this are never refused for their compression ratio:
#: a flat 1920×1080 diagram legitimately shrinks several hundred times.
EXPANSION_FLOOR_BYTES = 16 * 1024 * 1024


def check_dimensions(data: bytes) -> None:
    """Refuse images too large to decode safely in a reader's browser.

    Pillow reads the header only (width, height, bands) without decoding the pixels. An
    image is refused above ``UPLOAD_MAX_PIXELS`` pixels, or when its decoded size is both
    over :data:`EXPANSION_FLOOR_BYTES` and more than ``UPLOAD_MAX_EXPANSION`` times its file
    size (a decompression bomb: 48 KB of PNG that becomes 50 MB of pixels).
    """
    max_pixels = int(current_app.config["UPLOAD_MAX_PIXELS"])
    max_expansion = int(current_app.config["UPLOAD_MAX_EXPANSION"])
    declared = _declared_size(data)
    if declared is not None and 0 in declared:
        # Pillow refuses these as unidentifiable; the author deserves the real reason.
        raise UploadError(f"图片尺寸为 {declared[0]}×{declared[1]}：没有可以显示的像素。")
    try:
        with warnings.catch_warnings():
            # We apply our own limit; Pillow's warning (and error, at twice its own) is ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                bands = len(image.getbands())
    except Image.DecompressionBombError:
        raise UploadError(
            f"图片像素过多：上限为 {max_pixels:,} 像素（UPLOAD_MAX_PIXELS）。"
        ) from None
    except (OSError, ValueError, SyntaxError) as error:  # what Pillow raises on bad headers
        raise UploadError(f"无法读取这张图片：{error}") from None
    if width < 1 or height < 1:
        raise UploadError(f"图片尺寸为 {width}×{height}：没有可以显示的像素。")
    pixels = width * height
    if pixels > max_pixels:
        raise UploadError(
            f"图片像素过多：{width}×{height} = {pixels:,} 像素，"
            f"上限为 {max_pixels:,} 像素（UPLOAD_MAX_PIXELS）。"
        )
    decoded = pixels * bands
    if decoded > EXPANSION_FLOOR_BYTES and decoded > max_expansion * len(data):
        raise UploadError(
            f"图片解压后有 {human_size(decoded)}，是文件大小的 {decoded // len(data):,} 倍，"
            f"上限为 {max_expansion} 倍（UPLOAD_MAX_EXPANSION）：可能是解压炸弹。"
        )


class ImageFacts:
    """What pages need to know of a stored image: its size as shown, its WebP copies."""

    def __init__(self, width: int, height: int, variants: list[tuple[int, bytes]]) -> None:
        self.width = width
        self.height = height
        self.variants = variants


def variant_name(name: str, width: int) -> str:
    """The stored name of the ``width``-pixel WebP copy of upload ``name``."""
    return f"{name.rsplit('.', 1)[0]}-{width}.webp"


def image_facts(data: bytes) -> ImageFacts:
    """Read the displayed size of checked image bytes and make their WebP copies.

    Runs after :func:`check_dimensions`, so decoding is bounded by ``UPLOAD_MAX_PIXELS``.
    Each copy is scaled from the next larger one (quick, and indistinguishable from
    scaling the original at these ratios).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _image_facts(data)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise UploadError(f"无法读取这张图片：{error}") from None


def _image_facts(data: bytes) -> ImageFacts:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if image.getexif().get(0x0112) in _QUARTER_TURNS:
            width, height = height, width
        widths = [w for w in sorted(VARIANT_WIDTHS, reverse=True) if w < width]
        if getattr(image, "is_animated", False) or not widths:
            return ImageFacts(width, height, [])
        image.load()
        still = ImageOps.exif_transpose(image)
    has_alpha = "A" in still.getbands() or "transparency" in still.info
    still = still.convert("RGBA" if has_alpha else "RGB")
    variants = []
    for target in widths:
        size = (target, max(1, round(height * target / width)))
        still = still.resize(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        still.save(out, "WEBP", quality=VARIANT_QUALITY, method=4)
        variants.append((target, out.getvalue()))
    variants.reverse()
    return ImageFacts(width, height, variants)


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """The width and height a PNG or GIF header declares (``None`` for other formats)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    return None


def uploads_folder() -> Path:
    return Path(current_app.instance_path) / "uploads"


def stores_in_database() -> bool:
    """Whether upload bytes go to the database (see the module docstring)."""
    storage = str(current_app.config["UPLOAD_STORAGE"])
    if storage == "auto":
        return db.engine.dialect.name == "postgresql"
    return storage == "database"


def _write_local(name: str, data: bytes) -> Path:
    """Write ``data`` as ``uploads/name`` atomically (a reader never sees part of a file)."""
    folder = uploads_folder()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.part"
    partial.write_bytes(data)
    partial.replace(target)
    return target


def display_name(original: str, fallback: str = "image") -> str:
    """The uploaded file's own name, reduced to something safe to show as alt text."""
    base = re.split(r"[\\/]", original)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return re.sub(r"[\[\]()<>\x00-\x1f]", "", stem).strip()[:100] or fallback


def download_extensions() -> list[str]:
    """The extensions this site accepts for download (``UPLOAD_DOWNLOAD_EXTENSIONS``)."""
    return [str(ext).lower() for ext in current_app.config["UPLOAD_DOWNLOAD_EXTENSIONS"]]


def _check_size(data: bytes) -> None:
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    if len(data) > limit:
        raise UploadError(f"文件太大：上限为 {human_size(limit)}（UPLOAD_MAX_BYTES）。")
    if not data:
        raise UploadError("文件是空的。")


def store_file(data: bytes, original_name: str, uploaded_by: str) -> Upload:
    """Store an image or, when its name has an allowed download extension, a download.

    The name decides only which check the bytes must pass: a ``.pdf`` must be a PDF, and
    anything else must be an image (its type read from the bytes, as for every image).
    """
    extension = extension_of(original_name)
    if extension in download_extensions():
        return store_download(data, original_name, uploaded_by)
    try:
        return store_upload(data, original_name, uploaded_by)
    except UploadError:
        _check_size(data)
        if sniff_image(data) is not None or _looks_like_svg(data):
            raise
        raise UploadError(
            "只接受图片（PNG、JPEG、GIF、WebP）和这些扩展名的下载文件："
            f"{'、'.join(download_extensions()) or '（无）'}（UPLOAD_DOWNLOAD_EXTENSIONS）。"
        ) from None


def store_download(data: bytes, original_name: str, uploaded_by: str) -> Upload:
    """Store a file for download once its bytes are checked against its name's extension."""
    _check_size(data)
    extension = extension_of(original_name)
    if extension not in KINDS or extension not in download_extensions():
        raise UploadError(f"不接受扩展名为 .{extension} 的文件（UPLOAD_DOWNLOAD_EXTENSIONS）。")
    if not matches(extension, data):
        raise UploadError(
            f"文件名是 .{extension}，内容却不是 {KINDS[extension].label} 文件：不接受。"
        )
    name = f"{hashlib.sha256(data).hexdigest()[:32]}.{extension}"
    existing = db.session.scalar(select(Upload).where(Upload.name == name))
    if existing is not None:
        return existing
    upload = Upload(
        name=name,
        original_name=f"{display_name(original_name, 'file')}.{extension}",
        content_type=KINDS[extension].content_type,
        size=len(data),
        uploaded_by=uploaded_by,
    )
    _store_with_facts(upload, data, ImageFacts(0, 0, []))
    return upload


def _looks_like_svg(data: bytes) -> bool:
    return data.lstrip()[:5].lower() in (b"<?xml", b"<svg ") or b"<svg" in data[:1024].lower()


def store_upload(data: bytes, original_name: str, uploaded_by: str) -> Upload:
    """Validate and store image ``data``; the same bytes uploaded twice are stored once."""
    _check_size(data)
    extension = sniff_image(data)
    if extension is None:
        if _looks_like_svg(data):
            raise UploadError("不接受 SVG：它可以包含脚本。请导出为 PNG 或 WebP 后再上传。")
        raise UploadError("只接受 PNG、JPEG、GIF 和 WebP 图片（按文件内容判断，而非扩展名）。")
    check_dimensions(data)
    name = f"{hashlib.sha256(data).hexdigest()[:32]}.{extension}"
    existing = db.session.scalar(select(Upload).where(Upload.name == name))
    if existing is not None and existing.width is not None:
        return existing
    facts = image_facts(data)
    # An upload stored before sizes were kept gains them (and its copies) when uploaded again.
    upload = existing or Upload(
        name=name,
        original_name=display_name(original_name),
        content_type=CONTENT_TYPES[extension],
        size=len(data),
        uploaded_by=uploaded_by,
    )
    _store_with_facts(upload, data, facts)
    return upload


def _store_with_facts(upload: Upload, data: bytes, facts: ImageFacts) -> None:
    """Store ``data`` and its WebP copies, record their sizes on ``upload``, and commit."""
    name = upload.name
    stored = {name: data, **{variant_name(name, w): copy for w, copy in facts.variants}}
    shared = stores_in_database()
    if shared:
        # Row and bytes commit together: if the database goes away mid-upload, neither
        # is stored, and the local copy is written only once the commit has succeeded.
        for stored_name, stored_data in stored.items():
            if db.session.get(UploadBlob, stored_name) is None:
                db.session.add(UploadBlob(name=stored_name, data=stored_data))
    else:
        for stored_name, stored_data in stored.items():
            _write_local(stored_name, stored_data)
    if facts.width:  # a download has no pixel size
        upload.width, upload.height = facts.width, facts.height
    upload.variant_widths = ",".join(str(w) for w, _ in facts.variants)
    db.session.add(upload)
    db.session.commit()
    if shared:
        for stored_name, stored_data in stored.items():
            _write_local(stored_name, stored_data)


@dataclass
class ResizeReport:
    """What :func:`resize_old_uploads` did: uploads given sizes, copies made, failures."""

    resized: list[str]
    copies: int
    #: ``(upload name, reason)`` of each upload left as it was.
    failed: list[tuple[str, str]]


def resize_old_uploads() -> ResizeReport:
    """Record the size of, and make the WebP copies for, uploads stored before either existed.

    Reads each upload's bytes from wherever this site keeps them (the instance folder, or
    the database for ``UPLOAD_STORAGE = "database"``) and stores the copies the same way a
    new upload's are. An upload whose bytes are missing or unreadable is reported and left
    as it was; the others are committed one by one, so an interruption loses nothing.
    """
    report = ResizeReport([], 0, [])
    names = list(
        db.session.scalars(
            select(Upload.name).where(
                Upload.width.is_(None), Upload.content_type.startswith("image/")
            )
        )
    )
    for name in sorted(names):
        upload = db.session.scalar(select(Upload).where(Upload.name == name))
        if upload is None:  # removed meanwhile
            continue
        data = _stored_bytes(name)
        if data is None:
            report.failed.append(
                (name, "its bytes are missing (neither a file nor in the database)")
            )
            continue
        try:
            facts = image_facts(data)
        except UploadError as error:
            report.failed.append((name, str(error)))
            continue
        _store_with_facts(upload, data, facts)
        report.resized.append(name)
        report.copies += len(facts.variants)
    return report


def _stored_bytes(name: str) -> bytes | None:
    """The bytes of stored upload ``name``: this machine's copy, else the database's."""
    path = uploads_folder() / name
    if path.is_file():
        return path.read_bytes()
    return db.session.scalar(select(UploadBlob.data).where(UploadBlob.name == name))


#: An upload's address as an author writes it: ``/uploads/<name>``, optionally with the
#: site's own scheme and host or a path prefix in front.
_UPLOAD_URL = re.compile(
    r"(?:https?://[^\s/()\"'<>]+)?(?:/[^\s()\"'<>]*)?/uploads/([0-9a-f]{32}\.(?:png|jpg|gif|webp))"
)


def uploaded_images(text: str) -> dict[str, UploadedImage]:
    """Find the uploads ``text`` refers to; map each address, as written, to its facts.

    Uploads without a known size (stored before sizes were kept) are left out.
    """
    found: dict[str, str] = {}
    for match in _UPLOAD_URL.finditer(text):
        found.setdefault(match.group(0), match.group(1))
    if not found:
        return {}
    rows = db.session.scalars(select(Upload).where(Upload.name.in_(set(found.values()))))
    by_name = {row.name: row for row in rows if row.width and row.height}
    images = {}
    for url, name in found.items():
        row = by_name.get(name)
        if row is None or row.width is None or row.height is None:
            continue
        prefix = url[: -len(name)]
        variants = tuple((w, prefix + variant_name(name, w)) for w in row.widths())
        images[url] = UploadedImage(url, row.width, row.height, variants)
    return images


def markdown_snippet(upload: Upload) -> str:
    if not upload.is_image():
        return f"[{upload.original_name}](/uploads/{upload.name})"
    return f"![{upload.original_name}](/uploads/{upload.name})"


@files.route("/uploads/<name>")
def serve(name: str) -> Response:
    match = NAME_PATTERN.fullmatch(name)
    if match is None:
        abort(404)
    download = None
    if match.group(2):
        # Only a recorded download is served, under the name it was uploaded with.
        download = db.session.scalar(select(Upload).where(Upload.name == name))
        if download is None:
            abort(404)
    path = uploads_folder() / name
    if not path.is_file():
        path = _fetch_from_database(name)
    if download is None:
        response = send_file(
            path, mimetype=CONTENT_TYPES[match.group(1)], conditional=True, etag=True
        )
    else:
        response = send_file(
            path,
            mimetype=KINDS[match.group(2)].content_type,
            as_attachment=True,
            download_name=download.original_name or name,
            conditional=True,
            etag=True,
        )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = CACHE_FOREVER
    return response


def _fetch_from_database(name: str) -> Path:
    """Copy an upload another machine stored into this machine's folder; 404 if unknown."""
    if not stores_in_database():
        abort(404)
    data = db.session.scalar(select(UploadBlob.data).where(UploadBlob.name == name))
    if data is None:
        abort(404)
    return _write_local(name, data)


def copy_uploads_to_database() -> tuple[int, int]:
    """Store every upload of this instance's folder in the database; return (copied, kept).

    For a site moving from one machine to several: run once on the machine that has the
    files. Uploads already in the database are left as they are.
    """
    copied = kept = 0
    for upload in db.session.scalars(select(Upload).order_by(Upload.id)):
        if db.session.get(UploadBlob, upload.name) is not None:
            kept += 1
            continue
        names = [upload.name, *(variant_name(upload.name, w) for w in upload.widths())]
        for name in names:
            path = uploads_folder() / name
            if not path.is_file():
                raise UploadError(f"{path}: the file of upload {upload.name} is missing")
            db.session.add(UploadBlob(name=name, data=path.read_bytes()))
        db.session.commit()
        copied += 1
    return copied, kept
