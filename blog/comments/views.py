"""The reader's side: the comment form's POST, a fresh-token endpoint, comment feeds.

Posting works without JavaScript: the form POSTs, the answer is a 303 back to the post
with a notice in the query string (cacheable: one page per notice). A request that says
``Accept: application/json`` (the theme's script) gets JSON instead. A refused comment is
never lost: the error page shows the form again, filled in, with a fresh token.
"""

from __future__ import annotations

import html
import logging
import math
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import escape
from werkzeug.wrappers import Response as BaseResponse

from blog import queries
from blog.admin.ratelimit import RateLimiter
from blog.comments.content import body_digest
from blog.comments.fields import CommentError, CommentFields, clean_fields, clean_text
from blog.comments.models import APPROVED, Comment
from blog.comments.service import (
    BYTES_PER_CHAR,
    announce,
    closed_reason,
    comments_enabled,
    create_comment,
    erase_addresses_if_due,
    recent_approved,
    render_body,
)
from blog.comments.spam import (
    RateLimited,
    check_duplicate,
    check_links,
    check_post_rate,
    initial_status,
    record_client_hit,
)
from blog.comments.tokens import check_token, client_digest, issue_token, spend_token
from blog.display import display_text
from blog.i18n import ui_text
from blog.models import Post, db
from blog.plugins import Plugins
from blog.render import RenderError
from blog.views import render_page

logger = logging.getLogger("blog.comments")
comments = Blueprint("comments", __name__, template_folder="templates")

#: The hidden field a person never fills in; bots that fill every field do.
HONEYPOT = "url"
FEED_ENTRIES = 50
#: Previews per client address per minute, per process.
PREVIEW_RATE = (30, 60.0)
#: Room in a form POST for everything but the body: the other fields, the token, names.
FORM_OVERHEAD_BYTES = 16_384
#: The notices after a POST, as message ids: shown through :func:`ui_text`.
NOTICES = {
    "posted": "Your comment is posted.",
    "held": "Thank you! Your comment will appear once it is approved.",
}


def _post_for(slug: str) -> Post:
    """The public, commentable post ``slug``: 404 when absent or a draft, 403 when closed."""
    post = queries.find_public(slug) or queries.find_public(slug, kind="page")
    if post is None or not comments_enabled(post):
        abort(404)
    return post


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def _same_origin() -> bool:
    """Origin (or, without one, Referer) must be this site; absent both, the token decides."""
    allowed = {_origin_of(request.host_url)}
    site_url = str(current_app.config["SITE_URL"])
    if site_url:
        allowed.add(_origin_of(site_url))
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.lower() in allowed
    referer = request.headers.get("Referer")
    if referer:
        return _origin_of(referer) in allowed
    return True


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json"
    )


def _post_url(post: Post) -> str:
    endpoint = "public.standalone_page" if post.kind == "page" else "public.post"
    return url_for(endpoint, slug=post.slug)


def _form_values() -> dict[str, str]:
    return {key: request.form.get(key, "") for key in ("name", "email", "website", "body")}


def _refused(post: Post, error: CommentError, *, reissue: bool = True) -> Response:
    """Answer a refused comment: JSON for the script, else the form again, filled in.

    ``reissue`` is false for refusals a new token cannot fix (closed post, foreign origin):
    the text is shown for copying but no form is offered.
    """
    token = issue_token(post.id) if reissue else None
    if _wants_json():
        response = jsonify(error=_as_page_text(error.message), key=error.key, token=token)
    else:
        page, _status = render_page(
            "comments/refused.html",
            status=error.status,
            post=post,
            message=error.message,
            values=_form_values(),
            parent=request.form.get("parent", ""),
            token=token,
            post_url=_post_url(post),
        )
        response = current_app.make_response(page)
    response.status_code = error.status
    response.headers["Cache-Control"] = "no-store"
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _check_request_body() -> None:
    """Refuse an oversized request before reading it, and a form that is not UTF-8.

    Werkzeug keeps undecodable bytes of a urlencoded form percent-encoded rather than
    failing, which would store ``%FF`` as if the reader typed it; so the raw body is read
    (and cached for the form parser) and decoded strictly here.
    """
    max_chars = int(current_app.config["COMMENTS_MAX_CHARS"])
    limit = max_chars * BYTES_PER_CHAR * 3 + FORM_OVERHEAD_BYTES
    length = request.content_length
    if length is None or length > limit:
        raise CommentError(
            "body",
            ui_text("The comment is too long: at most %(limit)d characters.", limit=max_chars),
            413,
        )
    if request.mimetype == "application/x-www-form-urlencoded":
        raw = request.get_data(cache=True)
        try:
            parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise CommentError("body", ui_text("The form contains invalid UTF-8.")) from None


