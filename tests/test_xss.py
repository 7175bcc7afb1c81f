"""Every XSS payload of the shared corpus through the full render pipeline.

The pipeline is the core's ``render_post`` with all built-in plugins enabled (math and
code included), so the test covers what plugins emit and what the sanitizer's merged
allowlist lets through. Payloads marked as safe URLs must survive as working links.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import write_config
from flask import Flask

from blog.app import create_app
from blog.db import upgrade
from blog.models import Post
from blog.render import build_markdown, render_post

PAYLOADS = Path(__file__).resolve().parents[1].parent / "shared" / "external" / "xss"
PAYLOAD_FILE = PAYLOADS / "xss_payloads.json"

FORBIDDEN_TAGS = frozenset(
    [
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "base",
        "link",
        "meta",
        "form",
        "svg",
        "template",
        "noscript",
        "xml",
        "import",
        "isindex",
    ]
)
URL_ATTRIBUTES = frozenset(
    [
        "href",
        "src",
        "action",
        "formaction",
        "xlink:href",
        "background",
        "poster",
        "data",
        "codebase",
        "cite",
        "srcset",
        "lowsrc",
        "dynsrc",
        "longdesc",
        "usemap",
    ]
)
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")


def _load() -> list[dict[str, Any]]:
    if not PAYLOAD_FILE.exists():
        return []
    payloads: list[dict[str, Any]] = json.loads(PAYLOAD_FILE.read_text(encoding="utf-8"))[
        "payloads"
    ]
    return payloads


def _documents(entry: dict[str, Any]) -> list[str]:
    """The Markdown sources a payload is tried in, by its context."""
    payload = str(entry["payload"])
    if entry["context"].startswith("url"):
        return [f"[x]({payload})", f'<a href="{payload}">x</a>', f"![x]({payload})"]
    return [payload]


def _cases() -> list[Any]:
    payloads = [e for e in _load() if e["context"] != "url-safe-control"]
    if not payloads:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{PAYLOAD_FILE} is absent"))]
    return [
        pytest.param(entry, id=f"{index:03d}-{entry['context'].split()[0]}")
        for index, entry in enumerate(payloads)
    ]


class _Attributes(HTMLParser):
    """Collect every element with its attributes, as a browser-like tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Attributes()
    parser.feed(html)
    parser.close()
    return parser.elements


def url_scheme(value: str) -> str | None:
    """The scheme a browser's URL parser would see (WHATWG URL: trim C0 controls and
    spaces at both ends, drop tabs and newlines anywhere)."""
    cleaned = _TAB_OR_NEWLINE.sub("", value.strip("".join(map(chr, range(0x21)))))
    match = _SCHEME.match(cleaned.lower())
    return match.group(1) if match else None


def violations(html: str) -> list[str]:
    """Everything in ``html`` that could run script or load a dangerous URL."""
    found = []
    if re.search(r"<\s*script", html, re.IGNORECASE):
        found.append("a <script tag in the markup")
    for tag, attrs in elements(html):
        if tag in FORBIDDEN_TAGS:
            found.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"event handler {name} on <{tag}>")
            elif name == "style":
                found.append(f"style attribute on <{tag}>")
            elif name in URL_ATTRIBUTES and value is not None:
                scheme = url_scheme(value)
                if scheme is not None and scheme not in ALLOWED_SCHEMES:
                    found.append(f"{name}={value!r} on <{tag}> (scheme {scheme}:)")
            elif tag not in ("a", "img") and name in ("href", "xlink:href"):
                found.append(f"{name} on <{tag}>")
    return found


@pytest.fixture(scope="module")
def pipeline_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app (all built-in plugins, strict) shared by the many payload tests."""
    instance = tmp_path_factory.mktemp("xss") / "instance"
    write_config(instance)
    app = create_app(config={"TESTING": True}, instance_path=instance)
    upgrade(app)
    yield app


def render(app: Flask, source: str) -> str:
    with app.app_context():
        return render_post(Post(source=source, title="xss")).body_html


@pytest.mark.parametrize("entry", _cases())
def test_payload_leaves_nothing_executable(pipeline_app: Flask, entry: dict[str, Any]) -> None:
    for document in _documents(entry):
        assert violations(render(pipeline_app, document)) == [], document


def _safe_urls() -> list[Any]:
    safe = [e for e in _load() if e["context"] == "url-safe-control"]
    if not safe:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{PAYLOAD_FILE} is absent"))]
    return [pytest.param(e, id=e["payload"]) for e in safe]


@pytest.mark.parametrize("entry", _safe_urls())
@pytest.mark.parametrize("template", ["[x]({})", '<a href="{}">x</a>'])
def test_safe_url_survives(pipeline_app: Flask, entry: dict[str, Any], template: str) -> None:
    expected = html_lib.unescape(str(entry["payload"]))
    hrefs = [
        value
        for tag, attrs in elements(render(pipeline_app, template.format(entry["payload"])))
        if tag == "a"
        for name, value in attrs
        if name == "href" and value is not None
    ]
    assert [html_lib.unescape(h).lower() for h in hrefs] == [expected.lower()]


def test_corpus_counts(pipeline_app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    """Report how many payloads Markdown alone lets through and how many survive the pipeline."""
    payloads = _load()
    if not payloads:
        pytest.skip(f"{PAYLOAD_FILE} is absent")
    unsafe_markdown: Counter[str] = Counter()
    unsafe_pipeline: Counter[str] = Counter()
    tried: Counter[str] = Counter()
    for entry in payloads:
        if entry["context"] == "url-safe-control":
            continue
        context = entry["context"].split()[0]
        tried[context] += 1
        documents = _documents(entry)
        with pipeline_app.app_context():
            if any(violations(build_markdown().convert(d)) for d in documents):
                unsafe_markdown[context] += 1
        if any(violations(render(pipeline_app, d)) for d in documents):
            unsafe_pipeline[context] += 1
    with capsys.disabled():
        print(f"\nXSS payloads: {sum(tried.values())} hostile (+ safe-URL controls)")
        for context, count in sorted(tried.items()):
            print(
                f"  {context:24} {count:4} tried, {unsafe_markdown[context]:3} unsafe after "
                f"Markdown+plugins alone, {unsafe_pipeline[context]} unsafe after the pipeline"
            )
    assert sum(unsafe_markdown.values()) > 0  # the checks do detect something
    assert sum(unsafe_pipeline.values()) == 0
