"""The comments of one WordPress item, as items for :func:`blog.comments.transfer.import_items`.

WordPress stores a comment's text as the reader typed it, with the few tags its comment
form allows (``a``, ``b``, ``strong``, ``em``, ``i``, ``code``, ``blockquote``, ``q``,
``del``…) and paragraphs made from blank lines at display time. Our comments are a Markdown
subset without raw HTML, so those tags become their Markdown forms and every other tag
keeps only its text; the result then goes through the comments' own checks, renderer and
sanitizer like any reader's comment.

Pingbacks and trackbacks are notices from other sites, not readers' words, and comments
WordPress had already trashed are gone there too: both are counted in the report and left
out. ``1`` is approved, ``0`` pending and ``spam`` spam, as in WordPress's moderation queue.
A date without ``_gmt`` is the blog's local time: it is read in the import's time zone
(this site's ``TIMEZONE``; an export does not name its own), as the posts' dates are.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from blog.dates import to_utc
from blog.migrate.report import FileReport

STATUS = {"1": "approved", "approve": "approved", "0": "pending", "hold": "pending", "spam": "spam"}
NOT_COMMENTS = ("pingback", "trackback")
#: Characters that would start Markdown (or a formula) where the reader meant them literally.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]>$])")
LINE_START = re.compile(r"^(\s*)([#+\-]|\d+\.)(\s)", re.M)
INLINE = {"b": "**", "strong": "**", "em": "*", "i": "*"}
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Elements that end a paragraph; headings become a bold paragraph (comments have none).
BLOCKS = frozenset(
    [
        "p",
        "div",
        "address",
        "section",
        "article",
        "figure",
        "figcaption",
        "table",
        "thead",
        "tbody",
        "dl",
        "dt",
        "dd",
        "hr",
    ]
)
FENCE = "```"


class _Markdown(HTMLParser):
    """WordPress comment HTML → Markdown: the tags comments can show mapped to Markdown,
    lists and preformatted text kept as such, every other tag reduced to its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str] = []
        self.lists: list[str] = []
        self.quote = 0
        self.code = 0
        self.pre = 0
        self.cells = 0
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in INLINE:
            self.out.append(INLINE[tag])
        elif tag in HEADINGS:
            self.out.append("\n\n**")
        elif tag == "pre":
            self.pre += 1
            self.out.append(f"\n\n{FENCE}\n")
        elif tag == "code" and not self.pre:
            self.code += 1
            self.out.append("`")
        elif tag == "a":
            self.links.append(values.get("href") or "")
            self.out.append("[")
        elif tag == "img":
            # Comments show no images: a link named by its alt text keeps it reachable.
            source, alt = _web_url(values.get("src") or ""), values.get("alt") or "image"
            self.out.append(f"[{_escape(alt)}]({source})" if source else _escape(alt))
        elif tag == "q":
            self.out.append("“")
        elif tag == "br":
            self.out.append("\n")
        elif tag in ("ul", "ol"):
            self.out.append("" if self.lists else "\n\n")
            self.lists.append(tag)
        elif tag in ("script", "style"):
            self.hidden += 1
        elif tag == "li":
            marker = "1. " if self.lists and self.lists[-1] == "ol" else "- "
            self.out.append("\n" + "    " * max(0, len(self.lists) - 1) + marker)
        elif tag == "tr":
            self.cells = 0
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append(" · " if self.cells else "")
            self.cells += 1
        elif tag == "blockquote":
            self.quote += 1
            self.out.append("\n\n\x01")
        elif tag in BLOCKS:
            self.out.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in INLINE:
            self.out.append(INLINE[tag])
        elif tag in HEADINGS:
            self.out.append("**\n\n")
        elif tag == "pre" and self.pre:
            self.pre -= 1
            self.out.append(f"\n{FENCE}\n\n")
        elif tag == "code" and self.code:
            self.code -= 1
            self.out.append("`")
        elif tag == "a" and self.links:
            href = _web_url(self.links.pop())
            self.out.append(f"]({href})" if href else "]")
        elif tag == "q":
            self.out.append("”")
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.out.append("\n" if self.lists else "\n\n")
        elif tag in ("script", "style") and self.hidden:
            self.hidden -= 1
        elif tag == "blockquote" and self.quote:
            self.quote -= 1
            self.out.append("\x02\n\n")
        elif tag in BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            self.out.append(data.replace(FENCE, "'''"))
        elif self.code:
            self.out.append(data.replace("`", "'"))
        else:
            self.out.append(_escape(data))

    def markdown(self) -> str:
        text = "".join(self.out)
        # A quote's lines get "> " (nested quotes "> > "): \x01 opens and \x02 closes one.
        lines: list[str] = []
        depth = 0
        fenced = False
        for line in text.split("\n"):
            depth += line.count("\x01")
            clean = line.replace("\x01", "").replace("\x02", "")
            if clean.strip() == FENCE:
                fenced = not fenced
                lines.append("> " * depth + FENCE)
            elif fenced:
                lines.append("> " * depth + clean)
            elif clean.strip():
                lines.append("> " * depth + clean.rstrip())
            else:
                lines.append("> " * depth if depth and lines and lines[-1].startswith(">") else "")
            depth -= line.count("\x02")
        # A quote's last blank line ("> ") before the text that follows it is dropped.
        joined = re.sub(r"(?:\n(?:> )+)+\n(?!>)", "\n\n", "\n".join(lines))
        return re.sub(r"\n{3,}", "\n\n", joined).strip()


