"""Dates: stored as naive UTC, shown and parsed in the site's TIMEZONE."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def site_zone() -> ZoneInfo:
    return ZoneInfo(str(current_app.config["TIMEZONE"]))


def to_local(moment: datetime) -> datetime:
    """Convert a stored naive-UTC datetime to the site's time zone."""
    return moment.replace(tzinfo=UTC).astimezone(site_zone())


def to_utc(moment: datetime | date, zone: ZoneInfo) -> datetime:
    """Normalise a front-matter date (naive means ``zone``) to naive UTC for storage."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(tzinfo=None)


def format_date(moment: datetime | None, style: str | None = None) -> str:
    """Format a stored date for readers: ``2026年1月11日`` (DATE_FORMAT "chinese") or ISO."""
    if moment is None:
        return ""
    local = to_local(moment)
    if (style or current_app.config["DATE_FORMAT"]) == "iso":
        return local.strftime("%Y-%m-%d")
    return f"{local.year}年{local.month}月{local.day}日"


def format_datetime(moment: datetime | None, style: str | None = None) -> str:
    """Format a stored time for people, in the site's time zone: ``2026年1月11日 14:30``."""
    if moment is None:
        return ""
    local = to_local(moment)
    return f"{format_date(moment, style)} {local:%H:%M}"
