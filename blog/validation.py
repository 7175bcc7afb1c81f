"""The checks every incoming value passes, whichever door it came through.

The API, the admin forms, ``blog import`` and query strings all meet the same rules, so
the databases never see what one of them cannot store and a bad value is a 400 naming
its field, never a 500:

* text must be valid Unicode without NUL: a lone surrogate (``"\\ud800"``, possible in
  JSON escapes) cannot be encoded as UTF-8, and PostgreSQL refuses NUL in text while
  SQLite would store it, so NUL is *refused* (not stripped) on both databases alike; a
  form whose bytes are not UTF-8 (a lone surrogate's CESU-8 bytes, ``%FF``) is refused
  too, where the form parser would have replaced them;
* JSON is at most :data:`MAX_JSON_DEPTH` containers deep, checked by a linear scan before
  the parser recurses, and at most :func:`max_json_bytes` long;
* dates lie in the years 1900-9999 both in UTC and in the site's time zone;
* integers lie in the range the caller names (database integers are 32-bit).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

from flask import abort, current_app, request
from flask.json.provider import DefaultJSONProvider

#: Deepest nesting of JSON arrays and objects accepted; a post needs three levels.
MAX_JSON_DEPTH = 32
FIRST_YEAR, LAST_YEAR = 1900, 9999
#: The largest value of a 32-bit database integer (ids, versions).
MAX_DB_INTEGER = 2**31 - 1


class FieldError(ValueError):
    """An input field is invalid; ``key`` names it."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or ``None`` when it can."""
    if "\x00" in value:
        return f"contains a NUL character (U+0000) at position {value.index(chr(0))}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(value[error.start])
        return (
            f"contains a lone surrogate (U+{code:04X}) at position {error.start}: not valid Unicode"
        )
    return None


def check_text(key: str, value: str) -> str:
    """Return ``value`` if it can be stored, else raise :class:`FieldError` naming ``key``."""
    problem = text_problem(value)
    if problem is not None:
        raise FieldError(key, problem)
    return value


def bad_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(path, problem)`` for every unstorable string (keys included) inside ``value``."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            yield path, problem
    elif isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and text_problem(key) is not None:
                yield path or "(key)", f"a key {text_problem(key)}"
            yield from bad_strings(item, inner)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from bad_strings(item, f"{path}[{index}]")


def check_texts(key: str, value: Any) -> None:
    """Raise :class:`FieldError` for the first unstorable string inside ``value``."""
    for path, problem in bad_strings(value, key):
        field = path.split(".")[0].split("[")[0] or key or "body"
        raise FieldError(field, problem if path == field else f"{path} {problem}")


def check_moment(key: str, moment: datetime | date, zone: ZoneInfo) -> datetime:
    """Normalise ``moment`` (naive means ``zone``) to naive UTC, refusing unusable years.

    Dates are stored in UTC and shown in ``zone``; both must be representable, which
    ``datetime`` cannot do near its own limits (year 1 at +14:00 overflows).
    """
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    reason = f"must lie in the years {FIRST_YEAR}-{LAST_YEAR}"
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise FieldError(key, f"{reason}, got {moment.year}")
    try:
        utc = moment.astimezone(UTC)
        local = utc.astimezone(zone)
    except (OverflowError, ValueError):
        raise FieldError(key, f"{reason} in UTC and in the site's time zone") from None
    if not (FIRST_YEAR <= utc.year <= LAST_YEAR and FIRST_YEAR <= local.year <= LAST_YEAR):
        raise FieldError(key, f"{reason} in UTC and in the site's time zone")
    return utc.replace(tzinfo=None)


def check_integer(key: str, value: Any, low: int, high: int) -> int:
    """Return ``value`` if it is an integer (not a boolean) in ``low..high``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise FieldError(key, "must be an integer")
    if not low <= value <= high:
        raise FieldError(key, f"must be between {low} and {high}, got {value}")
    return value


def json_depth(raw: str | bytes, stop_at: int) -> int:
    """Deepest nesting of arrays and objects in the JSON text ``raw``, scanning no further
    once ``stop_at`` is exceeded. Brackets inside strings do not count. Linear time."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_at:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


class LimitedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing too deeply nested input before parsing it.

    Python's parser recurses once per level; 100,000 levels raise ``RecursionError``.
    The refusal is a ``ValueError``, which ``request.get_json`` turns into a 400.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if json_depth(s, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON is nested more than {MAX_JSON_DEPTH} levels deep")
        return json.loads(s, **kwargs)


def max_json_bytes() -> int:
    """Largest JSON body accepted: room for a post of twice ``MAX_POST_BYTES`` written as
    ``\\uXXXX`` escapes (six bytes for a CJK character of three), so an oversized post is
    still read and refused with the message naming ``MAX_POST_BYTES``; plus 1 MB."""
    return 4 * int(current_app.config["MAX_POST_BYTES"]) + 1024 * 1024


def json_object(key: str = "body") -> dict[str, Any]:
    """The request's JSON object, every string in it checked; :class:`FieldError` if not."""
    try:
        data = parse_json_limited(request.get_data(cache=True) or b"null")
    except ValueError as error:
        raise FieldError(key, f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise FieldError(key, "the request body must be a JSON object")
    check_texts("", data)  # named by their own keys: title, tags[2], ...
    return data


def parse_json_limited(raw: bytes) -> Any:
    """``json.loads`` with the depth check first (raises ``ValueError``)."""
    if json_depth(raw, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ValueError(f"JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    return json.loads(raw)


#: Query parameters a view reads as free text and cleans itself, never storing them: the
#: search page drops what it cannot match (NUL included) and answers with a message.
FREE_TEXT_PARAMETERS = {"search.search_page": frozenset({"q"})}


#: Blueprints whose views decode their form strictly themselves, answering with a page
#: that keeps what the reader typed (the comment form).
OWN_UTF8_CHECK_BLUEPRINTS = frozenset({"comments"})


def undecodable_form_field(raw: bytes) -> str | None:
    """The name of the first field of a urlencoded body that is not valid UTF-8, if any.

    Werkzeug decodes such bytes leniently (a lone surrogate's bytes or ``%FF`` would be
    stored replaced or still percent-encoded), so a writer's text would change unseen.
    """
    for pair in raw.split(b"&"):
        name, _, value = pair.partition(b"=")
        for part in (name, value):
            try:
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                return unquote_to_bytes(name).decode("utf-8", "replace")
    return None


def refuse_undecodable_form() -> None:
    """Before every other request hook (they parse the form, after which its bytes are
    gone): a 400 naming the field of a urlencoded form that is not valid UTF-8."""
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return
    if request.blueprint in OWN_UTF8_CHECK_BLUEPRINTS:
        return
    undecodable = undecodable_form_field(request.get_data(cache=True))
    if undecodable is not None:
        abort(400, f"{undecodable!r} is not valid UTF-8 text (nothing was saved)")


def refuse_unstorable_request_text() -> None:
    """Before every request: a 400 naming the parameter for NUL or invalid text in the
    query string or a form, before any view can hand it to the database; JSON bodies are
    capped in size here and checked where they are parsed."""
    if request.mimetype == "application/json":
        request.max_content_length = max_json_bytes()
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and not -MAX_DB_INTEGER <= value <= MAX_DB_INTEGER:
            abort(404, f"{name} {value} is out of range")  # no row has such an id or number
    sources = [request.args]
    if request.method == "POST" and request.mimetype != "application/json":
        if request.mimetype == "application/x-www-form-urlencoded":
            # Keep the raw body: parsing the form consumes the stream, and a view may still
            # need the bytes (the comment form decodes them strictly as UTF-8).
            request.get_data(cache=True)
        sources.append(request.form)
    free = FREE_TEXT_PARAMETERS.get(request.endpoint or "", frozenset())
    for source in sources:
        for name, value in source.items(multi=True):
            if source is request.args and name in free:
                continue
            for text, what in ((name, "parameter name"), (value, "value")):
                problem = text_problem(text)
                if problem is not None:
                    abort(400, f"{name!r} ({what}) {problem}")
