"""Responsive images: WebP copies at upload, srcset/size/lazy on pages, titled figures.

Runs on SQLite and, with BLOG_TEST_POSTGRES_URL, on PostgreSQL with the bytes stored in
the database (UPLOAD_STORAGE "auto"), where the copies must be served from there too.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from admin_support import create_user, csrf_token, login
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from blog.admin.models import Upload, UploadBlob
from blog.admin.uploads import copy_uploads_to_database
from blog.models import Post, db
from blog.posts import PostFields, save_post
from tests.conftest import write_config


def photo_bytes(width: int, height: int, kind: str = "JPEG") -> bytes:
    """A real photo-like image: a gradient, so the encoders have something to keep."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def animated_gif(width: int = 1200, height: int = 300) -> bytes:
    frames = [Image.new("P", (width, height), color) for color in (10, 200, 90)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def png_with_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` (the pixel data is one tiny row)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def upload(client: FlaskClient, data: bytes, filename: str, json: bool = True) -> TestResponse:
    token = csrf_token(client, "/admin/uploads/")
    return client.post(
        "/admin/uploads/",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": token, "Accept": "application/json" if json else "text/html"},
    )


def uploaded(client: FlaskClient, data: bytes, filename: str = "photo.jpg") -> dict[str, str]:
    response = upload(client, data, filename)
    assert response.status_code == 201, response.data.decode()
    assert response.json is not None
    return response.json


def body_of(client: FlaskClient, slug: str) -> str:
    page = client.get(f"/posts/{slug}/")
    assert page.status_code == 200
    match = re.search(r'<div class="post-body">(.*?)</div>\n', page.get_data(as_text=True), re.S)
    assert match, page.get_data(as_text=True)
    return match.group(1)


def test_wide_photo_gets_webp_copies_at_each_smaller_width_never_upscaled(
    app: Flask, client: FlaskClient
) -> None:
    answer = uploaded(client, photo_bytes(1200, 800))
    name = answer["url"].rsplit("/", 1)[1]
    stem = name.split(".")[0]
    assert answer["width"] == 1200 and answer["height"] == 800
    assert answer["markdown"] == f"![photo](/uploads/{name})"
    for width in (480, 960):
        served = client.get(f"/uploads/{stem}-{width}.webp")
        assert served.status_code == 200
        assert served.mimetype == "image/webp"
        with Image.open(io.BytesIO(served.data)) as copy:
            assert copy.format == "WEBP"
            assert copy.size == (width, round(800 * width / 1200))
    # 1600 would be wider than the original: no such copy.
    assert client.get(f"/uploads/{stem}-1600.webp").status_code == 404
    with app.app_context():
        row = db.session.query(Upload).filter_by(name=name).one()
        assert row.widths() == [480, 960]


def test_page_gives_uploaded_image_its_size_srcset_and_lazy_loading(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    first = uploaded(client, photo_bytes(2000, 1000), "cover.jpg")["url"]
    second = uploaded(client, photo_bytes(700, 700), "square.jpg")["url"]
    make_post(f"![封面]({first})\n\n正文。\n\n![方图]({second})\n", slug="pictures")
    body = body_of(client, "pictures")
    cover, square = re.findall(r"<img [^>]*>", body)
    stem = first.rsplit(".", 1)[0]
    assert 'width="2000"' in cover and 'height="1000"' in cover
    assert (
        f'srcset="{stem}-480.webp 480w, {stem}-960.webp 960w, {stem}-1600.webp 1600w, '
        f'{first} 2000w"'
    ) in cover
    assert 'sizes="' in cover
    # The first image is usually in view when the page opens: not lazy.
    assert 'loading="lazy"' not in cover
    assert 'loading="lazy"' in square
    assert 'width="700"' in square and 'height="700"' in square
    assert f"{second.rsplit('.', 1)[0]}-480.webp 480w" in square
    assert "960w" not in square


def test_titled_image_becomes_a_figure_with_its_title_as_caption(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    url = uploaded(client, photo_bytes(600, 400))["url"]
    source = (
        f'前言。\n\n![损失曲线]({url} "图 1：训练损失随步数下降")\n\n'
        f'行内 ![小图]({url} "不是图注") 在句中。\n'
    )
    make_post(source, slug="figure")
    body = body_of(client, "figure")
    figure = re.search(r'<figure class="image-figure">(.*?)</figure>', body, re.S)
    assert figure, body
    assert '<img alt="损失曲线"' in figure.group(1) or 'alt="损失曲线"' in figure.group(1)
    assert "<figcaption>图 1：训练损失随步数下降</figcaption>" in figure.group(1)
    assert 'title="图 1' not in body
    # An image inside a sentence stays inline (a figure cannot sit in a paragraph).
    assert body.count("<figure") == 1
    assert 'title="不是图注"' in body


def test_image_from_elsewhere_is_left_as_written_but_lazy(
    client: FlaskClient, make_post: Callable[..., Post]
) -> None:
    make_post(
        "第一段。\n\n![a](https://example.org/a.png)\n\n![b](https://example.org/b.png)\n",
        slug="ext",
    )
    body = body_of(client, "ext")
    images = re.findall(r"<img [^>]*>", body)
    assert len(images) == 2
    assert all("srcset" not in image and "width=" not in image for image in images)
    assert 'loading="lazy"' in images[1]


def test_animated_gif_is_kept_whole_without_copies(app: Flask, client: FlaskClient) -> None:
    data = animated_gif()
    answer = uploaded(client, data, "spinner.gif")
    name = answer["url"].rsplit("/", 1)[1]
    assert answer["width"] == 1200
    served = client.get(answer["url"])
    assert served.data == data
    with Image.open(io.BytesIO(served.data)) as gif:
        assert gif.n_frames == 3
    stem = name.split(".")[0]
    assert client.get(f"/uploads/{stem}-480.webp").status_code == 404
    with app.app_context():
        assert db.session.query(Upload).filter_by(name=name).one().widths() == []
    files = sorted(p.name for p in (Path(app.instance_path) / "uploads").iterdir())
    assert files == [name]


def test_image_bomb_is_refused_by_the_pixel_limit_and_nothing_is_stored(
    app: Flask, client: FlaskClient
) -> None:
    response = upload(client, png_with_header(60_000, 60_000), "bomb.png")
    assert response.status_code == 400
    assert response.json is not None
    assert "UPLOAD_MAX_PIXELS" in response.json["error"]
    with app.app_context():
        assert db.session.query(Upload).count() == 0
        assert db.session.query(UploadBlob).count() == 0


def test_zero_by_zero_image_is_refused_with_a_reason(client: FlaskClient) -> None:
    response = upload(client, png_with_header(0, 0), "empty.png")
    assert response.status_code == 400
    assert response.json is not None
    assert "0×0" in response.json["error"]
    # The upload page (no script) says the same.
    page = upload(client, png_with_header(0, 0), "empty.png", json=False)
    assert page.status_code == 400
    assert "0×0" in page.get_data(as_text=True)


def test_json_upload_without_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/admin/uploads/",
        data={"file": (io.BytesIO(photo_bytes(600, 400)), "x.jpg")},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.query(Upload).count() == 0


def test_copies_are_stored_in_the_database_when_uploads_live_there(
    make_app: Callable[..., Flask], database: str
) -> None:
    settings = {"UPLOAD_STORAGE": "database"}
    app = make_app(DATABASE_URL=database, **settings) if database else make_app(**settings)
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    name = uploaded(client, photo_bytes(1000, 500))["url"].rsplit("/", 1)[1]
    stem = name.split(".")[0]
    with app.app_context():
        names = {row.name for row in db.session.query(UploadBlob)}
    assert names == {name, f"{stem}-480.webp", f"{stem}-960.webp"}
    # Another machine has no local copy: it serves the variant from the database.
    for path in (Path(app.instance_path) / "uploads").iterdir():
        path.unlink()
    served = client.get(f"/uploads/{stem}-960.webp")
    assert served.status_code == 200 and served.mimetype == "image/webp"


def test_exif_rotated_photo_reports_its_displayed_size(client: FlaskClient) -> None:
    image = Image.linear_gradient("L").resize((1000, 600)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    answer = uploaded(client, out.getvalue())
    assert (answer["width"], answer["height"]) == (600, 1000)
    stem = answer["url"].rsplit(".", 1)[0]
    with Image.open(io.BytesIO(client.get(f"{stem}-480.webp").data)) as copy:
        assert copy.size == (480, 800)


def test_moving_uploads_into_the_database_takes_their_copies_along(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(UPLOAD_STORAGE="files")
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    name = uploaded(client, photo_bytes(1000, 500))["url"].rsplit("/", 1)[1]
    stem = name.split(".")[0]
    with app.app_context():
        assert copy_uploads_to_database() == (1, 0)
        stored = {row.name: row.data for row in db.session.query(UploadBlob)}
    assert set(stored) == {name, f"{stem}-480.webp", f"{stem}-960.webp"}
    folder = Path(app.instance_path) / "uploads"
    assert stored[f"{stem}-960.webp"] == (folder / f"{stem}-960.webp").read_bytes()


def _forget_sizes(app: Flask, name: str) -> None:
    """Make ``name`` look like an upload stored before sizes and copies were kept."""
    stem = name.split(".")[0]
    with app.app_context():
        row = db.session.query(Upload).filter_by(name=name).one()
        row.width = row.height = None
        row.variant_widths = ""
        db.session.query(UploadBlob).filter(UploadBlob.name.like(f"{stem}-%")).delete(
            synchronize_session=False
        )
        db.session.commit()
    for copy in (Path(app.instance_path) / "uploads").glob(f"{stem}-*"):
        copy.unlink()


@pytest.mark.parametrize("storage", ["files", "database"])
def test_resize_command_backfills_sizes_and_copies_of_old_uploads(
    make_app: Callable[..., Flask],
    instance: Path,
    run_cli: Callable[..., object],
    storage: str,
) -> None:
    write_config(instance, UPLOAD_STORAGE=storage)  # the command reads the instance's config
    app = make_app()
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    url = uploaded(client, photo_bytes(1200, 600), "old.jpg")["url"]
    name = url.rsplit("/", 1)[1]
    stem = name.split(".")[0]
    _forget_sizes(app, name)
    if storage == "database":  # another machine: only the database has the bytes
        for path in (Path(app.instance_path) / "uploads").iterdir():
            path.unlink()
    with app.app_context():
        save_post(PostFields(title="旧图", source=f"![旧图]({url})\n", slug="old"), author="t")
    assert "srcset" not in body_of(client, "old")

    result = run_cli("uploads", "resize")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "Resized 1 upload(s) (2 WebP copies made); re-rendered 1 post(s)" in (
        result.output  # type: ignore[attr-defined]
    )
    with app.app_context():
        row = db.session.query(Upload).filter_by(name=name).one()
        assert (row.width, row.height, row.widths()) == (1200, 600, [480, 960])
        blobs = {b.name for b in db.session.query(UploadBlob)}
    assert ({f"{stem}-480.webp", f"{stem}-960.webp"} <= blobs) == (storage == "database")
    image = re.findall(r"<img [^>]*>", body_of(client, "old"))[0]
    assert 'width="1200"' in image and f"{stem}-480.webp 480w" in image
    served = client.get(f"/uploads/{stem}-960.webp")
    assert served.status_code == 200 and served.mimetype == "image/webp"
    # A second run finds nothing left to do.
    again = run_cli("uploads", "resize")
    assert "Resized 0 upload(s)" in again.output  # type: ignore[attr-defined]


def test_resize_command_names_an_upload_whose_bytes_are_gone(
    make_app: Callable[..., Flask], run_cli: Callable[..., object]
) -> None:
    app = make_app(UPLOAD_STORAGE="files")
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    name = uploaded(client, photo_bytes(800, 400))["url"].rsplit("/", 1)[1]
    _forget_sizes(app, name)
    (Path(app.instance_path) / "uploads" / name).unlink()
    result = run_cli("uploads", "resize")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert f"upload {name} left as it was: its bytes are missing" in result.output  # type: ignore[attr-defined]
    with app.app_context():
        assert db.session.query(Upload).filter_by(name=name).one().width is None
