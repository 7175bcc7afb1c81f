"""Read and convert one source file into a :class:`PostDraft`; nothing is written here.

This step only reads the source folder, so it can run in worker processes; storing a draft
(uploads, the post, its old URLs) is :func:`blog.importer.store_draft`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from blog.frontmatter import Document, FrontMatterError, json_safe, split_document
from blog.migrate import assets, hexo, hugo, jekyll
from blog.migrate.common import Conversion, show_foreign
from blog.migrate.permalinks import hexo_category_paths, old_post_paths
from blog.migrate.report import FileReport
from blog.migrate.site import JEKYLL_POST_NAME, Site, SourceFile
from blog.posts import FieldError, PostFields, fields_from_document
from blog.slugs import SlugError, check_slug, slug_from_title

#: Past this many tags a post is imported with a warning (some blogs tag every keyword).
TAG_WARNING = 30
COVER_KEYS = (
    "cover",
    "thumbnail",
    "image",
    "featuredImage",
    "featured_image",
    "banner_img",
    "index_img",
    "titleImg",
    "featuredImagePreview",
)
EXCERPT_KEYS = ("excerpt", "description", "summary")


@dataclass
class PostDraft:
    """A converted post, ready to store: fields, the images to upload and its old URL."""

    source: SourceFile
    report: FileReport
    fields: PostFields | None = None
    assets: list[assets.Asset] = field(default_factory=list)
    old_path: str | None = None
    #: More old URLs of the same post, site-absolute, perhaps with a query (``/?p=123``).
    old_aliases: list[str] = field(default_factory=list)
    #: Old category listing paths that showed this post → the category's name, where the
    #: source engine nests them (Hexo); other engines' come from :func:`taxonomy_paths`.
    old_category_paths: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    author: str = "import"
    #: Line of the source file where the body starts (after the front matter).
    body_line: int = 1
    #: Comments that came with the post (WordPress), in the comments' import format;
    #: their ``post`` is filled in once the post's final slug is known.
    comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Options:
    """What converting needs from the target instance, as plain values (picklable)."""

    zone: ZoneInfo
    slug_style: str = "pinyin"
    upload_limit: int = 10 * 1024 * 1024


def decode(raw: bytes, report: FileReport) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK) with a note."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            line = raw[: error.start].count(b"\n") + 1
            reason = f"invalid UTF-8 (byte {error.start}), and not GBK either"
            raise FrontMatterError(reason, line) from None
        report.note(None, "decoded as GBK/GB18030, not UTF-8")
        return text


def site_zone_of(site: Site, default: ZoneInfo) -> ZoneInfo:
    name = site.config.get("timezone") or site.config.get("timeZone")
    if isinstance(name, str) and name.strip():
        try:
            return ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default


class Index:
    """Every file's key → (URL, title), for ``post_link``, ``ref`` and ``post_url``."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str]] = {}
        #: Each file as read while indexing, with the notes reading it made: its draft
        #: takes it from here (:func:`make_draft`) instead of reading and parsing it again.
        self.documents: dict[Path, tuple[Document, list[str]]] = {}

    def add(self, source: SourceFile, slug: str, title: str) -> None:
        url = f"/{'pages' if source.kind == 'page' else 'posts'}/{slug}/"
        key = source.key
        names = {key, source.path.stem, source.path.name, key.rsplit("/", 1)[-1]}
        if source.path.stem in ("index", "_index") and "/" in key:
            folder = key.rsplit("/", 1)[0]
            names |= {folder, folder.rsplit("/", 1)[-1]}
        dated = JEKYLL_POST_NAME.match(source.path.stem)
        if dated:
            names.add(dated.group(4))
        for name in names:
            self.entries.setdefault(name, (url, title))
            self.entries.setdefault(name.lower(), (url, title))

    def lookup(self, reference: str) -> tuple[str, str] | None:
        reference = reference.strip().strip("\"'").strip("/")
        for candidate in (
            reference,
            reference.removesuffix(".md"),
            reference.removeprefix("content/"),
            reference.rsplit("/", 1)[-1].removesuffix(".md"),
        ):
            found = self.entries.get(candidate) or self.entries.get(candidate.lower())
            if found is not None:
                return found
        return None


