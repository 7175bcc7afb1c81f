"""Script variants: every public page in 简体, 繁體, 臺灣正體 and 香港繁體, converted with OpenCC.

Request time: pages are served under ``/<variant>/…`` (the core routes the prefix), an
unprefixed page in the reader's remembered or ``Accept-Language`` variant; the response
filter converts the page's text (not code, math or URLs) and the template context gives
the themes the switcher links, ``html_lang``, ``hreflang`` alternates and canonical URL.

Save time: the ``-{…}-`` Markdown syntax (:mod:`.markup`) and the post's
``variants_rules`` front matter (:mod:`.rules`), which is stored with the body as a
``data-variant-rules`` attribute on a wrapping ``div`` so the response filter applies it
(the body of a Traditional post is wrapped too, with its ``lang``).
The default technical glossary (``data/glossary.toml``) and the site's
``instance/glossary.toml`` apply to every page.
"""

from __future__ import annotations

import html as html_lib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app, g, has_app_context, request

from blog.api import current_variant, hookimpl, plugin_config

from .converters import UnknownConfigError, convert_text, converter
from .htmlconvert import Target, convert_document
from .markup import ALLOWED_HTML, VariantMarkupExtension
from .rules import Rule, RuleError, load_glossary, parse_rules
from .selection import chosen_variant, page_context, remember_choice
from .variants import HANS, HANT, KNOWN_VARIANTS, script_of_lang

if TYPE_CHECKING:
    from flask import Flask, Request, Response
    from markdown.extensions import Extension
    from werkzeug.wrappers import Response as BaseResponse

    from blog.models import Post

__version__ = "1.0.0"

logger = logging.getLogger("blog_plugins.opencc")

DEFAULT_GLOSSARY = Path(__file__).parent / "data" / "glossary.toml"
RULES_KEY = "variants_rules"
RULES_ATTRIBUTE = "data-variant-rules"
CONVERTED_MIMETYPES = frozenset(
    {"text/html", "application/xhtml+xml", "application/atom+xml", "application/rss+xml"}
)
STATE_KEY = "blog_plugins.opencc"
#: The core's blueprints for authors: no switcher, no remembered choice, no variant links.
PRIVATE_BLUEPRINTS = frozenset({"admin", "api", "uploads"})
#: Responses never converted: JSON and uploaded files. Admin pages are converted like any
#: page (their UI strings follow the reader's variant); the author's source sits in a
#: ``translate="no"`` textarea and the live preview arrives as JSON, so both stay as written.
UNCONVERTED_BLUEPRINTS = frozenset({"api", "uploads"})


@dataclass
class Config:
    """``[plugins.opencc]``: the variants offered and how each is made."""

    #: Variants offered, in switcher order (any of zh-hans, zh-hant, zh-tw, zh-hk).
    variants: list[str] = field(default_factory=lambda: ["zh-hans", "zh-hant", "zh-tw", "zh-hk"])
    #: OpenCC configuration per variant for Simplified text. t2s for zh-hans leaves
    #: Simplified text as it is and catches Traditional titles shown on Simplified pages.
    from_simplified: dict[str, str] = field(
        default_factory=lambda: {
            "zh-hans": "t2s",
            "zh-hant": "s2t",
            "zh-tw": "s2twp",
            "zh-hk": "s2hk",
        }
    )
    #: OpenCC configuration per variant for text marked ``lang="zh-Hant"`` ("" = as is).
    from_traditional: dict[str, str] = field(
        default_factory=lambda: {"zh-hans": "t2s", "zh-hant": "", "zh-tw": "t2tw", "zh-hk": "t2hk"}
    )
    #: Apply the plugin's technical glossary (data/glossary.toml).
    default_glossary: bool = True
    #: The site's glossary, relative to the instance folder; missing is fine.
    glossary: str = "glossary.toml"
    #: Cookie remembering the reader's choice.
    cookie_name: str = "variant"
    cookie_days: int = 365


@dataclass(frozen=True)
class State:
    """What start-up prepared: the checked configuration and the loaded glossaries."""

    config: Config
    glossary: tuple[Rule, ...]

    def target(self, code: str) -> Target:
        return Target(
            code=code,
            html_lang=KNOWN_VARIANTS[code].html_lang,
            configs={
                HANS: self.config.from_simplified.get(code, ""),
                HANT: self.config.from_traditional.get(code, ""),
            },
            default_script=script_of_lang(str(current_app.config.get("LANGUAGE", "zh-Hans"))),
            glossary=self.glossary,
        )


def _config() -> Config:
    config = plugin_config("opencc")
    return config if isinstance(config, Config) else Config()


def _state() -> State:
    state = current_app.extensions.get(STATE_KEY)
    if not isinstance(state, State):
        state = prepare(current_app.instance_path, _config())
        current_app.extensions[STATE_KEY] = state
    return state


def prepare(instance_path: str, config: Config) -> State:
    """Check ``config``, build its converters and load the glossaries; raise on a problem."""
    unknown = [code for code in config.variants if code not in KNOWN_VARIANTS]
    if unknown:
        raise ValueError(
            f"[plugins.opencc] variants: unknown {unknown}; known: {sorted(KNOWN_VARIANTS)}"
        )
    for table in ("from_simplified", "from_traditional"):
        for code, name in getattr(config, table).items():
            if code not in KNOWN_VARIANTS:
                raise ValueError(f"[plugins.opencc] {table}: unknown variant {code!r}")
            if name:
                try:
                    converter(name)
                except UnknownConfigError as error:
                    raise ValueError(f"[plugins.opencc] {table}.{code}: {error}") from None
    rules: list[Rule] = []
    if config.default_glossary:
        rules += load_glossary(DEFAULT_GLOSSARY)
    site_glossary = Path(instance_path) / config.glossary
    if config.glossary and site_glossary.is_file():
        rules += load_glossary(site_glossary)
    return State(config, tuple(rules))