def _escape(text: str) -> str:
    """Literal text for Markdown: its special characters backslashed, ``<`` and ``&`` as
    entities (so a ``<b>`` the reader wrote as text is not read as markup)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return LINE_START.sub(r"\1\\\2\3", MARKDOWN_SPECIAL.sub(r"\\\1", text))


def _web_url(url: str) -> str:
    """``url`` if it is an http(s) address usable in a Markdown link, else ""."""
    url = url.strip()
    if url.startswith(("http://", "https://")) and not re.search(r"[\s()<>]", url):
        return url
    return ""


def comment_markdown(body: str) -> str:
    """A WordPress comment's text as Markdown for the comments pipeline."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    # Unclosed tags are closed at the end; a stray "<" in prose is text to the parser.
    parser = _Markdown()
    parser.feed(body)
    parser.close()
    return parser.markdown()


def comment_uid(site_url: str, comment_id: str) -> str:
    """A stable id per source site and comment, so a second import skips what it already has."""
    site = hashlib.sha256(site_url.encode()).hexdigest()[:12]
    return f"wxr-{site}-{comment_id}"


def comment_items(
    item: Element,
    text: Callable[[Element, str], str],
    ns: dict[str, str],
    site_url: str,
    author_ids: dict[str, str],
    author_emails: dict[str, str],
    report: FileReport,
    zone: ZoneInfo,
) -> list[dict[str, Any]]:
    """The comments of ``item`` (parents before replies), each missing only its post slug.

    ``author_ids`` maps WordPress user ids to logins and ``author_emails`` logins to email
    addresses: a comment by the post's own author (by user id or email) is marked as the
    author's, as WordPress themes do. ``zone`` is the time zone of a date without ``_gmt``.
    """
    rows: dict[str, dict[str, Any]] = {}
    left_out: dict[str, int] = {}
    post_author = text(item, "dc:creator")
    for element in item.findall("wp:comment", ns):
        kind = text(element, "wp:comment_type").strip() or "comment"
        # An export always says; a hand-made one that does not is held for moderation.
        approved = text(element, "wp:comment_approved").strip() or "0"
        if kind in NOT_COMMENTS or approved not in STATUS:
            reason = kind if kind in NOT_COMMENTS else f"status {approved or '?'}"
            left_out[reason] = left_out.get(reason, 0) + 1
            continue
        comment_id = text(element, "wp:comment_id").strip()
        parent = text(element, "wp:comment_parent").strip()
        user = text(element, "wp:comment_user_id").strip()
        email = text(element, "wp:comment_author_email").strip()
        rows[comment_id] = {
            "uid": comment_uid(site_url, comment_id),
            "post": "",
            "parent": parent if parent not in ("", "0") else None,
            "name": html.unescape(text(element, "wp:comment_author")).strip() or "匿名",
            "email": email,
            "website": text(element, "wp:comment_author_url").strip(),
            "source": comment_markdown(text(element, "wp:comment_content")),
            "status": STATUS[approved],
            "is_author": bool(user not in ("", "0") and author_ids.get(user) == post_author)
            or bool(email and email.lower() == author_emails.get(post_author)),
            "created_at": _moment(
                text(element, "wp:comment_date_gmt"), text(element, "wp:comment_date"), zone
            ),
        }
    for reason, count in sorted(left_out.items()):
        report.note(None, f"{count} comments left out ({reason})")
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()

    def place(comment_id: str, seen: frozenset[str] = frozenset()) -> None:
        row = rows[comment_id]
        parent = row["parent"]
        if parent is not None and parent not in rows:
            report.note(None, f"comment {comment_id}: its parent {parent} is not in the export")
            row["parent"] = parent = None
        if parent is not None and parent not in placed and parent not in seen:
            place(parent, seen | {comment_id})
        if comment_id not in placed:
            placed.add(comment_id)
            ordered.append(row)

    for comment_id in sorted(rows, key=lambda c: (rows[c]["created_at"] or "", c)):
        place(comment_id)
    for row in ordered:
        if row["parent"] is not None:
            row["parent"] = comment_uid(site_url, row["parent"])
    if ordered:
        report.note(None, f"{len(ordered)} comments go with it")
    return ordered


def _moment(gmt: str, local: str, zone: ZoneInfo) -> str | None:
    """The comment's UTC time as ISO text: ``gmt`` as given, else ``local`` read in ``zone``.

    WordPress writes ``0000-00-00 00:00:00`` for a date it does not have; an unreadable
    date counts as absent, so the other one (or none) is used.
    """
    for value, local_zone in ((gmt.strip(), None), (local.strip(), zone)):
        if not value or value.startswith("0000"):
            continue
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            continue
        if local_zone is not None:
            moment = to_utc(moment, local_zone)
        return moment.isoformat()
    return None
