"""Theme UI strings: gettext catalogs read from ``.po`` files at start-up.

Each theme may ship ``locale/<language>/LC_MESSAGES/messages.po``; message ids are English,
so ``UI_LANGUAGE = "en"`` needs no catalog. A theme's catalog falls back to its parent's,
so a child theme translates only the strings it adds or rewords.

The ``.po`` files are the only committed form: they are read by the small parser below and
turned into ``.mo`` bytes in memory for :class:`gettext.GNUTranslations`, which then handles
plural forms and contexts. That keeps Babel (and its 30 MB of locale data) out of the
runtime dependencies and keeps compiled binaries out of the repository.
"""

from __future__ import annotations

import gettext
import io
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from blog.config import ConfigError

SOURCE_LANGUAGE = "en"
CATALOG = Path("LC_MESSAGES") / "messages.po"
MO_MAGIC = 0x950412DE
CONTEXT_SEPARATOR = "\x04"
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")
STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$')
#: Where the app keeps the translations of its ``UI_LANGUAGE`` for Python code.
EXTENSION = "blog.translations"


@dataclass
class _Entry:
    context: str | None = None
    msgid: str | None = None
    plural: str | None = None
    translations: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False


def normalise_language(language: str) -> str:
    """``zh-Hans`` and ``zh_Hans`` name the same catalog folder (``zh_Hans``)."""
    return language.replace("-", "_")


def _unquote(text: str, where: str) -> str:
    match = STRING.match(text.strip())
    if match is None:
        raise ConfigError(f"{where}: expected a double-quoted string, got {text.strip()!r}")
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m[1], m[1]), match[1])


