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
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from blog.i18n import ui_text

logger = logging.getLogger("blog.comments.notify")
TIMEOUT_SECONDS = 10


def send_webhook(url: str, payload: dict[str, Any]) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310  (the URL is the owner's own setting)
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read()


@dataclass(frozen=True)
class Mail:
    """The owner's notification mail, worded in the site's ``UI_LANGUAGE``."""

    subject: str
    body: str


def mail_for(payload: dict[str, Any]) -> Mail:
    """Word the mail for ``payload``; needs the app (its catalogs), so it runs in the
    request, before the delivery thread starts."""
    comment = payload["comment"]
    title, status = comment["post_title"], comment["status"]
    lines = [
        ui_text("%(name)s commented on “%(title)s”:", name=comment["name"], title=title),
        "",
        comment["source"],
        "",
        ui_text("Status: %(status)s", status=status),
        ui_text("Post: %(url)s", url=comment["post_url"]),
        ui_text("Moderate: %(url)s", url=payload["admin_url"]),
    ]
    return Mail(
        subject=ui_text("New comment on “%(title)s” (%(status)s)", title=title, status=status),
        body="\n".join(lines) + "\n",
    )


def send_mail(settings: dict[str, Any], mail: Mail) -> None:
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = settings["COMMENTS_MAIL_FROM"] or "blog@localhost"
    message["To"] = settings["COMMENTS_MAIL_TO"]
    message.set_content(mail.body)
    with smtplib.SMTP(
        settings["COMMENTS_SMTP_HOST"], int(settings["COMMENTS_SMTP_PORT"]), timeout=TIMEOUT_SECONDS
    ) as smtp:
        smtp.send_message(message)


def _deliver(settings: dict[str, Any], payload: dict[str, Any], mail: Mail | None) -> None:
    if settings["COMMENTS_WEBHOOK_URL"]:
        try:
            send_webhook(settings["COMMENTS_WEBHOOK_URL"], payload)
        except Exception:
            logger.exception("comment webhook to %s failed", settings["COMMENTS_WEBHOOK_URL"])
    if mail is not None and settings["COMMENTS_SMTP_HOST"] and settings["COMMENTS_MAIL_TO"]:
        try:
            send_mail(settings, mail)
        except Exception:
            logger.exception("comment email through %s failed", settings["COMMENTS_SMTP_HOST"])


def notify(settings: dict[str, Any], payload: dict[str, Any]) -> threading.Thread | None:
    """Start delivering ``payload`` when a webhook or mail is configured; return the thread.

    Called in the request (the mail is worded from the app's catalogs here)."""
    wanted = settings["COMMENTS_WEBHOOK_URL"] or (
        settings["COMMENTS_SMTP_HOST"] and settings["COMMENTS_MAIL_TO"]
    )
    if not wanted:
        return None
    mailed = settings["COMMENTS_SMTP_HOST"] and settings["COMMENTS_MAIL_TO"]
    mail = mail_for(payload) if mailed else None
    thread = threading.Thread(
        target=_deliver,
        args=(dict(settings), payload, mail),
        name="blog-comment-notify",
        daemon=True,
    )
    thread.start()
    return thread
