"""Tell the site owner about a new comment: a webhook (POST JSON) and/or an email.

Both run on a background thread after the comment is committed, so a slow or broken
receiver never delays or fails the reader's request; failures are logged.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import urllib.request
from email.message import EmailMessage
from typing import Any

logger = logging.getLogger("blog.comments.notify")
TIMEOUT_SECONDS = 10


def send_webhook(url: str, payload: dict[str, Any]) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310  (the URL is the owner's own setting)
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read()


def send_mail(settings: dict[str, Any], payload: dict[str, Any]) -> None:
    comment = payload["comment"]
    message = EmailMessage()
    message["Subject"] = f"新评论：{comment['post_title']}（{comment['status']}）"
    message["From"] = settings["COMMENTS_MAIL_FROM"] or "blog@localhost"
    message["To"] = settings["COMMENTS_MAIL_TO"]
    message.set_content(
        f"{comment['name']} 在《{comment['post_title']}》留言：\n\n{comment['source']}\n\n"
        f"状态：{comment['status']}\n文章：{comment['post_url']}\n审核：{payload['admin_url']}\n"
    )
    with smtplib.SMTP(
        settings["COMMENTS_SMTP_HOST"], int(settings["COMMENTS_SMTP_PORT"]), timeout=TIMEOUT_SECONDS
    ) as smtp:
        smtp.send_message(message)


def _deliver(settings: dict[str, Any], payload: dict[str, Any]) -> None:
    if settings["COMMENTS_WEBHOOK_URL"]:
        try:
            send_webhook(settings["COMMENTS_WEBHOOK_URL"], payload)
        except Exception:
            logger.exception("comment webhook to %s failed", settings["COMMENTS_WEBHOOK_URL"])
    if settings["COMMENTS_SMTP_HOST"] and settings["COMMENTS_MAIL_TO"]:
        try:
            send_mail(settings, payload)
        except Exception:
            logger.exception("comment email through %s failed", settings["COMMENTS_SMTP_HOST"])


def notify(settings: dict[str, Any], payload: dict[str, Any]) -> threading.Thread | None:
    """Start delivering ``payload`` when a webhook or mail is configured; return the thread."""
    wanted = settings["COMMENTS_WEBHOOK_URL"] or (
        settings["COMMENTS_SMTP_HOST"] and settings["COMMENTS_MAIL_TO"]
    )
    if not wanted:
        return None
    thread = threading.Thread(
        target=_deliver, args=(dict(settings), payload), name="blog-comment-notify", daemon=True
    )
    thread.start()
    return thread
