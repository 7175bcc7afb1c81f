"""Which variant a reader sees, and the links and metadata that let them change it.

Order, as MediaWiki's: the URL prefix (handled by the core), then the reader's remembered
choice (a cookie, set through ``?variant=``), then ``Accept-Language``, then none (the
page in its source script).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Request, redirect
from werkzeug.wrappers import Response

from .variants import KNOWN_VARIANTS, best_variant

#: ``?variant=`` values that forget the remembered choice.
FORGET = frozenset({"auto", "none"})


@dataclass(frozen=True)
class Place:
    """Where the current request is: site root, prefix in use and the path below both."""

    root: str
    prefix: str | None
    path: str
    query: list[tuple[str, str]]

    def url(self, code: str | None) -> str:
        prefix = f"/{code}" if code else ""
        query = f"?{urlencode(self.query)}" if self.query else ""
        return f"{self.root}{prefix}{self.path}{query}"


def place_of(request: Request, offered: list[str]) -> Place:
    """Describe ``request``'s URL without its variant prefix and ``variant`` parameter."""
    root = request.script_root
    prefix = None
    for code in offered:
        if root.endswith(f"/{code}"):
            root, prefix = root[: -len(code) - 1], code
            break
    # A path that starts with several slashes (or a backslash) would make "//host"
    # in a Location header, a redirect to another site.
    path = "/" + request.path.lstrip("/\\")
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "variant"]
    return Place(root, prefix, path, query)


def chosen_variant(request: Request, offered: list[str], cookie_name: str) -> str | None:
    """The variant for an unprefixed URL: the remembered one, else ``Accept-Language``'s."""
    remembered = request.cookies.get(cookie_name)
    if remembered in offered:
        return remembered
    header = request.headers.get("Accept-Language", "")
    return best_variant(header, offered) if header else None


def remember_choice(
    request: Request, offered: list[str], cookie_name: str, max_age: int
) -> Response | None:
    """Answer ``?variant=CODE``: remember the choice and redirect to the page in that variant.

    The target is always a path on this site built from the request's own path, never
    from anything else the client sends, so this cannot become an open redirect.
    """
    wanted = request.args.get("variant")
    if wanted is None or request.method not in ("GET", "HEAD"):
        return None
    wanted = wanted.strip().lower()
    if wanted not in offered and wanted not in FORGET:
        return None
    place = place_of(request, offered)
    code = wanted if wanted in offered else None
    response = redirect(place.url(code), code=302)
    if code:
        response.set_cookie(
            cookie_name, code, max_age=max_age, path=place.root or "/", samesite="Lax"
        )
    else:
        response.delete_cookie(cookie_name, path=place.root or "/")
    response.headers["Cache-Control"] = "no-store"
    return response


def page_context(
    request: Request, offered: list[str], current: str | None, site_url: str
) -> dict[str, Any]:
    """Template variables: the switcher's links, ``html_lang``, alternates and canonical URL."""
    place = place_of(request, offered)
    base = site_url.rstrip("/") if site_url else request.host_url.rstrip("/") + place.root
    absolute = Place(base, None, place.path, [])
    links = []
    for code in offered:
        variant = KNOWN_VARIANTS[code]
        choose = Place(place.root, None, place.path, [*place.query, ("variant", code)])
        links.append(
            {
                "code": code,
                "label": variant.label,
                "hreflang": variant.html_lang,
                "url": choose.url(code),
                "current": code == current,
            }
        )
    alternates = [{"hreflang": "x-default", "href": absolute.url(None)}]
    alternates += [
        {"hreflang": KNOWN_VARIANTS[code].html_lang, "href": absolute.url(code)} for code in offered
    ]
    context: dict[str, Any] = {
        "variant_links": links,
        "alternate_links": alternates,
        "canonical_url": absolute.url(place.prefix),
    }
    if current is not None:
        context["html_lang"] = KNOWN_VARIANTS[current].html_lang
    return context
