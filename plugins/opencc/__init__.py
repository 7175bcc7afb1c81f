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
``instance/glossary.toml`` apply to every page, and so do the conversion groups named in
``[plugins.opencc] groups``; a post adds groups with ``variants_groups`` front matter
(stored as a ``data-variant-groups`` attribute). Groups are MediaWiki ``Module:CGroup``
files in ``instance/variant_groups/`` (:mod:`.groups`), loaded and compiled at start-up;
:mod:`.vocabulary` merges every source in order of precedence.
"""

from __future__ import annotations

import html as html_lib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app, g, has_app_context, request

from blog.api import TextTransform, current_variant, hookimpl, plugin_config

from .commands import groups_command
from .converters import UnknownConfigError, convert_text, converter
from .groups import NAME_PATTERN, GroupError, load_groups
from .htmlconvert import Target, VariantConversion
from .markup import ALLOWED_HTML, VariantMarkupExtension
from .rules import Rule, RuleError, load_glossary, parse_rules
from .selection import chosen_variant, page_context, remember_choice
from .variants import HANS, HANT, KNOWN_VARIANTS, script_of_lang
from .vocabulary import Vocabulary

if TYPE_CHECKING:
    import click
    from flask import Flask, Request, Response
    from markdown.extensions import Extension
    from werkzeug.wrappers import Response as BaseResponse

    from blog.api import PostDraft

__version__ = "1.0.0"

logger = logging.getLogger("blog_plugins.opencc")

DEFAULT_GLOSSARY = Path(__file__).parent / "data" / "glossary.toml"
RULES_KEY = "variants_rules"
RULES_ATTRIBUTE = "data-variant-rules"
GROUPS_KEY = "variants_groups"
GROUPS_ATTRIBUTE = "data-variant-groups"
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
    #: Conversion groups applied to every page (names of files in ``groups_folder``).
    groups: list[str] = field(default_factory=list)
    #: Where conversion group files live, relative to the instance folder.
    groups_folder: str = "variant_groups"
    #: Cookie remembering the reader's choice.
    cookie_name: str = "variant"
    cookie_days: int = 365


@dataclass(frozen=True)
class State:
    """What start-up prepared: the checked configuration and the loaded glossaries."""

    config: Config
    glossary: tuple[Rule, ...]
    vocabulary: Vocabulary

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
            vocabulary=self.vocabulary,
        )


def _config() -> Config:
    return plugin_config("opencc") or Config()


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
    groups = load_groups(groups_folder(instance_path, config))
    unknown_groups = [name for name in config.groups if name.lower() not in groups]
    if unknown_groups:
        raise GroupError(
            f"[plugins.opencc] groups: no group file for {unknown_groups} in "
            f"{groups_folder(instance_path, config)} (installed: "
            f"{', '.join(g.name for g in groups.values()) or 'none'}; see `blog groups`)"
        )
    for group in groups.values():
        for conflict in group.conflicts:
            logger.warning("conversion group %s: later rule wins: %s", group.name, conflict)
    vocabulary = Vocabulary(tuple(rules), groups, tuple(config.groups))
    vocabulary.prepare()
    return State(config, tuple(rules), vocabulary)


def groups_folder(instance_path: str, config: Config) -> Path:
    """Return the folder the site's conversion group files live in."""
    return Path(instance_path) / config.groups_folder


# -- start-up ------------------------------------------------------------------------


@hookimpl
def blog_startup(app: Flask) -> None:
    app.extensions[STATE_KEY] = prepare(app.instance_path, _config())


@hookimpl
def blog_variants() -> list[str]:
    # The core asks inside the new app's context, so no module global carries the config.
    return list(_config().variants)


@hookimpl
def blog_register_routes(app: Flask) -> None:
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
    attributes.setdefault("div", set()).update({RULES_ATTRIBUTE, GROUPS_ATTRIBUTE})
    return {"attributes": attributes}


def _post_rules(post: PostDraft) -> tuple[list[Rule], list[str]]:
    meta = post.meta or {}
    if RULES_KEY not in meta:
        return [], []
    return parse_rules(meta[RULES_KEY], script_of_lang(post.lang))