def _parent_id() -> int | None:
    raw = request.form.get("parent", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise CommentError(
            "parent", ui_text("The comment you are replying to does not exist or was deleted.")
        )
    return int(raw)


@comments.post("/posts/<slug>/comments")
def post_comment(slug: str) -> BaseResponse:
    post = _post_for(slug)
    reason = closed_reason(post)
    if reason is not None:
        return _refused(post, CommentError("closed", reason, 403), reissue=False)
    if not _same_origin():
        return _refused(
            post,
            CommentError("origin", ui_text("Comments posted from another site are refused."), 403),
            reissue=False,
        )
    try:
        _check_request_body()
        return _accept(post)
    except CommentError as error:
        db.session.rollback()
        return _refused(post, error)


def _accept(post: Post) -> BaseResponse:
    if request.form.get(HONEYPOT):
        # Answer as if the comment were held, so the bot learns nothing; store nothing.
        return _answer(post, None, "held")
    checked = check_token(request.form.get("token", ""), post.id)
    address = (request.remote_addr or "unknown")[:64]
    client = client_digest(address)
    record_client_hit(client)
    fields: CommentFields = clean_fields(
        _form_values(), int(current_app.config["COMMENTS_MAX_CHARS"])
    )
    spend_token(checked, client, body_digest(fields.body))
    parent_id = _parent_id()
    check_links(fields.body)
    check_duplicate(post.id, fields, body_digest(fields.body), address)
    check_post_rate(post.id)
    erase_addresses_if_due()
    try:
        comment = create_comment(
            post,
            fields,
            status=initial_status(fields),
            parent_id=parent_id,
            address=address,
            user_agent=request.headers.get("User-Agent", ""),
        )
    except RenderError as error:
        raise CommentError(
            "body", ui_text("The comment could not be rendered: %(error)s", error=error)
        ) from None
    announce(comment)
    return _answer(post, comment, "posted" if comment.status == APPROVED else "held")


def _as_page_html(fragment: str) -> str:
    """``fragment`` as it would read inside the page that posted it.

    The script inserts the answer into a page that went through the text transforms and
    response filters (the variant the reader chose, by URL prefix or cookie, as this POST
    was made from it); JSON does not, so the fragment runs through the same ones here, and
    a comment written in simplified characters appears in a zh-tw page in Taiwan's
    characters without a reload.
    """
    plugins: Plugins = current_app.extensions["blog.plugins"]
    response = Response(fragment, mimetype="text/html")
    plugins.transform_text(request, response, None)
    filtered: Response = plugins.chain(
        "blog_response_filter", "response", response, request=request
    )
    return str(filtered.get_data(as_text=True))


def _as_page_text(text: str) -> str:
    """Plain ``text`` (a notice) as it would read inside the page, like :func:`_as_page_html`."""
    return html.unescape(_as_page_html(str(escape(text))))


def _answer(post: Post, comment: Comment | None, notice: str) -> BaseResponse:
    anchor = f"#comment-{comment.id}" if comment is not None and notice == "posted" else "#comments"
    target = f"{_post_url(post)}?comment={notice}{anchor}"
    if _wants_json():
        data: dict[str, Any] = {
            "status": notice,
            "message": _as_page_text(ui_text(NOTICES[notice])),
            "url": target,
        }
        if comment is not None and notice == "posted":
            data["id"] = comment.id
            data["html"] = _as_page_html(
                render_template("comments/_comment.html", comment=comment, node=None)
            )
        return jsonify(data)
    return redirect(target, 303)


@comments.post("/posts/<slug>/comments/preview")
def preview(slug: str) -> Response:
    """Render a draft comment for the script's preview; nothing is stored.

    Same-origin only, and limited per client in memory (a preview changes nothing, so a
    per-process limit is enough to keep rendering from being used to load the server).
    """
    post = _post_for(slug)
    if not _same_origin():
        abort(403)
    limiter: RateLimiter = current_app.extensions["blog.comments.preview_limiter"]
    wait = limiter.hit(client_digest((request.remote_addr or "unknown")[:64]))
    if wait is not None:
        response = jsonify(
            error=_as_page_text(ui_text("Too many previews; please try again later."))
        )
        response.status_code = 429
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    try:
        _check_request_body()
        body = clean_text(
            request.form.get("body", ""),
            "body",
            "Comment",
            limit=int(current_app.config["COMMENTS_MAX_CHARS"]),
            multiline=True,
        )
        rendered, _lang = render_body(body, post.lang)
    except CommentError as error:
        response = jsonify(error=_as_page_text(error.message), key=error.key)
        response.status_code = error.status
        return response
    except RenderError as error:
        response = jsonify(
            error=_as_page_text(
                ui_text("The comment could not be rendered: %(error)s", error=error)
            ),
            key="body",
        )
        response.status_code = 400
        return response
    response = jsonify(html=_as_page_html(rendered))
    response.headers["Cache-Control"] = "no-store"
    return response


@comments.get("/posts/<slug>/comments/token")
def fresh_token(slug: str) -> Response:
    """A token issued now, for the script: the minimum fill time then counts from page load."""
    post = _post_for(slug)
    response = jsonify(token=issue_token(post.id))
    response.headers["Cache-Control"] = "no-store"
    return response


def _atom(comments_list: list[Comment], title: str, self_url: str, page_url: str) -> Response:
    xml = render_template(
        "comments/feed.xml",
        comments=comments_list,
        title=title,
        self_url=self_url,
        page_url=page_url,
        site_title=current_app.config["SITE_TITLE"],
    )
    return Response(xml, mimetype="application/atom+xml")


@comments.get("/comments.xml")
def site_feed() -> Response:
    if not current_app.config["COMMENTS_ENABLED"]:
        abort(404)
    rows = recent_approved(None, FEED_ENTRIES)
    rows = [row for row in rows if row.post.is_public and comments_enabled(row.post)]
    title = ui_text("Comments on %(site)s", site=display_text(current_app.config["SITE_TITLE"]))
    return _atom(
        rows,
        title,
        url_for("comments.site_feed", _external=True),
        url_for("public.index", _external=True),
    )


@comments.get("/posts/<slug>/comments.xml")
def post_feed(slug: str) -> Response:
    post = _post_for(slug)
    return _atom(
        recent_approved(post, FEED_ENTRIES),
        ui_text("Comments on “%(title)s”", title=display_text(post.title)),
        url_for("comments.post_feed", slug=post.slug, _external=True),
        url_for("public.post", slug=post.slug, _external=True),
    )