# -- start-up ------------------------------------------------------------------------


@hookimpl
def blog_startup(app: Flask) -> None:
    app.extensions[STATE_KEY] = prepare(app.instance_path, _config())


#: The configuration of the app being created. ``blog_variants`` has no ``app`` argument and
#: the core calls it outside an application context, right after ``blog_register_routes``
#: for the same app, so the offered variants are taken from here then.
_app_being_created: list[Config] = []


@hookimpl
def blog_variants() -> list[str]:
    if has_app_context():
        return list(_config().variants)
    return list(_app_being_created[-1].variants) if _app_being_created else []


@hookimpl
def blog_register_routes(app: Flask) -> None:
    config = app.extensions["blog.plugins"].config_for("opencc")
    _app_being_created[:] = [config if isinstance(config, Config) else Config()]

    def variant_parameter() -> BaseResponse | None:
        if request.blueprint in PRIVATE_BLUEPRINTS:
            return None
        config = _config()
        return remember_choice(
            request, config.variants, config.cookie_name, config.cookie_days * 86400
        )

    app.before_request(variant_parameter)


# -- save time -----------------------------------------------------------------------


@hookimpl
def blog_markdown_extensions() -> list[Extension | str]:
    return [VariantMarkupExtension()]


@hookimpl
def blog_allowed_html() -> dict[str, Any]:
    attributes = {tag: set(names) for tag, names in ALLOWED_HTML["attributes"].items()}
    attributes.setdefault("div", set()).add(RULES_ATTRIBUTE)
    return {"attributes": attributes}


def _post_rules(post: Post) -> tuple[list[Rule], list[str]]:
    meta = post.meta or {}
    if RULES_KEY not in meta:
        return [], []
    return parse_rules(meta[RULES_KEY], script_of_lang(post.lang))


@hookimpl
def blog_render_html(post: Post, html: str) -> str | None:
    """Wrap the body of a Traditional post or one with rules, so the filter knows both.

    Themes may drop the article's ``lang`` on variant pages (the page is then entirely in
    one script), so a Traditional body says its script itself and gets the
    ``from_traditional`` conversions.
    """
    rules, _errors = _post_rules(post)
    attributes = []
    if script_of_lang(post.lang) == HANT:
        attributes.append(f'lang="{html_lib.escape(post.lang, quote=True)}"')
    if rules:
        stored = json.dumps([rule.to_json() for rule in rules], ensure_ascii=False)
        attributes.append(f'{RULES_ATTRIBUTE}="{html_lib.escape(stored, quote=True)}"')
    if not attributes:
        return None
    return f"<div {' '.join(attributes)}>{html}</div>"


@hookimpl
def blog_post_metadata(post: Post, html: str) -> dict[str, Any] | None:
    _rules, errors = _post_rules(post)
    for error in errors:
        logger.warning("post %r: %s: %s", post.slug, RULES_KEY, error)
    return {"variant_rule_errors": errors} if errors else None


@hookimpl
def blog_search_text(text: str) -> str | None:
    """Index and query in mainland Simplified wording, so any variant finds every post.

    ``s2t`` first makes the text uniformly Traditional (Simplified characters map to
    several Traditional ones), then ``tw2sp`` folds Taiwan phrases too: 記憶體 → 内存.
    """
    return convert_text("tw2sp", convert_text("s2t", text))


@hookimpl
def blog_text_lang(text: str) -> str | None:
    """Say whether reader-written ``text`` is Traditional or Simplified Chinese.

    Counts the characters that only one script uses: those ``s2t`` changes are Simplified,
    those ``t2s`` changes are Traditional. Text with neither (ASCII, shared characters)
    gets no answer and keeps its post's language.
    """
    to_traditional = convert_text("s2t", text)
    to_simplified = convert_text("t2s", text)
    if len(to_traditional) != len(text) or len(to_simplified) != len(text):
        return None
    simplified = sum(a != b for a, b in zip(text, to_traditional, strict=True))
    traditional = sum(a != b for a, b in zip(text, to_simplified, strict=True))
    if simplified == traditional == 0:
        return None
    return "zh-Hant" if traditional > simplified else "zh-Hans"


# -- request time --------------------------------------------------------------------


@hookimpl
def blog_request_variant(request: Request) -> str | None:
    config = _config()
    return chosen_variant(request, config.variants, config.cookie_name)


@hookimpl
def blog_template_context(request: Request, template: str) -> dict[str, Any] | None:
    if request.blueprint in PRIVATE_BLUEPRINTS:
        return None
    config = _config()
    return page_context(
        request,
        config.variants,
        current_variant(),
        str(current_app.config.get("SITE_URL") or ""),
    )


@hookimpl
def blog_response_filter(request: Request, response: Response) -> Response | None:
    if 300 <= response.status_code < 400 or response.direct_passthrough:
        return None
    if request.blueprint in UNCONVERTED_BLUEPRINTS:
        return None
    if not g.get("variant_prefixed"):
        # The same URL shows different text depending on these two request headers.
        response.vary.update(("Cookie", "Accept-Language"))
    code = current_variant()
    if code not in KNOWN_VARIANTS or response.mimetype not in CONVERTED_MIMETYPES:
        return response
    source = response.get_data(as_text=True)
    xml = response.mimetype != "text/html"
    converted = convert_document(source, _state().target(code), xml=xml)
    response.set_data(converted)
    response.headers["Content-Language"] = KNOWN_VARIANTS[code].html_lang
    return response


__all__ = ["Config", "RuleError", "prepare"]
