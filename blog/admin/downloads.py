"""Files offered for download (PDF, ZIP …): which kinds are allowed and whether bytes are one.

A download is accepted only when its name's extension is in ``UPLOAD_DOWNLOAD_EXTENSIONS``
*and* its bytes are of that kind (their magic numbers, read by the ``filetype`` library):
a ``.pdf`` that is really an HTML page or a program is refused. Plain-text kinds have no
magic number; they must be UTF-8 without NUL bytes.

Downloads are never shown as pages: they are served with ``Content-Disposition:
attachment``, ``X-Content-Type-Options: nosniff`` and the content type of this table (text
as UTF-8), never the one a browser or the uploader claims.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype

#: A ``filetype`` matcher name, or ``TEXT`` for UTF-8 text.
TEXT = "text"


@dataclass(frozen=True)
class DownloadKind:
    """One extension that may be uploaded for download."""

    #: Which check the bytes must pass: a ``filetype`` extension, or :data:`TEXT`.
    check: str
    #: The type it is served with.
    content_type: str
    #: What it is, for messages.
    label: str


#: Every extension this site knows how to check; ``UPLOAD_DOWNLOAD_EXTENSIONS`` picks among
#: them. A ``.zip`` accepts any ZIP container (an EPUB or DOCX is one); a ``.docx`` must be
#: a Word document.
KINDS: dict[str, DownloadKind] = {
    "pdf": DownloadKind("pdf", "application/pdf", "PDF"),
    "zip": DownloadKind("zip", "application/zip", "ZIP"),
    "gz": DownloadKind("gz", "application/gzip", "gzip"),
    "tgz": DownloadKind("gz", "application/gzip", "gzip"),
    "tar": DownloadKind("tar", "application/x-tar", "tar"),
    "bz2": DownloadKind("bz2", "application/x-bzip2", "bzip2"),
    "xz": DownloadKind("xz", "application/x-xz", "xz"),
    "7z": DownloadKind("7z", "application/x-7z-compressed", "7-Zip"),
    "epub": DownloadKind("epub", "application/epub+zip", "EPUB"),
    "docx": DownloadKind(
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word",
    ),
    "xlsx": DownloadKind(
        "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"
    ),
    "pptx": DownloadKind(
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "PowerPoint",
    ),
    "odt": DownloadKind("odt", "application/vnd.oasis.opendocument.text", "OpenDocument"),
    "ods": DownloadKind("ods", "application/vnd.oasis.opendocument.spreadsheet", "OpenDocument"),
    "odp": DownloadKind("odp", "application/vnd.oasis.opendocument.presentation", "OpenDocument"),
    "txt": DownloadKind(TEXT, "text/plain", "UTF-8 text"),
    "csv": DownloadKind(TEXT, "text/csv", "UTF-8 text"),
}


def extension_of(name: str) -> str:
    """The lower-case extension of a file name (``""`` when it has none)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base.strip(".") else ""


def unknown_extensions(allowed: list[str]) -> list[str]:
    """The entries of an ``UPLOAD_DOWNLOAD_EXTENSIONS`` list that this site cannot check."""
    return [ext for ext in allowed if ext.lower() not in KINDS]


def matches(extension: str, data: bytes) -> bool:
    """Whether ``data`` really is a file of kind ``extension`` (a key of :data:`KINDS`)."""
    kind = KINDS[extension]
    if kind.check == TEXT:
        if b"\x00" in data:
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    matcher = filetype.get_type(ext=kind.check)
    return matcher is not None and bool(matcher.match(bytearray(data[:8192])))
