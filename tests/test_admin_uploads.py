"""Image uploads: type by content, generated names, size limit, safe serving."""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from admin_support import create_user, csrf_token, find, login
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from blog.admin.uploads import NAME_PATTERN, sniff_image


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real, decodable PNG (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def logged_in(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return logged_in(app)


def upload(client: FlaskClient, data: bytes, filename: str) -> TestResponse:
    token = csrf_token(client, "/admin/uploads/")
    return client.post(
        "/admin/uploads/",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def stored_files(app: Flask) -> list[Path]:
    folder = Path(app.instance_path) / "uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def snippet_of(response: TestResponse) -> str:
    return find(response.data, "input", id="added-snippet").attrs["value"]


def test_png_renamed_exe_is_accepted_as_png_under_a_generated_name(
    app: Flask, client: FlaskClient
) -> None:
    response = upload(client, png_bytes(), "holiday.exe")
    assert response.status_code == 200
    snippet = snippet_of(response)
    match = re.fullmatch(r"!\[holiday\]\(/uploads/([0-9a-f]{32}\.png)\)", snippet)
    assert match, snippet
    assert [p.name for p in stored_files(app)] == [match.group(1)]
    served = client.get(f"/uploads/{match.group(1)}")
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.data == png_bytes()
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_html_renamed_png_is_refused(app: Flask, client: FlaskClient) -> None:
    response = upload(client, b"<!DOCTYPE html><script>alert(1)</script>", "cat.png")
    assert response.status_code == 400
    assert "PNG" in find(response.data, "p", role="alert").text
    assert stored_files(app) == []


def test_svg_is_refused_with_the_reason(app: Flask, client: FlaskClient) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = upload(client, svg, "diagram.svg")
    assert response.status_code == 400
    assert "SVG" in find(response.data, "p", role="alert").text
    assert stored_files(app) == []


def test_file_just_over_the_limit_is_refused(make_app: Callable[..., Flask]) -> None:
    app = make_app(UPLOAD_MAX_BYTES=1000)
    client = logged_in(app)
    response = upload(client, png_bytes() + b"\x00" * 1000, "big.png")
    assert response.status_code == 400
    assert "1,000" in find(response.data, "p", role="alert").text
    assert stored_files(app) == []


def test_far_oversized_request_is_refused_before_it_is_read(make_app: Callable[..., Flask]) -> None:
    app = make_app(UPLOAD_MAX_BYTES=1000)
    client = logged_in(app)
    response = upload(client, png_bytes() + b"\x00" * 200_000, "huge.png")
    assert response.status_code == 413
    assert "UPLOAD_MAX_BYTES" in find(response.data, "p", role="alert").text
    assert stored_files(app) == []


def test_path_like_filename_is_never_used_as_a_path(app: Flask, client: FlaskClient) -> None:
    instance = Path(app.instance_path)
    response = upload(client, png_bytes(3, 3), "../../x.png")
    assert response.status_code == 200
    assert not (instance.parent / "x.png").exists()
    assert not (instance / "x.png").exists()
    names = [p.name for p in stored_files(app)]
    assert len(names) == 1 and NAME_PATTERN.fullmatch(names[0])
    assert snippet_of(response) == f"![x](/uploads/{names[0]})"


def test_same_image_twice_is_stored_once(app: Flask, client: FlaskClient) -> None:
    upload(client, png_bytes(), "a.png")
    upload(client, png_bytes(), "b.png")
    assert len(stored_files(app)) == 1


def test_upload_requires_csrf_token(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/admin/uploads/",
        data={"file": (io.BytesIO(png_bytes()), "a.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert stored_files(app) == []


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fconfig.toml",
        "0123456789abcdef0123456789abcdef.svg",
        "0123456789ABCDEF0123456789ABCDEF.png",
        "x.png",
    ],
)
def test_uploads_url_only_serves_generated_names(client: FlaskClient, name: str) -> None:
    assert client.get(f"/uploads/{name}").status_code == 404


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n....", "png"),
        (b"\xff\xd8\xff\xe0....", "jpg"),
        (b"GIF89a....", "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"<html>", None),
    ],
)
def test_image_type_comes_from_magic_bytes(data: bytes, expected: str | None) -> None:
    assert sniff_image(data) == expected


def png_with_header(width: int, height: int, color_type: int = 6) -> bytes:
    """A PNG whose header claims ``width``×``height`` RGBA pixels, with one empty row of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


def inflating_png() -> bytes:
    """A real PNG of 5000×2500 transparent pixels: about 50 KB that decode to 50 MB."""
    image_module = pytest.importorskip("PIL.Image")
    out = io.BytesIO()
    image_module.new("RGBA", (5000, 2500)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_header_claiming_ten_billion_pixels_is_refused(app: Flask, client: FlaskClient) -> None:
    response = upload(client, png_with_header(100_000, 100_000), "claim.png")
    assert response.status_code == 400
    assert "UPLOAD_MAX_PIXELS" in find(response.data, "p", role="alert").text
    assert stored_files(app) == []


def test_image_over_the_pixel_limit_is_refused_naming_it(app: Flask, client: FlaskClient) -> None:
    response = upload(client, png_with_header(8000, 6000), "big.png")
    assert response.status_code == 400
    message = find(response.data, "p", role="alert").text
    assert "8000×6000" in message
    assert "UPLOAD_MAX_PIXELS" in message
    assert stored_files(app) == []


def test_decompression_bomb_is_refused_naming_the_ratio(app: Flask, client: FlaskClient) -> None:
    bomb = inflating_png()
    assert len(bomb) < 100_000
    response = upload(client, bomb, "bomb.png")
    assert response.status_code == 400
    assert "UPLOAD_MAX_EXPANSION" in find(response.data, "p", role="alert").text
    assert stored_files(app) == []


def test_limits_are_configurable(make_app: Callable[..., Flask]) -> None:
    app = make_app(UPLOAD_MAX_PIXELS=100, UPLOAD_MAX_EXPANSION=100_000)
    client = logged_in(app)
    assert upload(client, png_bytes(10, 10), "ok.png").status_code == 200
    assert upload(client, png_bytes(11, 10), "over.png").status_code == 400
    relaxed = make_app(UPLOAD_MAX_EXPANSION=100_000).test_client()  # same instance and user
    assert login(relaxed).status_code == 302
    assert upload(relaxed, inflating_png(), "flat.png").status_code == 200


def test_truncated_image_is_refused_with_a_message(app: Flask, client: FlaskClient) -> None:
    response = upload(client, b"\x89PNG\r\n\x1a\n\x00\x00", "cut.png")
    assert response.status_code == 400
    assert stored_files(app) == []