def read_document(source: SourceFile, report: FileReport) -> Document:
    return split_document(decode(source.path.read_bytes(), report), fallback_title=source.path.stem)


def slug_for(site: Site, source: SourceFile, data: dict[str, Any], title: str, style: str) -> str:
    """Keep the old site's name for a post where it has one; else derive one as before."""
    for key in ("slug", "abbrlink"):
        if data.get(key):
            return check_slug(str(data[key]))
    permalink = data.get("permalink")
    if isinstance(permalink, str) and permalink.strip("/"):
        return check_slug(permalink.strip("/").rsplit("/", 1)[-1].removesuffix(".html"))
    if site.engine in ("hexo", "hugo", "jekyll"):
        name = source.path.stem
        if name in ("index", "_index") and source.path.parent != site.root:
            name = source.path.parent.name
        dated = JEKYLL_POST_NAME.match(name)
        if site.engine == "jekyll" and dated:
            name = dated.group(4)
        try:
            return check_slug(name)
        except SlugError:
            pass
    return slug_from_title(title, style)


def build_index(site: Site, options: Options) -> Index:
    index = Index()
    for source in site.files:
        reading = FileReport(str(source.path))
        try:
            document = read_document(source, reading)
        except (FrontMatterError, OSError):
            continue
        index.documents[source.path] = (document, reading.notes)
        title = str(document.fields.get("title") or source.path.stem)
        try:
            index.add(
                source, slug_for(site, source, document.fields, title, options.slug_style), title
            )
        except SlugError:
            continue
    return index


def _locator(site: Site, source: SourceFile, options: Options) -> assets.Locator:
    folder = source.path.parent
    relative = [folder]
    absolute = [site.root]
    if site.engine == "hexo":
        source_dir = site.root / str(site.config.get("source_dir") or "source")
        relative = [folder / source.path.stem, folder, source_dir]
        absolute = [source_dir, site.root]
    elif site.engine == "hugo":
        static = site.root / str(site.config.get("staticDir") or "static")
        relative = [folder, static]
        absolute = [static, site.root / "assets", site.root / "content", site.root]
    elif site.engine == "plain":
        absolute = [site.root, site.root / "static", site.root.parent / "static"]
    return assets.Locator(
        site.root, relative, absolute, site.site_url, site.base_path, options.upload_limit
    )


