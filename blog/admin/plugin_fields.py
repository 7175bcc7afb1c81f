"""Front-matter fields that plugins add to the editor (``blog_editor_fields``).

The core knows nothing of what such a field means: it shows the plugin's choices as
checkboxes, ticked from the post's front matter, and stores the ticked values as a list.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from werkzeug.datastructures import MultiDict

from blog.admin.fields import EDITABLE_KEYS
from blog.plugins import Plugins
from blog.posts import FieldError, PostFields
from blog.validation import check_text

logger = logging.getLogger(__name__)

#: Form inputs: ``meta:KEY`` carries the ticked values; ``meta-shown:KEY`` says the field
#: was on the page, so unticking every box still reaches the server.
VALUE_PREFIX = "meta:"
SHOWN_PREFIX = "meta-shown:"
#: Front matter may name several values in one string: "IT, Math" or "IT Math".
_SEPARATORS = re.compile(r"[,，、\s]+")
#: Keys the editor sets through its own inputs (or the save through its own logic).
_CORE_KEYS = frozenset({*EDITABLE_KEYS, "pinned", "series", "series_order"})


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class EditorField:
    key: str
    label: str
    help: str
    choices: tuple[Choice, ...]

    @property
    def values(self) -> frozenset[str]:
        return frozenset(choice.value for choice in self.choices)


def editor_fields() -> list[EditorField]:
    """The fields the enabled plugins add, in plugin order; malformed ones are logged."""
    plugins: Plugins = current_app.extensions["blog.plugins"]
    found: list[EditorField] = []
    seen: set[str] = set()
    for contributed in plugins.hooks.blog_editor_fields():
        for item in contributed or []:
            field = _field(item)
            if field is None:
                logger.warning("blog_editor_fields: ignoring malformed field %r", item)
            elif field.key not in seen:
                seen.add(field.key)
                found.append(field)
    return found


def _field(item: Any) -> EditorField | None:
    if not isinstance(item, dict):
        return None
    key, label = item.get("key"), item.get("label")
    if not isinstance(key, str) or not key or key in _CORE_KEYS or not isinstance(label, str):
        return None
    choices = []
    for choice in item.get("choices") or []:
        if not isinstance(choice, dict) or not isinstance(choice.get("value"), str):
            return None
        choices.append(Choice(choice["value"], str(choice.get("label") or choice["value"])))
    return EditorField(key, label, str(item.get("help") or ""), tuple(choices))


def stored_values(meta: dict[str, Any], key: str) -> list[str]:
    """The values the front matter names under ``key``, as a list of strings."""
    value = meta.get(key)
    if isinstance(value, str):
        return [part for part in _SEPARATORS.split(value) if part]
    if isinstance(value, list):
        return [str(part) for part in value if str(part).strip()]
    return []


def form_values(fields: list[EditorField], post_fields: PostFields) -> dict[str, str]:
    """The editor's values for the plugin fields: ticked values, one per line."""
    return {
        VALUE_PREFIX + field.key: "\n".join(stored_values(post_fields.meta, field.key))
        for field in fields
    }


def submitted(fields: list[EditorField], form: MultiDict[str, str]) -> dict[str, list[str]]:
    """The ticked values of each plugin field that was on the submitted page (checked)."""
    chosen: dict[str, list[str]] = {}
    for field in fields:
        if SHOWN_PREFIX + field.key not in form:
            continue  # a form from before the plugin was enabled: leave the key alone
        values = form.getlist(VALUE_PREFIX + field.key)
        chosen[field.key] = list(
            dict.fromkeys(check_text(field.key, value.strip()) for value in values if value.strip())
        )
    return chosen


#: Longest value list a JSON client may send for one plugin field.
MAX_VALUES = 100


def parse_values(key: str, value: Any) -> list[str]:
    """A plugin field's values sent as JSON, read as the editor reads ticked boxes.

    A list of strings, or one string naming several ("IT, Math"); ``null`` or an empty
    list removes the key. Each value is trimmed and checked; repeats are dropped.
    """
    if value is None:
        return []
    if isinstance(value, str):
        value = _SEPARATORS.split(value)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FieldError(key, 'must be a list of strings, such as ["IT", "Math"], or null')
    if len(value) > MAX_VALUES:
        raise FieldError(key, f"at most {MAX_VALUES} values")
    return list(dict.fromkeys(check_text(key, item.strip()) for item in value if item.strip()))


def split_plugin_keys(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Separate JSON input into core keys and the plugin fields' values (checked)."""
    keys = {field.key for field in editor_fields()}
    core = {key: value for key, value in data.items() if key not in keys}
    chosen = {key: parse_values(key, value) for key, value in data.items() if key in keys}
    return core, chosen


def apply(post_fields: PostFields, chosen: dict[str, list[str]]) -> None:
    """Store the ticked values in the post's front matter (no key when none is ticked)."""
    for key, values in chosen.items():
        if values:
            post_fields.meta[key] = values
        else:
            post_fields.meta.pop(key, None)