def parse_po(text: str, source: str = "<po>") -> dict[str, str]:
    """Return the catalog of ``text`` as ``.mo`` keys and values (fuzzy and empty entries skipped).

    A plural entry's key is ``msgid\\0msgid_plural`` and its value the ``msgstr[n]`` joined
    by ``\\0``; a context is prefixed to the key with ``\\x04``, as GNU gettext stores them.
    """
    entries: list[_Entry] = []
    entry = _Entry()
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry, target
        if entry.msgid is not None:
            entries.append(entry)
        entry, target = _Entry(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{source}:{number}"
        if not line:
            finish()
        elif line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                entry.fuzzy = True
        elif line.startswith('"'):
            if target is None:
                raise ConfigError(f"{where}: string continues no msgid or msgstr")
            kind, index = target
            value = _unquote(line, where)
            if kind == "msgctxt":
                entry.context = (entry.context or "") + value
            elif kind == "msgid":
                entry.msgid = (entry.msgid or "") + value
            elif kind == "msgid_plural":
                entry.plural = (entry.plural or "") + value
            else:
                entry.translations[index] = entry.translations.get(index, "") + value
        else:
            match = KEYWORD.match(line)
            if match is None:
                raise ConfigError(f"{where}: cannot parse {line!r}")
            keyword, plural_index, quoted = match.groups()
            after_translation = target is not None and target[0] == "msgstr"
            if keyword in ("msgctxt", "msgid") and after_translation:
                finish()
            value = _unquote(quoted, where)
            if keyword == "msgctxt":
                entry.context, target = value, ("msgctxt", 0)
            elif keyword == "msgid":
                entry.msgid, target = value, ("msgid", 0)
            elif keyword == "msgid_plural":
                entry.plural, target = value, ("msgid_plural", 0)
            else:
                index = int(plural_index) if plural_index is not None else 0
                entry.translations[index] = value
                target = ("msgstr", index)
    finish()

    catalog: dict[str, str] = {}
    for item in entries:
        assert item.msgid is not None
        is_header = item.msgid == "" and item.context is None
        values = [item.translations[i] for i in sorted(item.translations)]
        if (item.fuzzy and not is_header) or not any(values):
            continue
        key = item.msgid if item.plural is None else f"{item.msgid}\0{item.plural}"
        if item.context is not None:
            key = f"{item.context}{CONTEXT_SEPARATOR}{key}"
        catalog[key] = "\0".join(values)
    # The text was decoded as UTF-8 and compile_mo encodes UTF-8; without a header saying so,
    # GNUTranslations would decode the catalog as ASCII.
    catalog.setdefault("", "Content-Type: text/plain; charset=UTF-8\n")
    return catalog


def compile_mo(catalog: dict[str, str]) -> bytes:
    """Return the GNU ``.mo`` bytes of ``catalog`` (keys sorted, no hash table)."""
    keys = sorted(catalog)
    ids = [key.encode("utf-8") for key in keys]
    strs = [catalog[key].encode("utf-8") for key in keys]
    header_size = 7 * 4
    table_size = len(keys) * 8
    offset = header_size + 2 * table_size
    id_table: list[int] = []
    str_table: list[int] = []
    blob = bytearray()
    for data, table in [*((d, id_table) for d in ids), *((d, str_table) for d in strs)]:
        table += [len(data), offset + len(blob)]
        blob += data + b"\0"
    header = struct.pack("<7I", MO_MAGIC, 0, len(keys), header_size, header_size + table_size, 0, 0)
    tables = struct.pack(f"<{len(id_table)}I", *id_table) + struct.pack(
        f"<{len(str_table)}I", *str_table
    )
    return header + tables + bytes(blob)


def read_catalog(path: Path) -> gettext.GNUTranslations:
    """Parse the ``.po`` file at ``path``; a syntax error names the file and line."""
    catalog = parse_po(path.read_text(encoding="utf-8"), str(path))
    return gettext.GNUTranslations(io.BytesIO(compile_mo(catalog)))


def available_languages(theme_folders: Iterable[Path]) -> list[str]:
    """Return every UI language some theme in the chain has a catalog for, plus English."""
    found = {SOURCE_LANGUAGE}
    for folder in theme_folders:
        locale = folder / "locale"
        if locale.is_dir():
            found.update(p.name for p in locale.iterdir() if (p / CATALOG).is_file())
    return sorted(found)


def load_translations(theme_folders: list[Path], language: str) -> gettext.NullTranslations:
    """Return the translations for ``language``: the first theme's catalog, then its parents'.

    ``theme_folders`` is the theme chain, active theme first. Raises :class:`ConfigError`
    naming ``UI_LANGUAGE`` when no theme in the chain has a catalog for ``language``.
    """
    wanted = normalise_language(language)
    catalogs = [
        read_catalog(folder / "locale" / wanted / CATALOG)
        for folder in theme_folders
        if (folder / "locale" / wanted / CATALOG).is_file()
    ]
    if not catalogs:
        if wanted == SOURCE_LANGUAGE:
            return gettext.NullTranslations()
        raise ConfigError(
            f"UI_LANGUAGE: no theme catalog for {language!r}; "
            f"available: {available_languages(theme_folders)}"
        )
    first = catalogs[0]
    for catalog in catalogs[1:]:
        first.add_fallback(catalog)
    return first


def _trusted(text: str, autoescape: bool) -> str:
    """A translated message as a template uses it: the theme's own markup, so values
    formatted into it are escaped and it is not (as Jinja's i18n extension has it)."""
    return Markup(text) if autoescape else text  # noqa: S704 - messages are theme-authored


#: Translated template messages kept per app (``_()`` without variables), and the most kept.
TEMPLATE_MEMO_ENTRIES = 5_000


def install_template_gettext(env: Environment, translations: gettext.NullTranslations) -> None:
    """Give ``env``'s templates ``_``, ``gettext`` and ``ngettext`` reading ``translations``.

    Jinja's i18n extension (installed here, new style: the functions fill in ``%(name)s``
    and escape their values) provides them as functions that reach the catalog through
    three ``Context.call`` dispatches; a post page calls ``_()`` about thirty times and
    that came to a twentieth of its CPU. These do the same work directly, and a message
    without variables (nearly all of them) is translated and formatted once per app: its
    result depends only on the message and on autoescaping. ``_`` is ``gettext`` itself,
    not an alias looked up in each render's context (no template rebinds ``gettext``).
    """
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    translate = translations.gettext
    translate_plural = translations.ngettext
    # Shared by the app's threads: a lost update only means one more translation.
    memo: dict[tuple[str, bool], str] = {}

    @pass_context
    def template_gettext(context: Context, message: str, /, **variables: Any) -> str:
        autoescape = context.eval_ctx.autoescape
        if variables or type(message) is not str:
            text = translate(message)
            return _trusted(text, autoescape) % variables
        key = (message, autoescape)
        found = memo.get(key)
        if found is None:
            text = translate(message)
            # Always a format string, as Jinja's new style has it: "%%" is "%" here too.
            found = _trusted(text, autoescape) % {}
            if len(memo) >= TEMPLATE_MEMO_ENTRIES:
                memo.clear()  # only a theme computing its messages could fill it
            memo[key] = found
        return found

    @pass_context
    def template_ngettext(
        context: Context, singular: str, plural: str, number: int, /, **variables: Any
    ) -> str:
        variables.setdefault("num", number)
        text = translate_plural(singular, plural, number)
        return _trusted(text, context.eval_ctx.autoescape) % variables

    env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)


def _active() -> gettext.NullTranslations:
    """The app's UI translations; English (the message ids) outside an app."""
    if has_app_context():
        found = current_app.extensions.get(EXTENSION)
        if isinstance(found, gettext.NullTranslations):
            return found
    return gettext.NullTranslations()


def ui_text(message: str, **values: object) -> str:
    """``message`` in the site's ``UI_LANGUAGE``, with ``%(name)s`` filled from ``values``.

    The Python-side twin of the templates' ``_()``: messages a reader sees that are made in
    code (form errors, notices, feed titles) read from the same theme catalogs.
    """
    if not message:
        return message  # gettext("") is the catalog's header, not a translation
    text = _active().gettext(message)
    return text % values if values else text


def ui_plural(singular: str, plural: str, number: int, **values: object) -> str:
    """Like :func:`ui_text` for a count: ``number`` picks the form and fills ``%(num)d``."""
    text = _active().ngettext(singular, plural, number)
    return text % {"num": number, **values}


def ui_plural_form(singular: str, plural: str, number: int) -> str:
    """The form :func:`ui_plural` would use for ``number``, placeholders left unfilled:
    for a page that hands its words to a script, which fills in its own counts."""
    return _active().ngettext(singular, plural, number)
