"""Comments as data: export/import round trip, Waline import, notifications, XSS corpus."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import Result
from comment_support import QUICK, comment_list, post_comment
from conftest import shared_path
from flask import Flask
from sqlalchemy import select
from test_xss import violations

from blog.comments.models import APPROVED, PENDING, Comment
from blog.models import db
from blog.posts import PostFields, save_post

SLUG = "attention"


def add_post(app: Flask, slug: str = SLUG, **fields: Any) -> None:
    with app.app_context():
        save_post(PostFields(title="注意力机制", source="正文", slug=slug, **fields), author="a")


def rows(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return [
            {
                "uid": c.uid,
                "post": c.post.slug,
                "parent": c.parent_id and db.session.get_one(Comment, c.parent_id).uid,
                "name": c.name,
                "email": c.email,
                "website": c.website,
                "source": c.source,
                "html": c.body_html,
                "status": c.status,
                "is_author": c.is_author,
                "created_at": c.created_at.replace(microsecond=0),
            }
            for c in db.session.scalars(select(Comment).order_by(Comment.id))
        ]


# -- export and import ----------------------------------------------------------------------------


def test_export_then_import_keeps_every_comment(
    make_app: Callable[..., Flask], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    app = make_app(**QUICK, COMMENTS_MODERATION="first-time")
    add_post(app)
    client = app.test_client()
    post_comment(
        client, SLUG, body="**顶层** $x$", name="甲", email="a@example.com", website="a.example"
    )
    with app.app_context():
        top = db.session.scalars(select(Comment)).one()
        top.status = APPROVED
        db.session.commit()
        top_id = top.id
    post_comment(client, SLUG, body="回复", name="乙", parent=top_id, address="10.0.0.2")
    before = rows(app)
    assert [r["status"] for r in before] == [APPROVED, PENDING]

    folder = tmp_path / "export"
    result = run_cli("export", str(folder))
    assert result.exit_code == 0, result.output
    assert "2 comments" in result.output
    exported = json.loads((folder / "comments.json").read_text(encoding="utf-8"))
    assert "address" not in json.dumps(exported)

    other = tmp_path / "other"
    from conftest import write_config

    write_config(other)
    target = make_app_for(other)
    from click.testing import CliRunner

    from blog import cli as cli_module

    cli_module._apps.clear()
    runner = CliRunner()
    first = runner.invoke(cli_module.cli, ["--instance", str(other), "import", str(folder)])
    assert first.exit_code == 0, first.output
    assert "comments: 2 imported" in first.output
    again = runner.invoke(cli_module.cli, ["--instance", str(other), "import", str(folder)])
    assert "comments: 0 imported, 2 already present" in again.output
    cli_module._apps.clear()
    after = rows(target)
    assert after == before


def make_app_for(instance: Path) -> Flask:
    from blog.app import create_app
    from blog.db import upgrade

    app = create_app(config={"TESTING": True}, instance_path=instance)
    upgrade(app)
    return app


def test_import_reports_a_comment_whose_post_is_missing(
    make_app: Callable[..., Flask], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    app = make_app()
    add_post(app)
    folder = tmp_path / "in"
    folder.mkdir()
    items = [
        {"uid": "a", "post": SLUG, "name": "甲", "source": "好"},
        {"uid": "b", "post": "nowhere", "name": "乙", "source": "无处"},
        {"uid": "c", "post": SLUG, "name": "丙", "source": "坏\x00字节"},
    ]
    (folder / "comments.json").write_text(json.dumps({"comments": items}), encoding="utf-8")
    result = run_cli("import", str(folder))
    assert result.exit_code == 1
    assert "comment 2: no post with slug 'nowhere'" in result.output
    assert "comment 3: body:" in result.output
    assert "comments: 1 imported" in result.output


WALINE_EXPORT = {
    "__version": "1.0.0",
    "type": "waline",
    "version": 1,
    "time": 1700000000000,
    "tables": ["Comment", "Counter", "Users"],
    "data": {
        "Comment": [
            {
                "objectId": "65a1",
                "comment": "回复一下 `code`",
                "insertedAt": "2023-11-02T08:00:00.000Z",
                "nick": "回复者",
                "mail": "r@example.com",
                "link": "",
                "pid": "64f0",
                "rid": "64f0",
                "status": "approved",
                "url": "/zh-tw/posts/attention/",
            },
            {
                "objectId": "64f0",
                "comment": "写得很好！$a^2+b^2=c^2$",
                "insertedAt": "2023-11-01T08:00:00.000Z",
                "ip": "203.0.113.9",
                "nick": "老读者",
                "mail": "old@example.com",
                "link": "https://old.example",
                "status": "approved",
                "ua": "Mozilla/5.0",
                "url": "/posts/attention/",
            },
            {
                "objectId": "66b2",
                "comment": "广告",
                "insertedAt": "2023-11-03T08:00:00.000Z",
                "nick": "spammer",
                "status": "spam",
                "url": "/posts/attention/",
            },
        ],
        "Counter": [],
        "Users": [],
    },
}


def test_waline_export_is_imported_with_threads(
    make_app: Callable[..., Flask], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    app = make_app()
    add_post(app)
    file = tmp_path / "waline.json"
    file.write_text(json.dumps(WALINE_EXPORT, ensure_ascii=False), encoding="utf-8")
    result = run_cli("comments", "import-waline", str(file))
    assert result.exit_code == 0, result.output
    assert "comments: 3 imported" in result.output
    imported = {r["name"]: r for r in rows(app)}
    assert imported["回复者"]["parent"] == "waline-64f0"
    assert imported["老读者"]["website"] == "https://old.example"
    assert "<math" in imported["老读者"]["html"]
    assert imported["spammer"]["status"] == "spam"
    assert str(imported["老读者"]["created_at"]) == "2023-11-01 08:00:00"
    html = app.test_client().get(f"/posts/{SLUG}/").get_data(as_text=True)
    assert "写得很好" in comment_list(html)
    assert "广告" not in comment_list(html)
    assert run_cli("comments", "import-waline", str(file)).output.count("already present") == 1


def test_waline_import_refuses_a_file_that_is_not_waline(
    make_app: Callable[..., Flask], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    make_app()
    file = tmp_path / "other.json"
    file.write_text('{"posts": []}', encoding="utf-8")
    result = run_cli("comments", "import-waline", str(file))
    assert result.exit_code == 1
    assert "not a Waline export" in result.output


def test_privacy_commands_export_and_delete_one_email(
    make_app: Callable[..., Flask], run_cli: Callable[..., Result]
) -> None:
    app = make_app(**QUICK, COMMENTS_MODERATION="none")
    add_post(app)
    post_comment(app.test_client(), SLUG, body="隐私", email="p@example.com")
    exported = json.loads(run_cli("comments", "export-person", "P@example.com").output)
    assert [c["source"] for c in exported["comments"]] == ["隐私"]
    assert "deleted 1 comments" in run_cli("comments", "delete-person", "p@example.com").output
    assert (
        json.loads(run_cli("comments", "export-person", "p@example.com").output)["comments"] == []
    )


# -- notifications ------------------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[Any]]]:
    controller_module = pytest.importorskip("aiosmtpd.controller")
    messages: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            messages.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # aiosmtpd checks its own start-up on the given port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = controller_module.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, messages
    finally:
        controller.stop()
    asyncio.set_event_loop(None)


def wait_for_notifications(app: Flask) -> None:
    for thread in app.extensions.get("blog.comments.notifications", []):
        thread.join(15)


def test_new_comment_is_posted_to_the_webhook_and_mailed(
    make_app: Callable[..., Flask], webhook: str, smtp_server: tuple[int, list[Any]]
) -> None:
    port, messages = smtp_server
    app = make_app(
        **QUICK,
        COMMENTS_MODERATION="all",
        COMMENTS_WEBHOOK_URL=webhook,
        COMMENTS_SMTP_HOST="127.0.0.1",
        COMMENTS_SMTP_PORT=port,
        COMMENTS_MAIL_FROM="blog@example.com",
        COMMENTS_MAIL_TO="owner@example.com",
    )
    add_post(app)
    response = post_comment(
        app.test_client(), SLUG, body="请通知作者", name="来访者", email="v@example.com"
    )
    assert response.status_code == 303
    wait_for_notifications(app)
    (payload,) = Receiver.received
    assert payload["event"] == "comment.created"
    assert payload["comment"]["source"] == "请通知作者"
    assert payload["comment"]["status"] == PENDING
    assert "email" not in payload["comment"]
    assert payload["admin_url"].endswith("/admin/comments/?status=pending")
    (envelope,) = messages
    assert envelope.rcpt_tos == ["owner@example.com"]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "注意力机制" in str(mail["Subject"])
    assert "请通知作者" in mail.get_body().get_content()


def test_the_notification_mail_is_in_the_ui_language(
    make_app: Callable[..., Flask], smtp_server: tuple[int, list[Any]]
) -> None:
    port, messages = smtp_server
    settings = {
        "COMMENTS_MODERATION": "all",
        "COMMENTS_SMTP_HOST": "127.0.0.1",
        "COMMENTS_SMTP_PORT": port,
        "COMMENTS_MAIL_TO": "owner@example.com",
    }
    app = make_app(**QUICK, **settings, UI_LANGUAGE="en")
    add_post(app)
    assert post_comment(app.test_client(), SLUG, body="Nice", name="Ann").status_code == 303
    wait_for_notifications(app)
    (envelope,) = messages
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert str(mail["Subject"]) == "New comment on “注意力机制” (pending)"
    body = mail.get_body().get_content()
    assert "Ann commented on “注意力机制”:" in body
    assert "Status: pending" in body and "Moderate: http" in body
    assert not re.search(r"[\u4e00-\u9fff]", body.replace("注意力机制", ""))


def test_a_broken_webhook_never_fails_the_comment(make_app: Callable[..., Flask]) -> None:
    app = make_app(**QUICK, COMMENTS_WEBHOOK_URL="http://127.0.0.1:9/nothing-listens")
    add_post(app)
    assert post_comment(app.test_client(), SLUG).status_code == 303
    wait_for_notifications(app)


# -- the XSS corpus through every field -----------------------------------------------------------


def _payloads() -> list[str]:
    data = json.loads(shared_path("external", "xss", "xss_payloads.json").read_text("utf-8"))
    return [str(e["payload"]) for e in data["payloads"] if e["context"] != "url-safe-control"]


@pytest.mark.slow
@pytest.mark.parametrize("field", ["body", "name", "website"])
def test_no_xss_payload_survives_in_any_field(make_app: Callable[..., Flask], field: str) -> None:
    app = make_app(
        **{**QUICK, "COMMENTS_RATE_PER_CLIENT": 10_000, "COMMENTS_RATE_PER_POST": 10_000},
        COMMENTS_MODERATION="none",
        COMMENTS_MAX_LINKS=1000,
        COMMENTS_AVATARS=False,  # the identicon is our own <svg>; the checker refuses any
    )
    add_post(app)
    client = app.test_client()
    survivors = []
    statuses: dict[int, int] = {}
    for index, payload in enumerate(_payloads()):
        fields = {"body": f"正文 {index}", "name": f"读者{index}", field: payload}
        if field == "name":
            fields["name"] = payload[:50]
        response = post_comment(
            client, SLUG, address=f"10.{index // 250}.{index % 250}.1", **fields
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        refused = response.get_data(as_text=True)
        start = refused.find('<section class="comments comment-refused">')
        if start >= 0:
            section = refused[start : refused.find("</section>", start)]
            # The page's own form (the one element a payload could not have produced twice).
            assert section.count("<form") <= 1
            section = re.sub(r'<form class="comment-form"[^>]*>', "", section)
            if violations(section):
                survivors.append((index, "refused page", violations(section)))
    assert max(statuses) < 500, statuses
    html = app.test_client().get(f"/posts/{SLUG}/").get_data(as_text=True)
    found = violations(comment_list(html))
    assert found == [] and survivors == [], (found[:5], survivors[:5])
    assert statuses.get(303, 0) > 0  # payloads were stored and shown, not only refused
