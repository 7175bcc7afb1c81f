"""Admin tables: sessions, login attempts, API tokens, slug redirects, uploads, rate limits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

# SlugRedirect lives with the core models: the public pages answer its 301s.
from blog.models import SlugRedirect, User, db, utcnow

__all__ = ["AdminSession", "ApiToken", "LoginAttempt", "SlugRedirect", "Upload"]


class AdminSession(db.Model):  # type: ignore[name-defined]
    """A logged-in browser; the cookie holds the random key, the row makes logout final."""

    __tablename__ = "admin_sessions"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(db.Model):  # type: ignore[name-defined]
    """One failed login, counted per client address and per user name for the lock-out."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ApiToken(db.Model):  # type: ignore[name-defined]
    """A per-user API token; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(lazy="joined")


class Upload(db.Model):  # type: ignore[name-defined]
    """An uploaded image or download, stored under a content-hash name.

    The original name is display-only (for a download, also the name it is saved as).
    """

    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    original_name: Mapped[str] = mapped_column(String(300), default="")
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Pixel size, read at upload (``None`` for uploads stored before sizes were kept).
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Widths of the WebP variants stored beside the original, e.g. ``"480,960"``; empty
    #: when there are none (animated or small images).
    variant_widths: Mapped[str] = mapped_column(String(100), default="", server_default="")

    def widths(self) -> list[int]:
        return [int(w) for w in self.variant_widths.split(",") if w]

    def is_image(self) -> bool:
        """Whether this is an image (shown in pages) rather than a file to download."""
        return self.content_type.startswith("image/")


class UploadBlob(db.Model):  # type: ignore[name-defined]
    """An upload's bytes kept in the database, so every machine of a site can serve it.

    Used when the site runs on PostgreSQL (``UPLOAD_STORAGE``); each machine keeps a copy on
    its own disk, named by the same content hash, and reads the database only on a miss.
    A table of its own, so listing uploads never reads their bytes.
    """

    __tablename__ = "upload_blobs"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RateCounter(db.Model):  # type: ignore[name-defined]
    """Hits of one rate-limit key in one fixed time window, shared by every process."""

    __tablename__ = "rate_counters"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
