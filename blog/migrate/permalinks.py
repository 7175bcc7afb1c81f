"""Old URLs: each source engine's permalink pattern, filled in for one post."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from blog.migrate.site import JEKYLL_POST_NAME, Site, SourceFile

JEKYLL_STYLES = {
    "pretty": "/:categories/:year/:month/:day/:title/",
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
TOKEN = re.compile(r":(\w+)(\[[^\]]*\])?")


def urlize(text: str) -> str:
    """Hugo's and Hexo's way of turning a title or term into a URL part."""
    text = re.sub(r"[\s_]+", "-", text.strip())
    return re.sub(r"[^\w\-.~/]", "", text)


def _date(value: Any) -> date | None:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        except ValueError:
            return None
    return None


def _fill(pattern: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return values.get(name, match.group(0))

    path = TOKEN.sub(one, pattern)
    path = re.sub(r"/{2,}", "/", "/" + path.lstrip("/"))
    return path


def old_post_paths(site: Site, source: SourceFile, data: dict[str, Any], slug: str) -> list[str]:
    """The paths the post had on the old site (with the site's base path), if they can be told.

    Usually one. A Hexo permalink with ``:category`` can have several candidates: Hexo
    fills it in with the post's most recently created category, which is the leaf of one
    of its category chains, but which chain depends on the order in which Hexo met the
    categories across the whole site; every chain's leaf is recorded.
    """
    if site.engine == "hexo":
        return _hexo(site, source, data)
    path = None
    if site.engine == "hugo":
        path = _hugo(site, source, data, slug)
    elif site.engine == "jekyll":
        path = _jekyll(site, source, data)
    return [path] if path else []


def hexo_category_chains(data: dict[str, Any]) -> list[list[str]]:
    """The post's category chains as Hexo reads front matter, each from the root down.

    A flat list ``[A, B]`` is one chain (B is a subcategory of A); a list of lists
    ``[[A, B], [C]]`` is one chain per inner list (an inner plain string is a chain of one).
    """
    value = data.get("categories", data.get("category"))
    if isinstance(value, str):
        return [[value.strip()]] if value.strip() else []
    if not isinstance(value, list):
        return []
    if not any(isinstance(item, list) for item in value):
        chain = [str(item).strip() for item in value if str(item).strip()]
        return [chain] if chain else []
    chains = []
    for item in value:
        chain = [str(n).strip() for n in (item if isinstance(item, list) else [item])]
        if [n for n in chain if n]:
            chains.append([n for n in chain if n])
    return chains


def hexo_category_paths(site: Site, data: dict[str, Any]) -> dict[str, str]:
    """Old Hexo category listing paths of one post → the name of the category each shows.

    Hexo makes a listing for every level of every chain, at the parent's path plus its own
    part (``/categories/A/`` and ``/categories/A/B/``).
    """
    folder = str(site.config.get("category_dir") or "categories").strip("/")
    paths = {}
    for chain in hexo_category_chains(data):
        for depth in range(1, len(chain) + 1):
            parts = "/".join(urlize(name) for name in chain[:depth])
            paths[_with_base(site, f"/{folder}/{parts}/")] = chain[depth - 1]
    return paths


def _with_base(site: Site, path: str) -> str:
    return site.base_path + ("/" + path.lstrip("/") if path else "/")


def _hexo(site: Site, source: SourceFile, data: dict[str, Any]) -> list[str]:
    if isinstance(data.get("permalink"), str) and data["permalink"].strip():
        return [_with_base(site, data["permalink"].strip())]
    if source.kind == "page":
        key = source.key.removesuffix("/index").removesuffix("index")
        return [_with_base(site, key.strip("/") + "/")] if key else []
    when = _date(data.get("date"))
    # A category's slug is its chain's path ("A/B"); without one, the default category.
    leaves = ["/".join(urlize(n) for n in chain) for chain in hexo_category_chains(data)]
    default = str(site.config.get("default_category") or "uncategorized")
    values = {
        "title": source.key,
        "name": source.path.stem,
        "post_title": urlize(str(data.get("title", ""))),
        "abbrlink": str(data.get("abbrlink", "")),
        "id": str(data.get("id", "")),
    }
    if when is not None:
        values.update(
            year=f"{when.year:04d}",
            month=f"{when.month:02d}",
            day=f"{when.day:02d}",
            i_month=str(when.month),
            i_day=str(when.day),
        )
        if isinstance(when, datetime):
            values.update(
                hour=f"{when.hour:02d}", minute=f"{when.minute:02d}", second=f"{when.second:02d}"
            )
    pattern = str(site.config.get("permalink") or ":year/:month/:day/:title/")
    if "year" not in values and ":year" in pattern:
        return []
    paths = [
        _with_base(site, _fill(pattern, {**values, "category": leaf}))
        for leaf in leaves or [urlize(default)]
    ]
    return list(dict.fromkeys(paths))


def _hugo(site: Site, source: SourceFile, data: dict[str, Any], slug: str) -> str | None:
    if isinstance(data.get("url"), str) and data["url"].strip():
        return _with_base(site, data["url"].strip())
    parts = source.key.split("/")
    bundle = source.path.stem == "index"
    base_name = parts[-2] if bundle and len(parts) > 1 else parts[-1]
    section = parts[0] if len(parts) > 1 else ""
    permalinks = site.config.get("permalinks") or {}
    pattern = permalinks.get(section) if isinstance(permalinks, dict) else None
    if isinstance(pattern, dict):  # Hugo ≥ 0.120: [permalinks.page]
        pattern = pattern.get(section)
    own_slug = str(data.get("slug") or "")
    if not pattern:
        folder = "/".join(parts[:-1] if not bundle else parts[:-2])
        path = f"/{folder}/{own_slug or base_name}/"
    else:
        when = _date(data.get("date"))
        values = {
            "slug": own_slug or urlize(str(data.get("title", ""))),
            "title": urlize(str(data.get("title", ""))),
            "filename": base_name,
            "contentbasename": base_name,
            "slugorfilename": own_slug or base_name,
            "slugorcontentbasename": own_slug or base_name,
            "section": section,
            "sections": "/".join(parts[:-1] if not bundle else parts[:-2]),
        }
        if when is not None:
            values.update(year=f"{when.year:04d}", month=f"{when.month:02d}", day=f"{when.day:02d}")
        path = _fill(str(pattern), values)
        if not path.endswith("/"):
            path += "/"
    if not site.config.get("disablePathToLower"):
        path = path.lower()
    return _with_base(site, path)


def _jekyll(site: Site, source: SourceFile, data: dict[str, Any]) -> str | None:
    if isinstance(data.get("permalink"), str) and data["permalink"].strip():
        return _with_base(site, data["permalink"].strip())
    if source.kind == "page":
        return _with_base(site, f"/{source.key}.html")
    named = JEKYLL_POST_NAME.match(source.path.stem)
    when = _date(data.get("date"))
    if named is None:
        return None
    if when is None:
        when = date(int(named.group(1)), int(named.group(2)), int(named.group(3)))
    pattern = str(site.config.get("permalink") or "date")
    pattern = JEKYLL_STYLES.get(pattern, pattern)
    categories = data.get("categories") or data.get("category") or []
    if isinstance(categories, str):
        categories = categories.split()
    values = {
        "title": str(data.get("slug") or named.group(4)),
        "slug": str(data.get("slug") or named.group(4)),
        "categories": "/".join(urlize(str(c)).lower() for c in categories),
        "year": f"{when.year:04d}",
        "month": f"{when.month:02d}",
        "day": f"{when.day:02d}",
        "i_month": str(when.month),
        "i_day": str(when.day),
        "y_day": f"{when.timetuple().tm_yday:03d}",
        "output_ext": ".html",
    }
    return _with_base(site, _fill(pattern, values))


def taxonomy_paths(site: Site, kind: str, name: str) -> list[str]:
    """Old URLs of a category or tag listing (``kind`` is "categories" or "tags").

    Hexo's subcategory listings are under their parents' paths: see
    :func:`hexo_category_paths`; this gives a category's path as if it were at the top.
    """
    if site.engine == "hexo":
        folder = str(site.config.get("category_dir" if kind == "categories" else "tag_dir") or kind)
        return [_with_base(site, f"/{folder}/{urlize(name)}/")]
    if site.engine == "hugo":
        term = urlize(name).lower()
        return [_with_base(site, f"/{kind}/{term}/"), _with_base(site, f"/{kind}/{term}/index.xml")]
    return []


def feed_paths(site: Site) -> list[str]:
    if site.engine == "hexo":
        return [
            _with_base(site, "/atom.xml"),
            _with_base(site, "/rss2.xml"),
            _with_base(site, "/rss.xml"),
        ]
    if site.engine == "hugo":
        return [_with_base(site, "/index.xml"), _with_base(site, "/posts/index.xml")]
    if site.engine == "jekyll":
        return [_with_base(site, "/feed.xml"), _with_base(site, "/atom.xml")]
    return []


def path_of(url: str) -> str:
    return urlsplit(url).path or "/"
