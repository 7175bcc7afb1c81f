"""Files uploaded for download (PDF, ZIP …): allowlist, sniffing, limits, attachment serving."""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from admin_support import create_user, csrf_token, find, find_all, login
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from test_admin_uploads import png_bytes, stored_files, upload
from werkzeug.test import TestResponse

from blog.admin.models import Upload
from blog.admin.tokens import create_token
from blog.config import ConfigError
from blog.models import Post, User, db


def pdf_bytes(colour: str = "white") -> bytes:
    """A real one-page PDF (Pillow writes it)."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PDF")
    return out.getvalue()


def zip_bytes(**members: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    create_user(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def added_url(response: TestResponse) -> str:
    snippet = find(response.data, "input", id="added-snippet").attrs["value"]
    match = re.fullmatch(r"\[([^\]]*)\]\((/uploads/[0-9a-f]{32}\.[a-z0-9]+)\)", snippet)
    assert match, snippet
    return match.group(2)


def error_of(response: TestResponse) -> str:
    return find(response.data, "p", role="alert").text


def test_pdf_is_stored_and_served_as_an_attachment_under_its_own_name(
    app: Flask, client: FlaskClient
) -> None:
    data = pdf_bytes()
    response = upload(client, data, "讲义 第1章.pdf")
    assert response.status_code == 200
    snippet = find(response.data, "input", id="added-snippet").attrs["value"]
    assert snippet.startswith("[讲义 第1章.pdf](/uploads/")  # a link, not an image
    served = client.get(added_url(response))
    assert served.status_code == 200
    assert served.data == data
    assert served.mimetype == "application/pdf"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    disposition = served.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E8%AE%B2%E4%B9%89%20%E7%AC%AC1%E7%AB%A0.pdf" in disposition


def test_the_uploads_list_links_a_download_instead_of_showing_an_image(
    client: FlaskClient,
) -> None:
    url = added_url(upload(client, zip_bytes(readme="hello"), "code.zip"))
    page = client.get("/admin/uploads/")
    assert [a.attrs["href"] for a in find_all(page.data, "a", **{"class": "upload-file"})] == [url]
    assert not [img for img in find_all(page.data, "img") if img.attrs.get("src") == url]
    form_input = find(page.data, "input", type="file")
    assert ".pdf" in form_input.attrs["accept"] and "image/png" in form_input.attrs["accept"]


def test_a_pdf_that_is_not_a_pdf_is_refused(app: Flask, client: FlaskClient) -> None:
    response = upload(client, b"<html><script>alert(1)</script></html>", "report.pdf")
    assert response.status_code == 400
    assert "内容却不是 PDF" in error_of(response)
    assert stored_files(app) == []


def test_an_image_named_pdf_is_refused_too(app: Flask, client: FlaskClient) -> None:
    response = upload(client, png_bytes(), "photo.pdf")
    assert response.status_code == 400
    assert stored_files(app) == []


def test_an_extension_outside_the_allowlist_is_refused_naming_the_key(
    app: Flask, client: FlaskClient
) -> None:
    response = upload(client, b"MZ\x90\x00\x03", "setup.exe")
    assert response.status_code == 400
    assert "UPLOAD_DOWNLOAD_EXTENSIONS" in error_of(response)
    assert stored_files(app) == []


def test_text_files_must_be_utf8(client: FlaskClient) -> None:
    ok = upload(client, "年份,数量\n2024,3\n".encode(), "数据.csv")
    assert ok.status_code == 200
    served = client.get(added_url(ok))
    assert served.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert served.headers["Content-Disposition"].startswith("attachment;")
    refused = upload(client, b"\x00\x01binary", "notes.txt")
    assert refused.status_code == 400


def test_the_allowlist_is_configurable(make_app: Callable[..., Flask]) -> None:
    app = make_app(UPLOAD_DOWNLOAD_EXTENSIONS=["zip"])
    create_user(app)
    client = app.test_client()
    login(client)
    assert upload(client, zip_bytes(a="b"), "a.zip").status_code == 200
    refused = upload(client, pdf_bytes(), "a.pdf")
    assert refused.status_code == 400
    assert "zip（UPLOAD_DOWNLOAD_EXTENSIONS）" in error_of(refused)


def test_an_allowlist_entry_that_cannot_be_checked_stops_the_app(
    make_app: Callable[..., Flask],
) -> None:
    with pytest.raises(ConfigError, match="UPLOAD_DOWNLOAD_EXTENSIONS: cannot check 'html'"):
        make_app(UPLOAD_DOWNLOAD_EXTENSIONS=["pdf", "html"])


def test_a_download_over_the_upload_limit_is_refused(make_app: Callable[..., Flask]) -> None:
    app = make_app(UPLOAD_MAX_BYTES=2000)
    create_user(app)
    client = app.test_client()
    login(client)
    big = zip_bytes(noise=os.urandom(3000).hex())
    assert len(big) > 2000
    response = upload(client, big, "big.zip")
    assert response.status_code in (400, 413)
    assert "UPLOAD_MAX_BYTES" in response.get_data(as_text=True)
    assert stored_files(app) == []


def test_download_upload_needs_login_and_csrf(app: Flask, client: FlaskClient) -> None:
    form = {"file": (io.BytesIO(pdf_bytes()), "a.pdf")}
    assert client.post("/admin/uploads/", data=form).status_code == 400  # no CSRF token
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/admin/login")
    response = anonymous.post(
        "/admin/uploads/", data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes()), "a.pdf")}
    )
    assert response.status_code in (302, 401, 403)
    assert stored_files(app) == []


def test_an_unrecorded_download_name_is_not_served(app: Flask, client: FlaskClient) -> None:
    folder = Path(app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    name = "0" * 32 + ".pdf"
    (folder / name).write_bytes(pdf_bytes())
    assert client.get(f"/uploads/{name}").status_code == 404
    assert client.get("/uploads/" + "0" * 32 + ".html").status_code == 404


def test_the_api_accepts_a_download_with_a_token(app: Flask) -> None:
    create_user(app)
    with app.app_context():
        token = create_token(db.session.scalars(select(User)).one(), "laptop")
    client = app.test_client()
    form = {"file": (io.BytesIO(pdf_bytes("red")), "slides.pdf")}
    assert client.post("/api/uploads", data=form).status_code == 401
    headers = {"Authorization": f"Bearer {token}"}
    form = {"file": (io.BytesIO(pdf_bytes("red")), "slides.pdf")}
    response = client.post("/api/uploads", data=form, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["download"] is True and body["content_type"] == "application/pdf"
    assert body["markdown"] == f"[slides.pdf]({body['url']})"
    assert client.get(body["url"]).headers["Content-Disposition"].startswith("attachment;")
    image = client.post(
        "/api/uploads", data={"file": (io.BytesIO(png_bytes()), "a.png")}, headers=headers
    )
    assert image.status_code == 201 and image.get_json()["download"] is False
    bad = client.post(
        "/api/uploads", data={"file": (io.BytesIO(b"not a zip"), "a.zip")}, headers=headers
    )
    assert bad.status_code == 400 and "ZIP" in bad.get_json()["error"]


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def imported_post(app: Flask, slug: str) -> Post:
    with app.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == slug)).one()
        db.session.expunge(post)
        return post


def download_names(app: Flask) -> dict[str, str]:
    with app.app_context():
        rows = db.session.scalars(select(Upload)).all()
        return {row.name: row.original_name for row in rows if not row.is_image()}


def test_hexo_asset_link_and_local_file_links_are_imported_and_rewritten(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    root = tmp_path / "hexo"
    write(root / "_config.yml", "post_asset_folder: true\n")
    write(
        root / "source/_posts/talk.md",
        "---\ntitle: 报告\ndate: 2021-03-04\n---\n正文\n\n"
        "{% asset_link slides.pdf 幻灯片 %}\n\n"
        "[数据](/files/data.zip) 与 [另一篇](/2020/01/other/) 和 [外站](https://x.org/a.pdf)\n\n"
        '<a href="../../../etc/passwd.tar.gz">爬出去</a> [缺](/files/gone.zip)\n\n'
        "[假的](/files/fake.pdf) [又是数据](/files/data.zip) [写信](dev@lists.example.org)\n\n"
        '```html\n<a href="{{ $page.Permalink }}">模板</a> <a href="{{ url_for(x.path) }}">\n```\n',
    )
    write(root / "source/_posts/talk/slides.pdf", pdf_bytes())
    write(root / "source/files/data.zip", zip_bytes(**{"data.csv": "a,b\n"}))
    write(root / "source/files/fake.pdf", "<html>not a pdf</html>")
    run_cli("upgrade")
    result = run_cli("import", str(root))
    assert result.exit_code == 0, result.output
    assert "files 5 found, 2 imported, 3 missing" in result.output
    assert "files: 5 found, 2 imported, 3 missing" in result.output
    assert "line 11: file /files/gone.zip: not found in the source folder" in result.output
    assert "line 11: file ../../../etc/passwd.tar.gz: refused: the path leads outside" in (
        result.output
    )
    assert (
        "line 13: file /files/fake.pdf: 文件名是 .pdf，内容却不是 PDF 文件：不接受; the link"
        in result.output
    )
    assert "file slides.pdf" not in result.output  # imported: nothing to say
    assert "file /2020/01/other/" not in result.output  # a page of the old site, not a file
    assert "x.org" not in result.output
    app = make_app()
    names = download_names(app)
    assert sorted(names.values()) == ["data.zip", "slides.pdf"]
    post = imported_post(app, "talk")
    by_original = {original: name for name, original in names.items()}
    assert f"[幻灯片](/uploads/{by_original['slides.pdf']})" in post.source
    assert post.source.count(f"(/uploads/{by_original['data.zip']})") == 2
    assert "(/files/gone.zip)" in post.source and "(/files/fake.pdf)" in post.source
    assert "(/2020/01/other/)" in post.source and "(https://x.org/a.pdf)" in post.source
    slides = re.escape(by_original["slides.pdf"])
    assert re.search(rf'<a href="/uploads/{slides}"[^>]*>幻灯片</a>', post.body_html)
    served = app.test_client().get(f"/uploads/{by_original['slides.pdf']}")
    assert served.status_code == 200 and served.mimetype == "application/pdf"


def test_dry_run_counts_files_and_writes_nothing(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    root = tmp_path / "notes"
    write(root / "a.md", "---\ntitle: A\n---\n[附件](files/paper.pdf)\n")
    write(root / "files/paper.pdf", pdf_bytes())
    run_cli("upgrade")
    result = run_cli("import", "--dry-run", str(root))
    assert result.exit_code == 0, result.output
    assert "files 1 found, 1 imported, 0 missing" in result.output
    assert download_names(make_app()) == {}
    assert not (Path(make_app().instance_path) / "uploads").exists()


def test_hugo_page_bundle_file_is_imported(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    root = tmp_path / "hugo"
    write(root / "hugo.toml", 'baseURL = "https://example.org/"\n')
    write(
        root / "content/posts/paper/index.md",
        "---\ntitle: 论文\ndate: 2022-01-02\n---\n下载 [PDF](paper.pdf) 和 [代码](<code.tar.gz>)\n",
    )
    write(root / "content/posts/paper/paper.pdf", pdf_bytes("blue"))
    write(root / "content/posts/paper/code.tar.gz", zip_bytes(a="b"))  # not gzip inside
    run_cli("upgrade")
    result = run_cli("import", str(root))
    assert result.exit_code == 0, result.output
    assert "files 2 found, 1 imported, 1 missing" in result.output
    assert "file <code.tar.gz>: 文件名是 .gz，内容却不是 gzip 文件" in result.output
    app = make_app()
    assert sorted(download_names(app).values()) == ["paper.pdf"]
    post = imported_post(app, "paper")
    assert "[PDF](/uploads/" in post.source and "[代码](<code.tar.gz>)" in post.source


def test_wordpress_attachment_linked_from_a_post_is_imported_from_the_media_dir(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    export = tmp_path / "site.xml"
    write(
        export,
        """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>站</title><link>https://old.example</link><wp:wxr_version>1.2</wp:wxr_version>
