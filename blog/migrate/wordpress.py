"""WordPress WXR exports: posts, pages, categories, tags, authors, attachments, comments.

The XML is parsed with ``defusedxml``, which refuses DTDs with entities (billion laughs)
and external references (XXE). A WordPress body is HTML written for ``wpautop``. It is kept
as Markdown only when it has no markup at all (plain paragraphs read the same either way);
otherwise it is kept as HTML (paragraphs restored, shortcodes converted), which the
renderer passes through the sanitizer like any raw HTML in Markdown: converting arbitrary
HTML to Markdown loses attributes, tables and nesting, so it would not be faithful.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import parse

from blog.dates import to_utc
from blog.migrate import assets
from blog.migrate.common import Conversion, parse_params
from blog.migrate.draft import Index, Options, PostDraft
from blog.migrate.report import CONVERTED, KEPT, UNKNOWN, FileReport
from blog.migrate.site import Site, SourceFile
from blog.migrate.wxr_comments import comment_items
from blog.models import DRAFT, PUBLISHED, SCHEDULED
from blog.posts import PostFields
from blog.slugs import SlugError, check_slug, slug_from_title

BLOCK_COMMENT = re.compile(r"<!--\s*/?wp:.*?-->\n?", re.S)
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
BLOCK_TAGS = re.compile(
    r"^\s*</?(?:p|div|h[1-6]|ul|ol|li|blockquote|pre|table|thead|tbody|tr|td|th|figure|"
    r"figcaption|hr|dl|dt|dd|section|address|details|summary|iframe|form|video|audio)\b",
    re.I,
)
SHORTCODE = re.compile(
    r"\[(caption|wp_caption|code|sourcecode|gallery|embed|audio|video|playlist|"
    r"[a-z][\w-]*)(\s[^\]]*)?\](?:(.*?)\[/\1\])?",
    re.S,
)
KNOWN_UNCONVERTED = re.compile(
    r"^(?:contact-form|contact-form-7|ngg|nggallery|gravityform|"
    r"spoiler|toggle|tabs?|button|column|row|googlemaps|latex)"
)
MARKDOWN_SENSITIVE = re.compile(
    r"^(?:\s{4}|\s*[#>*+-]\s|\s*\d+\.\s|\s*[`~]{3})|[*_`\\<>\[\]]", re.M
)


def _ns(root: Element) -> dict[str, str]:
    text = " ".join(f"{el.tag}" for el in root.iter() if isinstance(el.tag, str) and "}" in el.tag)
    version = re.search(r"\{(https?://wordpress\.org/export/[\d.]+/)\}", text)
    excerpt = re.search(r"\{(https?://wordpress\.org/export/[\d.]+/excerpt/)\}", text)
    return {
        "wp": version.group(1) if version else "http://wordpress.org/export/1.2/",
        "excerpt": excerpt.group(1) if excerpt else "http://wordpress.org/export/1.2/excerpt/",
        "content": "http://purl.org/rss/1.0/modules/content/",
        "dc": "http://purl.org/dc/elements/1.1/",
    }


def drafts_from_export(
    site: Site, options: Options, media_dir: Path | None
) -> tuple[list[PostDraft], Index]:
    """Every post and page of the export as drafts; a file that cannot be read is one failure."""
    path = site.files[0].path
    index = Index()
    try:
        root = parse(str(path), forbid_dtd=True).getroot()
    except DefusedXmlException as error:
        return [
            _failed(
                path,
                f"refused: {type(error).__name__} (DTDs, entities and external "
                "references are not accepted in an import)",
            )
        ], index
    except ParseError as error:
        line = error.position[0] if error.position else 0
        return [_failed(path, f"line {line}: truncated or malformed XML ({error})")], index
    except OSError as error:
        return [_failed(path, str(error))], index
    ns = _ns(root)
    channel = root.find("channel")
    if channel is None:
        return [_failed(path, "not a WordPress export: no <channel>")], index

    def text(element: Element, name: str) -> str:
        found = element.find(name, ns)
        return (found.text or "") if found is not None else ""

    base_url = text(channel, "wp:base_blog_url") or text(channel, "link")
    site.config["url"] = base_url.rstrip("/")
    authors = {
        text(a, "wp:author_login"): text(a, "wp:author_display_name") or text(a, "wp:author_login")
        for a in channel.findall("wp:author", ns)
    }
    author_ids = {
        text(a, "wp:author_id"): text(a, "wp:author_login")
        for a in channel.findall("wp:author", ns)
    }
    author_emails = {
        text(a, "wp:author_login"): text(a, "wp:author_email").strip().lower()
        for a in channel.findall("wp:author", ns)
    }
    parents: dict[str, tuple[str, str]] = {}
    for category in channel.findall("wp:category", ns):
        parents[text(category, "wp:category_nicename")] = (
            html.unescape(text(category, "wp:cat_name")),
            text(category, "wp:category_parent"),
        )
    items = channel.findall("item")
    attachments: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    for item in items:
        if text(item, "wp:post_type") == "attachment":
            url = text(item, "wp:attachment_url")
            attachments[text(item, "wp:post_id")] = url
            children.setdefault(text(item, "wp:post_parent"), []).append(url)
    drafts: list[PostDraft] = []
    skipped: dict[str, int] = {}
    site_path = urlsplit(site.config["url"]).path.rstrip("/")
    for number, item in enumerate(items, 1):
        kind = text(item, "wp:post_type")
        status = text(item, "wp:status")
        if kind not in ("post", "page") or status in ("trash", "auto-draft", "inherit"):
            skipped[kind or "?"] = skipped.get(kind or "?", 0) + 1
            continue
        title = html.unescape(text(item, "title")).strip() or f"untitled {text(item, 'wp:post_id')}"
        source = SourceFile(
            path,
            "page" if kind == "page" else "post",
            "wordpress",
            f"{path.name}#{text(item, 'wp:post_id') or number}",
        )
        report = FileReport(
            f"{path.name} item {number} ({kind} {text(item, 'wp:post_id')}: {title[:40]})"
        )
        draft = PostDraft(
            source,
            report,
            author=authors.get(text(item, "dc:creator"), text(item, "dc:creator")) or "import",
        )
        draft.comments = comment_items(
            item, text, ns, site.config["url"], author_ids, author_emails, report, options.zone
        )
        conversion = Conversion(report, text(item, "content:encoded"))
        body = _convert(
            conversion.body, conversion, attachments, children.get(text(item, "wp:post_id"), [])
        )
        locator = assets.Locator(
            media_dir or path.parent,
            [],
            [media_dir] if media_dir else [],
            site.config["url"],
            site_path + "/wp-content/uploads" if media_dir else "",
            options.upload_limit,
        )
        if media_dir is not None:
            body = assets.collect(body, locator, conversion, draft.assets)
            body = assets.collect_files(body, locator, conversion, draft.assets)
        slug_text = unquote(text(item, "wp:post_name")).strip()
        try:
            slug = (
                check_slug(slug_text) if slug_text else slug_from_title(title, options.slug_style)
            )
        except SlugError:
            slug = slug_from_title(title, options.slug_style)
        categories, tags = _terms(item, parents)
        meta: dict[str, Any] = {}
        excerpt = text(item, "excerpt:encoded").strip()
        if excerpt:
            meta["excerpt"] = excerpt
        if text(item, "wp:post_password"):
            meta["password"] = text(item, "wp:post_password")
        if text(item, "wp:is_sticky") == "1":
            meta["pinned"] = True
        if text(item, "wp:comment_status") == "closed":
            meta["comments"] = False
        if status == "private":
            report.note(None, "private on WordPress: imported as a draft")
        published = _when(text(item, "wp:post_date_gmt"), text(item, "wp:post_date"), options)
        fields = PostFields(
            title=title,
            source=body,
            slug=slug,
            status=PUBLISHED if status == "publish" else SCHEDULED if status == "future" else DRAFT,
            published_at=published,
            updated_at=_when(
                text(item, "wp:post_modified_gmt"), text(item, "wp:post_modified"), options
            ),
            category=categories[0].rsplit(" / ", 1)[-1] if categories else None,
            categories=_with_parents(categories),
            tags=tags,
            meta=meta,
            kind=source.kind,
            lang="en" if not re.search(r"[\u4e00-\u9fff]", title + body[:2000]) else "zh-Hans",
        )
        if fields.status == SCHEDULED and fields.published_at is None:
            fields.status = DRAFT
        link = urlsplit(text(item, "link"))
        if link.path and link.path not in ("", "/") and not link.query:
            draft.old_path = unquote(link.path)
            draft.old_aliases.extend(_other_category_paths(draft.old_path, item, parents))
        # WordPress answers /?p=ID for every post (the guid and "plain" permalinks use it)
        # and /?page_id=ID for pages, whatever the permalink setting. A draft never had a
        # public address, so it gets no redirect (it would lead readers to a 404).
        post_id = text(item, "wp:post_id").strip()
        if post_id.isdigit() and fields.status != DRAFT:
            draft.old_aliases.append(f"{site_path}/?p={post_id}")
            if kind == "page":
                draft.old_aliases.append(f"{site_path}/?page_id={post_id}")
            if draft.old_path is None:
                draft.old_path = draft.old_aliases.pop(0)
        draft.fields = fields
        index.add(source, slug, title)
        drafts.append(draft)
    site.skipped.extend(f"{path}: {n} items of type {kind}" for kind, n in sorted(skipped.items()))
    for nicename, (name, _parent) in parents.items():
        # Stored paths are decoded; a Chinese nicename is percent-encoded in the export.
        # A subcategory's archive is at its parents' path; WordPress redirects its bare
        # nicename there, so links to either exist.
        archive = "/".join(unquote(part) for part in _nicename_chain(nicename, parents))
        site.redirects[f"{site_path}/category/{archive}/"] = f"/categories/{name}/"
        site.redirects[f"{site_path}/category/{unquote(nicename)}/"] = f"/categories/{name}/"
        site.redirects[f"{site_path}/?category_name={unquote(nicename)}"] = f"/categories/{name}/"
    for category in channel.findall("wp:category", ns):
        term = text(category, "wp:term_id").strip()
        name = parents.get(text(category, "wp:category_nicename"), ("", ""))[0]
        if term.isdigit() and name:
            site.redirects[f"{site_path}/?cat={term}"] = f"/categories/{name}/"
    for tag in channel.findall("wp:tag", ns):
        slug = unquote(text(tag, "wp:tag_slug"))
        target = f"/tags/{html.unescape(text(tag, 'wp:tag_name'))}/"
        site.redirects[f"{site_path}/tag/{slug}/"] = target
        site.redirects[f"{site_path}/?tag={slug}"] = target
    site.redirects[f"{site_path}/feed/"] = "/feed.xml"
    for feed in ("rss2", "rss", "atom"):
        site.redirects[f"{site_path}/?feed={feed}"] = "/feed.xml"
    return drafts, index


def _failed(path: Path, reason: str) -> PostDraft:
    draft = PostDraft(SourceFile(path, dialect="wordpress"), FileReport(str(path)))
    draft.error = f"{path}: {reason}"
    return draft


def _when(gmt: str, local: str, options: Options) -> datetime | None:
    for value, zone in ((gmt, None), (local, options.zone)):
        if value and not value.startswith("0000"):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                continue
            return moment if zone is None else to_utc(moment, zone)
    return None


def _with_parents(paths: list[str]) -> list[str]:
    """Category names of ``paths`` ("A / B"), leaves first, then their parents.

    A WordPress category archive lists the posts of its subcategories too, so a post in
    "技术 / Python" belongs to both 技术 and Python here.
    """
    levels = [path.split(" / ") for path in paths]
    names = [parts[-1] for parts in levels] + [p for parts in levels for p in parts[-2::-1]]
    return [name for name in dict.fromkeys(n.strip() for n in names) if name]


def _nicename_chain(nicename: str, parents: dict[str, tuple[str, str]]) -> list[str]:
    """A category's nicename with its parents' in front, root first (its archive's path)."""
    chain = [nicename]
    while parents.get(chain[0], ("", ""))[1] and parents[chain[0]][1] not in chain:
        chain.insert(0, parents[chain[0]][1])
    return chain


def _other_category_paths(
    path: str, item: Element, parents: dict[str, tuple[str, str]]
) -> list[str]:
    """The post's address under each of its other categories, when its permalink has one.

    With ``%category%`` in the permalink structure WordPress names the post's first category
    (by term ID) in the link, but serves the post under any category it is in, written as
    that category's full path ("parent/child"); other addresses are redirected by WordPress
    itself, so they were never pages of their own.
    """
    own = []
    for term in item.findall("category"):
        nicename = term.get("nicename", "")
        if term.get("domain") != "category" or not nicename:
            continue
        chain = _nicename_chain(nicename, parents)
        own.append("/".join(unquote(part) for part in chain))
    own = list(dict.fromkeys(own))
    for category in own:
        marker = f"/{category}/"
        at = path.find(marker)
        if at >= 0 and at + len(marker) < len(path):  # not the post's own name at the end
            head, tail = path[:at], path[at + len(marker) :]
            return [f"{head}/{other}/{tail}" for other in own if other != category]
    return []


def _terms(item: Element, parents: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    categories: list[str] = []
    tags: list[str] = []
    for term in item.findall("category"):
        name = html.unescape(term.text or "").strip()
        if not name:
            continue
        if term.get("domain") == "post_tag":
            tags.append(name)
        elif term.get("domain") == "category":
            path = [name]
            parent = parents.get(term.get("nicename", ""), ("", ""))[1]
            seen = set()
            while parent and parent in parents and parent not in seen:
                seen.add(parent)
                path.insert(0, parents[parent][0])
                parent = parents[parent][1]
            categories.append(" / ".join(path))
    return list(dict.fromkeys(categories)), list(dict.fromkeys(tags))


def _convert(
    body: str, conversion: Conversion, attachments: dict[str, str], children: list[str]
) -> str:
    report = conversion.report
    body = body.replace("\r\n", "\n")
    if BLOCK_COMMENT.search(body):
        report.construct("block comments", CONVERTED, None, "Gutenberg block markers removed")
        body = BLOCK_COMMENT.sub("", body)

    def shortcode(match: re.Match[str]) -> str:
        name, args, inner = match.group(1), match.group(2) or "", match.group(3)
        positional, named = parse_params(args)
        line = conversion.line(match.start())
        if name in ("caption", "wp_caption"):
            inner = inner or ""
            image = re.search(r"(<a\b[^>]*>)?\s*<img\b[^>]*>\s*(</a>)?", inner)
            caption = named.get("caption") or (inner[image.end() :] if image else inner).strip()
            report.construct("[caption]", CONVERTED, line)
            return (
                f"<figure>{image.group(0) if image else ''}"
                f"<figcaption>{caption}</figcaption></figure>"
            )
        if name in ("code", "sourcecode") and inner is not None:
            lang = (
                named.get("lang") or named.get("language") or (positional[0] if positional else "")
            )
            report.construct(f"[{name}]", CONVERTED, line)
            code = html.escape(html.unescape(inner.strip("\n")))
            css = f' class="language-{html.escape(lang)}"' if lang else ""
            return conversion.protect(f"<pre><code{css}>{code}</code></pre>", keep_lines=False)
        if name == "gallery":
            ids = [i.strip() for i in named.get("ids", "").split(",") if i.strip()]
            urls = [attachments[i] for i in ids if i in attachments] if ids else children
            report.construct(
                "[gallery]",
                CONVERTED if urls else KEPT,
                line,
                "" if urls else "no attachments for it in the export",
            )
            images = "".join(f'<img src="{html.escape(u)}" alt="">' for u in urls)
            return f'<div class="gallery">{images}</div>'
        if name in ("embed", "audio", "video", "playlist"):
            url = (
                (inner or "").strip()
                or named.get("src")
                or named.get("mp3")
                or named.get("mp4")
                or next((word for word in positional if "://" in word), "")
            )
            if url:
                report.construct(f"[{name}]", CONVERTED, line, "a link instead of an embed")
                return f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
        if inner is None and not KNOWN_UNCONVERTED.match(name):
            return match.group(0)  # [1], [sic], [note] in prose: brackets, not a shortcode
        report.construct(f"[{name}]", UNKNOWN, line, "WordPress shortcode kept as text")
        return conversion.protect(f"<code>{html.escape(match.group(0))}</code>", keep_lines=False)

    body = SHORTCODE.sub(shortcode, body)
    if not TAG.search(conversion.restore(body)) and not MARKDOWN_SENSITIVE.search(body):
        report.note(None, "body: Markdown (plain paragraphs, nothing to lose)")
        return conversion.restore(body).strip() + "\n"
    report.note(
        None,
        "body: kept as sanitized HTML (it has HTML markup or Markdown-special "
        "characters that a conversion could change)",
    )
    return '<div class="wp-content">\n' + conversion.restore(_autop(body)) + "\n</div>\n"


def _autop(body: str) -> str:
    """WordPress's paragraphs: text separated by blank lines is a <p>, a lone newline a <br>."""
    parts = []
    for chunk in re.split(r"\n\s*\n", body.strip()):
        if not chunk.strip():
            continue
        if BLOCK_TAGS.match(chunk) or chunk.lstrip().startswith("\x02"):
            parts.append(chunk.strip())
        else:
            parts.append("<p>" + chunk.strip().replace("\n", "<br>\n") + "</p>")
    return "\n".join(parts)
