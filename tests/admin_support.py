"""Helpers shared by the admin, API and browser tests: users, login, CSRF tokens, HTML."""

from __future__ import annotations

from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from blog.models import User, db

PASSWORD = "correct horse battery"


def create_user(app: Flask, name: str = "editor", password: str = PASSWORD) -> None:
    with app.app_context():
        db.session.add(User(name=name, password_hash=generate_password_hash(password)))
        db.session.commit()


class Element:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.text = ""


class Collector(HTMLParser):
    """Every element with its attributes and (for textareas and cells) its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag in ("textarea", "td", "p", "h1", "title", "li", "option"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1].tag == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


def parse(html: str | bytes) -> list[Element]:
    collector = Collector()
    collector.feed(html.decode() if isinstance(html, bytes) else html)
    return collector.elements


def find_all(html: str | bytes, tag: str, **attrs: str) -> list[Element]:
    return [
        e
        for e in parse(html)
        if e.tag == tag and all(e.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
    ]


def find(html: str | bytes, tag: str, **attrs: str) -> Element:
    found = find_all(html, tag, **attrs)
    assert found, f"no <{tag} {attrs}> in the page"
    return found[0]


def csrf_token(client: FlaskClient, path: str = "/admin/login") -> str:
    """The CSRF token the page at ``path`` hands to its forms."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return find(response.data, "meta", name="csrf-token").attrs["content"]


def login(
    client: FlaskClient, name: str = "editor", password: str = PASSWORD, next_url: str | None = None
) -> TestResponse:
    token = csrf_token(client)
    form = {"csrf_token": token, "username": name, "password": password}
    if next_url is not None:
        form["next"] = next_url
    return client.post("/admin/login", data=form)


def post_form(
    client: FlaskClient, path: str, data: Mapping[str, Any], token_from: str = "/admin/"
) -> TestResponse:
    """POST ``data`` with the CSRF token a logged-in admin page provides."""
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **data})


def editor_form(**fields: str) -> dict[str, str]:
    form = {
        "title": "注意力机制",
        "source": "正文",
        "slug": "",
        "category": "",
        "tags": "",
        "published_at": "",
        "lang": "zh-Hans",
        "kind": "post",
        "action": "draft",
    }
    form.update(fields)
    return form


def new_post(client: FlaskClient, source: str, slug: str = "note") -> int:
    """Publish a post through the editor; its id."""
    response = post_form(
        client, "/admin/posts/new", editor_form(slug=slug, source=source, action="publish")
    )
    assert response.status_code == 302
    return int(response.headers["Location"].split("/")[-2])


def editor_inputs(client: FlaskClient, post_id: int) -> dict[str, str]:
    """The editor's inputs as a browser submits them with every checkbox unticked, to publish."""
    page = client.get(f"/admin/posts/{post_id}/edit").data
    form = {
        e.attrs["name"]: e.attrs.get("value", "")
        for e in find_all(page, "input")
        if e.attrs.get("name") and e.attrs.get("type") != "checkbox"
    }
    form["source"] = find(page, "textarea", name="source").text.removeprefix("\n")
    form.update(lang="zh-Hans", kind="post", action="publish")
    return form
