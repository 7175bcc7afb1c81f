"""What a page needs to know about an uploaded image: its address, size and WebP copies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UploadedImage:
    """An uploaded image as a page shows it: its address, pixel size and WebP copies."""

    url: str
    width: int
    height: int
    #: ``(width, url)`` of each WebP copy, narrowest first; empty for animated images.
    variants: tuple[tuple[int, str], ...]