@hookimpl
def blog_render_html(post: PostDraft, html: str) -> str | None:
    """Wrap the body of a Traditional post or one with rules, so the filter knows both.

    Themes may drop the article's ``lang`` on variant pages (the page is then entirely in
    one script), so a Traditional body says its script itself and gets the
    ``from_traditional`` conversions.
    """
    rules, _errors = _post_rules(post)
    groups, _unknown = _post_groups(post)
    attributes = []
    if script_of_lang(post.lang) == HANT:
        attributes.append(f'lang="{html_lib.escape(post.lang, quote=True)}"')
    if rules:
        stored = json.dumps([rule.to_json() for rule in rules], ensure_ascii=False)
        attributes.append(f'{RULES_ATTRIBUTE}="{html_lib.escape(stored, quote=True)}"')
    if groups:
        attributes.append(f'{GROUPS_ATTRIBUTE}="{html_lib.escape(" ".join(groups), quote=True)}"')
    if not attributes:
        return None
    return f"<div {' '.join(attributes)}>{html}</div>"


def _post_groups(post: PostDraft) -> tuple[list[str], list[str]]:
    """Return the post's ``variants_groups`` names, and warnings for those not installed."""
    meta = post.meta or {}
    if GROUPS_KEY not in meta:
        return [], []
    names = meta[GROUPS_KEY]
    if isinstance(names, str):
        names = [part for part in names.replace(",", " ").split() if part]
    if not isinstance(names, list):
        return [], [f"{GROUPS_KEY} must be a list of group names, got {type(names).__name__}"]
    vocabulary = _state().vocabulary if has_app_context() else Vocabulary()
    named: list[str] = []
    warnings: list[str] = []
    for name in names:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            warnings.append(f"{GROUPS_KEY}: {name!r} is not a group name")
        else:
            # Stored even when not installed (yet): the page uses it once it is.
            named.append(name)
            if not vocabulary.known(name):
                installed = ", ".join(g.name for g in vocabulary.groups.values()) or "none"
                warnings.append(
                    f"{GROUPS_KEY}: unknown conversion group {name!r} (installed: "
                    f"{installed}); the post is shown without it"
                )
    return named, warnings


@hookimpl
def blog_post_metadata(post: PostDraft) -> dict[str, Any] | None:
    _rules, errors = _post_rules(post)
    for error in errors:
        logger.warning("post %r: %s: %s", post.slug, RULES_KEY, error)
    _groups, group_warnings = _post_groups(post)
    for warning in group_warnings:
        logger.warning("post %r: %s", post.slug, warning)
    meta: dict[str, Any] = {}
    if errors:
        meta["variant_rule_errors"] = errors
    if group_warnings:
        meta["variant_group_warnings"] = group_warnings
    if errors or group_warnings:
        meta["warnings"] = [*errors, *group_warnings]
    return meta or None


@hookimpl
def blog_editor_fields() -> list[dict[str, Any]]:
    """The post's conversion groups, offered from the installed ones (NoteTA's G1=…)."""
    vocabulary = _state().vocabulary
    choices = [
        {"value": group.name, "label": f"{group.name}（{group.rule_count} 条）"}
        for group in sorted(vocabulary.groups.values(), key=lambda group: group.name.lower())
    ]
    if choices:
        hint = "勾选的转换组只用于这篇文章的台湾、香港等地区用词。"
    else:
        hint = "还没有安装转换组：用 `blog groups add 文件` 安装，重启后出现在这里。"
    if vocabulary.default_groups:
        hint += f"全站默认的组（{', '.join(vocabulary.default_groups)}）总是生效。"
    return [{"key": GROUPS_KEY, "label": "用词转换组", "help": hint, "choices": choices}]


@hookimpl
def blog_register_commands(cli: click.Group) -> None:
    cli.add_command(groups_command)


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


def _converts(request: Request, response: Response) -> bool:
    """Whether ``response`` is a page or feed whose text takes the reader's variant."""
    if 300 <= response.status_code < 400 or response.direct_passthrough:
        return False
    return request.blueprint not in UNCONVERTED_BLUEPRINTS


@hookimpl
def blog_text_transform(request: Request, response: Response) -> TextTransform | None:
    code = current_variant()
    if code not in KNOWN_VARIANTS or response.mimetype not in CONVERTED_MIMETYPES:
        return None
    if not _converts(request, response):
        return None
    return VariantConversion(_state().target(code))


@hookimpl
def blog_response_filter(request: Request, response: Response) -> Response | None:
    if not _converts(request, response):
        return None
    if not g.get("variant_prefixed"):
        # The same URL shows different text depending on these two request headers.
        response.vary.update(("Cookie", "Accept-Language"))
    code = current_variant()
    if code not in KNOWN_VARIANTS or response.mimetype not in CONVERTED_MIMETYPES:
        return response
    response.headers["Content-Language"] = KNOWN_VARIANTS[code].html_lang
    return response


__all__ = ["Config", "GroupError", "RuleError", "groups_folder", "prepare"]