def make_draft(site: Site, source: SourceFile, index: Index, options: Options) -> PostDraft:
    """Read ``source`` and convert it; errors become ``draft.error``, never exceptions."""
    report = FileReport(str(source.path))
    draft = PostDraft(source, report)
    try:
        if source.path in index.documents:
            document, notes = index.documents.pop(source.path)
            report.notes.extend(notes)
        else:
            document = read_document(source, report)
        data = dict(document.fields)
        if site.engine != "plain":  # a bare folder is read exactly as before
            _normalise_keys(data)
        if "date" not in data and site.engine == "jekyll":
            dated = JEKYLL_POST_NAME.match(source.path.stem)
            if dated:  # Jekyll takes the date from the file name
                data["date"] = date(*(int(dated.group(i)) for i in (1, 2, 3)))
        conversion = Conversion(report, document.body, document.body_line)
        draft.body_line = document.body_line
        body = _convert_body(site, source, document.body, conversion, index, data)
        body = (
            show_foreign(body, conversion)
            if site.engine != "plain" or source.dialect != "plain"
            else body
        )
        body = assets.unlazy(body, conversion)
        locator = _locator(site, source, options)
        body = assets.collect(body, locator, conversion, draft.assets)
        body = assets.collect_files(body, locator, conversion, draft.assets)
        for key in COVER_KEYS:
            if isinstance(data.get(key), str) and data[key]:
                data[key] = assets.collect_value(data[key], locator, conversion, draft.assets)
        if site.engine == "jekyll" and isinstance(data.get("categories"), str):
            # Jekyll reads a `categories:` string as space-separated names (`category:`
            # is always one name).
            data["categories"] = data["categories"].split()
        document = Document(data, body, document.style, document.body_line)
        zone = site_zone_of(site, options.zone)
        fields = fields_from_document(document, zone)
        title = fields.title
        fields.slug = slug_for(site, source, data, title, options.slug_style)
        fields.kind = source.kind if "kind" not in data else fields.kind
        if len(fields.tags) > TAG_WARNING:
            report.note(
                None, f"warning: {len(fields.tags)} tags (more than {TAG_WARNING}); all kept"
            )
        old_paths = old_post_paths(site, source, data, fields.slug)
        if old_paths:
            draft.old_path = old_paths[0]
            draft.old_aliases.extend(old_paths[1:])
        if site.engine == "hexo" and source.kind != "page":
            draft.old_category_paths = hexo_category_paths(site, data)
        draft.fields = fields
    except FrontMatterError as error:
        draft.error = (
            f"{source.path}:{error.line}: {error.reason}"
            if error.line
            else f"{source.path}: {error.reason}"
        )
    except (FieldError, SlugError, OSError, ValueError) as error:
        draft.error = f"{source.path}: {error}"
    return draft


def _normalise_keys(data: dict[str, Any]) -> None:
    """Map each engine's spelling of a field onto the one this engine reads."""
    if "lastmod" in data and "updated" not in data:
        data["updated"] = data.pop("lastmod")
    for key in ("update_time", "modified"):
        if key in data and "updated" not in data and _is_date(data[key]):
            data["updated"] = data.pop(key)
    if "date" not in data and "publishDate" in data:
        data["date"] = data["publishDate"]
    for key in ("sticky", "top"):
        if key in data and "pinned" not in data:
            value = data.pop(key)
            if value not in (False, 0, None, "false"):
                data["pinned"] = (
                    value if isinstance(value, int) and not isinstance(value, bool) else True
                )
    if data.get("no_comment") is True or data.get("comment") is False:
        data["comments"] = False
    if any(data.get(k) for k in ("mathjax", "katex", "math")):
        data["math"] = True
    if "cover" not in data:
        for key in COVER_KEYS[1:]:
            value = data.get(key)
            if isinstance(value, list) and value:
                value = value[0]
            if isinstance(value, dict):
                value = value.get("src") or value.get("image")
            if isinstance(value, str) and value:
                data["cover"] = value
                break
    cover = data.get("cover")
    if isinstance(cover, dict):
        data["cover"] = cover.get("image") or cover.get("src") or ""
    if "excerpt" not in data:
        for key in EXCERPT_KEYS[1:]:
            if isinstance(data.get(key), str) and data[key].strip():
                data["excerpt"] = data[key]
                break
    if data.get("date") is None and "date" in data:
        data.pop("date")


def _is_date(value: Any) -> bool:
    return isinstance(value, datetime | date)


def _convert_body(
    site: Site,
    source: SourceFile,
    body: str,
    conversion: Conversion,
    index: Index,
    data: dict[str, Any],
) -> str:
    if source.dialect == "hexo":
        return hexo.convert(body, conversion, index.lookup)
    if source.dialect == "hugo":
        params = site.config.get("params") if isinstance(site.config.get("params"), dict) else {}
        return hugo.convert(body, conversion, index.lookup, params or {})
    if source.dialect == "jekyll":
        page = {k: json_safe(v) for k, v in data.items()}
        includes = site.root / "_includes"
        return jekyll.convert(
            body,
            conversion,
            index.lookup,
            site.config,
            page,
            includes if includes.is_dir() else None,
        )
    return body