<wp:base_site_url>https://old.example</wp:base_site_url>
<item><title>手册</title><link>https://old.example/manual/</link><dc:creator>admin</dc:creator>
<content:encoded><![CDATA[<p>请下载 <a href="https://old.example/wp-content/uploads/2020/05/manual.pdf">手册</a>。</p>]]></content:encoded>
<wp:post_id>7</wp:post_id><wp:post_date_gmt>2020-05-01 10:00:00</wp:post_date_gmt>
<wp:post_name>manual</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
</item>
<item><title>manual</title><wp:post_id>8</wp:post_id><wp:post_parent>7</wp:post_parent>
<wp:post_type>attachment</wp:post_type><wp:status>inherit</wp:status>
<wp:attachment_url>https://old.example/wp-content/uploads/2020/05/manual.pdf</wp:attachment_url>
</item></channel></rss>
""",
    )
    media = tmp_path / "uploads"
    write(media / "2020/05/manual.pdf", pdf_bytes("green"))
    run_cli("upgrade")
    result = run_cli("import", "--media-dir", str(media), str(export))
    assert result.exit_code == 0, result.output
    assert "files 1 found, 1 imported, 0 missing" in result.output
    app = make_app()
    names = download_names(app)
    assert list(names.values()) == ["manual.pdf"]
    post = imported_post(app, "manual")
    assert f'href="/uploads/{next(iter(names))}"' in post.source


def test_export_keeps_a_downloads_name_and_an_import_restores_it(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    import json

    from click.testing import CliRunner

    from blog import cli as cli_module
    from blog.app import close_app, create_app
    from blog.posts import PostFields, save_post
    from tests.conftest import write_config

    app = make_app()
    create_user(app)
    client = app.test_client()
    login(client)
    data = pdf_bytes()
    url = added_url(upload(client, data, "讲义 第1章.pdf"))
    picture = upload(client, png_bytes(), "封面.png")
    image = find(picture.data, "input", id="added-snippet").attrs["value"]
    with app.app_context():
        source = f"[讲义]({url})\n\n{image}\n"
        save_post(PostFields(title="讲义", source=source, slug="notes"), author="t")
    first = tmp_path / "first"
    assert run_cli("export", str(first)).exit_code == 0
    stored = url.rsplit("/", 1)[1]
    names = json.loads((first / "uploads" / "original-names.json").read_text(encoding="utf-8"))
    assert names[stored] == "讲义 第1章.pdf"
    assert sorted(names.values()) == ["封面", "讲义 第1章.pdf"]  # an image keeps a title

    other = tmp_path / "other"
    write_config(other)

    def other_cli(*args: str) -> Result:
        cli_module._apps.clear()
        return CliRunner().invoke(cli_module.cli, ["--instance", str(other), *args])

    assert other_cli("upgrade").exit_code == 0
    imported = other_cli("import", str(first))
    assert imported.exit_code == 0, imported.output
    assert "files 1 found, 1 imported" in imported.output
    moved = create_app(config={"TESTING": True}, instance_path=other)
    try:
        served = moved.test_client().get(url)
        assert served.status_code == 200 and served.data == data
        disposition = served.headers["Content-Disposition"]
        assert "filename*=UTF-8''%E8%AE%B2%E4%B9%89%20%E7%AC%AC1%E7%AB%A0.pdf" in disposition
        assert sorted(download_names(moved).values()) == ["讲义 第1章.pdf"]
    finally:
        close_app(moved)
    # Exported again, the folder is the same, names included.
    second = tmp_path / "second"
    assert other_cli("export", str(second)).exit_code == 0
    cli_module._apps.clear()
    for path in sorted(first.rglob("*")):
        if path.is_file():
            assert (second / path.relative_to(first)).read_bytes() == path.read_bytes(), path


def test_a_malformed_list_of_original_names_is_named_and_the_file_still_imported(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    root = tmp_path / "site"
    write(root / "post.md", "---\ntitle: 文件\n---\n[讲义](uploads/a.pdf)\n")
    write(root / "uploads/a.pdf", pdf_bytes())
    write(root / "uploads/original-names.json", "{not json")
    run_cli("upgrade")
    result = run_cli("import", str(root))
    assert result.exit_code == 0, result.output
    assert "original-names.json: not valid JSON" in result.output
    assert sorted(download_names(make_app()).values()) == ["a.pdf"]
