"""Theme UI catalogs: the .po reader, the in-memory .mo compiler, and catalog coverage."""

from __future__ import annotations

import ast
import gettext
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from jinja2 import Environment

from blog.config import ConfigError
from blog.i18n import compile_mo, install_template_gettext, load_translations, parse_po

REPO = Path(__file__).resolve().parents[1]
THEMES = REPO / "themes"

PO = r"""
# a comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "Home"
msgstr "首页"

msgid ""
"A long "
"message"
msgstr "一条"
"长消息"

msgctxt "month"
msgid "May"
msgstr "五月"

#, fuzzy
msgid "Draft"
msgstr "草稿"

msgid "Untranslated"
msgstr ""

msgid "Say \"hi\"\n"
msgstr "说“你好”\n"

msgid "%(num)d file"
msgid_plural "%(num)d files"
msgstr[0] "one %(num)d"
msgstr[1] "many %(num)d"
"""


def translations(text: str) -> gettext.GNUTranslations:
    return gettext.GNUTranslations(io.BytesIO(compile_mo(parse_po(text))))


def test_po_entries_join_continued_strings() -> None:
    assert translations(PO).gettext("A long message") == "一条长消息"


def test_po_context_entries_are_looked_up_with_their_context() -> None:
    compiled = translations(PO)
    assert compiled.pgettext("month", "May") == "五月"
    assert compiled.gettext("May") == "May"


def test_fuzzy_and_empty_translations_fall_back_to_the_message_id() -> None:
    compiled = translations(PO)
    assert compiled.gettext("Draft") == "Draft"
    assert compiled.gettext("Untranslated") == "Untranslated"


def test_escapes_in_po_strings_are_decoded() -> None:
    assert translations(PO).gettext('Say "hi"\n') == "说“你好”\n"


def test_plural_forms_follow_the_catalog_header() -> None:
    compiled = translations(PO)
    assert compiled.ngettext("%(num)d file", "%(num)d files", 1) == "one %(num)d"
    assert compiled.ngettext("%(num)d file", "%(num)d files", 3) == "many %(num)d"


def test_po_syntax_error_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"broken\.po:3: cannot parse 'msgstring \"x\"'"):
        parse_po('msgid "a"\n\nmsgstring "x"\n', "broken.po")


def test_child_catalog_falls_back_to_the_parents(tmp_path: Path) -> None:
    for theme, body in (("child", 'msgid "Home"\nmsgstr "主页"\n'), ("parent", PO)):
        folder = tmp_path / theme / "locale" / "zh_Hans" / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text(body, encoding="utf-8")
    loaded = load_translations([tmp_path / "child", tmp_path / "parent"], "zh-Hans")
    assert loaded.gettext("Home") == "主页"
    assert loaded.gettext("A long message") == "一条长消息"


def test_english_needs_no_catalog(tmp_path: Path) -> None:
    assert load_translations([tmp_path], "en").gettext("Home") == "Home"


def template_messages() -> set[str]:
    environment = Environment(extensions=["jinja2.ext.i18n"])
    found: set[str] = set()
    templates = [*THEMES.glob("*/templates/**/*.html"), *(REPO / "blog").glob("**/templates/**/*")]
    for template in [
        t for t in templates if t.suffix in (".html", ".xml") and "admin" not in t.parts
    ]:
        source = template.read_text(encoding="utf-8")
        extracted = environment.extract_translations(source)  # type: ignore[attr-defined]
        for _line, _function, message in extracted:
            found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def code_messages() -> set[str]:
    """The literal message ids of the ``ui_text`` / ``ui_plural`` calls in blog and plugins."""
    found: set[str] = set()
    for source in [*(REPO / "blog").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            count = {"ui_text": 1, "ui_plural": 2}.get(node.func.id, 0)
            for argument in node.args[:count]:
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    found.add(argument.value)
    return found


def test_every_message_made_in_code_has_a_simplified_chinese_translation() -> None:
    catalog = parse_po(
        (THEMES / "base/locale/zh_Hans/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    )
    ids = {part for key in catalog for part in key.split("\0")}
    messages = code_messages()
    assert "Your comment was not posted" not in messages  # a template's, not code's
    assert "The comment is empty." in messages and "No posts found for “%(query)s”." in messages
    assert messages - ids == set()


def test_every_theme_string_has_a_simplified_chinese_translation() -> None:
    catalog = parse_po(
        (THEMES / "base/locale/zh_Hans/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    )
    singular = {key.split("\0")[0] for key in catalog}
    messages = template_messages()
    assert len(messages) > 30
    plural_ids = {key.split("\0")[1] for key in catalog if "\0" in key}
    assert messages - singular - plural_ids == set()


def test_a_post_page_hands_the_copy_button_its_words_in_the_ui_language(
    make_app: Callable[..., Flask],
) -> None:
    from blog.posts import PostFields, save_post

    source = "```python\nprint(1)\n```\n"
    for language, variant, words in (
        ("en", "", ("Copy", "Copied")),
        ("zh_Hans", "", ("复制", "已复制")),
        ("zh_Hans", "/zh-tw", ("複製", "已複製")),  # converted with the page
    ):
        app = make_app(UI_LANGUAGE=language)
        with app.app_context():
            save_post(PostFields(title="代码", source=source, slug="code"), author="t")
        page = app.test_client().get(f"{variant}/posts/code/").get_data(as_text=True)
        assert 'class="code-block' in page
        copy, copied = words
        assert f'<span data-label="copy">{copy}</span>' in page, (language, variant)
        assert f'<span data-label="copied">{copied}</span>' in page, (language, variant)


@pytest.mark.parametrize("autoescape", [True, False])
def test_template_gettext_matches_jinjas_new_style_functions(autoescape: bool) -> None:
    """The app's own ``_``/``gettext``/``ngettext`` (one dispatch, a memo for plain
    messages) give what Jinja's i18n extension gives: translation, ``%%`` as ``%``,
    escaped values, plurals, ``{% trans %}`` blocks; asked twice, the same again."""
    source = (
        "{{ _('Home') }}|{{ gettext('Home') }}|{{ _('100%% <b>sure</b>') }}|"
        "{{ _('Hi %(name)s', name='<i>') }}|{{ ngettext('%(num)d item', '%(num)d items', 3) }}|"
        "{{ ngettext('%(num)d item', '%(num)d items', 1) }}|{% trans %}Home{% endtrans %}|"
        "{% trans n=2 %}{{ n }} item{% pluralize %}{{ n }} items{% endtrans %}"
    )
    catalog = translations(PO)
    stock = Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)
    stock.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    ours = Environment(autoescape=autoescape)
    install_template_gettext(ours, catalog)
    expected = stock.from_string(source).render()
    assert "首页" in expected
    template = ours.from_string(source)
    assert template.render() == expected
    assert template.render() == expected
