"""Reader input for a comment: decoded, checked and normalised before anything else sees it.

Written for comments alone (reader input is stricter than an author's): no control
characters, no NUL, no lone surrogates, no invalid UTF-8 (which the form decoder turns
into U+FFFD), lengths within limits, a website that is an http(s) URL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from blog.i18n import ui_text

NAME_MAX = 50
EMAIL_MAX = 254
WEBSITE_MAX = 500
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: "javascript:…", "data:…": a scheme with no "//" (a host with a port has digits after ":").
_OTHER_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*:(?!\d)", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class CommentError(Exception):
    """A comment is refused; ``key`` names the field, ``status`` the HTTP answer."""

    def __init__(self, key: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.status = status


@dataclass
class CommentFields:
    """What a reader typed, after :func:`clean_fields`."""

    name: str
    email: str
    website: str
    body: str


def clean_text(value: str, key: str, label: str, *, limit: int, multiline: bool = False) -> str:
    """Return ``value`` normalised (NFC, trimmed); raise :class:`CommentError` if unusable."""
    if "\ufffd" in value:
        raise CommentError(key, ui_text("%(field)s contains invalid UTF-8.", field=ui_text(label)))
    if _SURROGATE.search(value) or "\x00" in value:
        raise CommentError(
            key, ui_text("%(field)s contains invalid characters.", field=ui_text(label))
        )
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(value) or (not multiline and "\n" in value):
        raise CommentError(
            key, ui_text("%(field)s contains control characters.", field=ui_text(label))
        )
    value = unicodedata.normalize("NFC", value).strip()
    if len(value) > limit:
        raise CommentError(
            key,
            ui_text(
                "%(field)s is too long: %(length)d characters, at most %(limit)d.",
                field=ui_text(label),
                length=len(value),
                limit=limit,
            ),
            413,
        )
    return value


def clean_website(value: str) -> str:
    """An http(s) URL or ""; a bare host name gets ``https://``."""
    value = clean_text(value, "website", "Website", limit=WEBSITE_MAX)
    if not value:
        return ""
    if "://" not in value:
        if _OTHER_SCHEME.match(value):
            raise CommentError(
                "website", ui_text("The website must start with http:// or https://.")
            )
        value = "https://" + value
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # "[not-an-ipv6]" and other unparseable hosts
        raise CommentError("website", ui_text("The website address is not valid.")) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise CommentError("website", ui_text("The website must start with http:// or https://."))
    if any(c.isspace() or c in "\"'<>`\\" for c in value):
        raise CommentError(
            "website", ui_text("The website address contains characters that are not allowed.")
        )
    return value


def clean_fields(form: dict[str, str], max_chars: int) -> CommentFields:
    """Check every field a reader fills in; the first problem is raised."""
    name = clean_text(form.get("name", ""), "name", "Name", limit=NAME_MAX)
    if not name:
        raise CommentError("name", ui_text("Please give your name."))
    email = clean_text(form.get("email", ""), "email", "Email", limit=EMAIL_MAX).lower()
    if email and not _EMAIL.fullmatch(email):
        raise CommentError("email", ui_text("The email address is not valid."))
    website = clean_website(form.get("website", ""))
    body = clean_text(form.get("body", ""), "body", "Comment", limit=max_chars, multiline=True)
    if not body:
        raise CommentError("body", ui_text("The comment is empty."))
    return CommentFields(name=name, email=email, website=website, body=body)
