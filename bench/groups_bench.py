"""Conversion-group benchmark: ``python -m bench.groups_bench [--repeat N]``.

Needs Wikipedia's groups in ``../shared/external/cgroups`` (never part of the project).

1. Term accuracy: a post names the four shared groups and lists every term that a two-way
   rule gives a Simplified (``zh-cn``/``zh-hans``) form and a regional form for; each term
   is a paragraph of its own. Share of terms shown as the group's form in zh-tw and zh-hk,
   against OpenCC with the glossary alone, in the same run.
2. Cold conversion: the response filter's whole work on a 60 KB post page into zh-tw,
   today (glossary only) against the same page naming the IT and Math groups, in
   interleaved rounds; the groups are compiled at start-up, and the first conversion that
   needs a new combination of groups is timed separately.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

from bench.inprocess import save_time_post
from bench.site import new_app, write_instance
from blog.posts import PostFields, save_post
from blog_plugins.opencc import DEFAULT_GLOSSARY
from blog_plugins.opencc.groups import MEDIAWIKI_FALLBACKS, Group, load_group
from blog_plugins.opencc.htmlconvert import Target, convert_document
from blog_plugins.opencc.rules import Rule, load_glossary
from blog_plugins.opencc.variants import HANS
from blog_plugins.opencc.vocabulary import Vocabulary

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "external" / "cgroups"
GROUPS = ("IT", "Math", "Physics", "Electronics")
CONFIGS = {"zh-tw": "s2twp", "zh-hk": "s2hk"}


def expected_form(forms: dict[str, str], code: str) -> str | None:
    """The form a reader of ``code`` should see, following MediaWiki's fallbacks."""
    for candidate in (code, *MEDIAWIKI_FALLBACKS[code]):
        if candidate in forms:
            return forms[candidate]
    if code == "zh-hk" and "zh-hant" not in forms and "zh-tw" in forms:
        return forms["zh-tw"]
    return None


def terms() -> list[dict[str, str]]:
    found = []
    for name in GROUPS:
        data = json.loads((SHARED / f"{name}.json").read_text(encoding="utf-8"))
        for entry in data["rules"]:
            conv = entry["conv"]
            if "=>" in conv:
                continue
            forms = {}
            for part in conv.split(";"):
                code, colon, form = part.partition(":")
                if colon and form.strip():
                    forms[code.strip()] = form.strip()
            source = forms.get("zh-cn") or forms.get("zh-hans")
            if source and ("zh-tw" in forms or "zh-hk" in forms):
                found.append(forms | {"source": source})
    return found


def term_accuracy(glossary: tuple[Rule, ...], groups: dict[str, Group]) -> None:
    listed = terms()
    names = " ".join(GROUPS)
    html = (
        f'<div data-variant-groups="{names}">'
        + "".join(f"<p>{t['source']}</p>" for t in listed)
        + "</div>"
    )
    for code, config in CONFIGS.items():
        results = {}
        for label, vocab in (
            ("OpenCC + glossary", Vocabulary(glossary)),
            ("with the four groups", Vocabulary(glossary, groups)),
        ):
            target = Target(code=code, html_lang=code, configs={HANS: config}, vocabulary=vocab)
            out = convert_document(html, target)
            shown = out.split("<p>")[1:]
            right = total = 0
            for term, piece in zip(listed, shown, strict=True):
                expected = expected_form(term, code)
                if expected is None:
                    continue
                total += 1
                right += piece.split("</p>")[0] == expected
            results[label] = (right, total)
        line = ", ".join(f"{k}: {r}/{t} = {100 * r / t:.1f}%" for k, (r, t) in results.items())
        print(f"{code}: {line}")


class _Paragraphs(HTMLParser):
    """The text of each ``<p>`` inside the post body."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.inside = False
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "div" and ("class", "post-body") in attrs:
            self.depth = 1
        elif self.depth and tag == "div":
            self.depth += 1
        elif self.depth and tag == "p":
            self.inside = True
            self.found.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.inside = False
        elif tag == "div" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.found[-1] += data


def site_accuracy() -> None:
    """The same measure through a real site: groups installed in the instance, one post."""
    listed = terms()
    with tempfile.TemporaryDirectory() as folder:
        instance = write_instance(Path(folder) / "instance")
        installed = instance / "variant_groups"
        installed.mkdir()
        for name in GROUPS:  # a throw-away instance: the extract never enters the project
            shutil.copyfile(SHARED / f"{name}.json", installed / f"{name}.json")
        app = new_app(instance)
        body = "\n\n".join(t["source"] for t in listed)
        with app.app_context():
            for slug, meta in (("grouped", {"variants_groups": list(GROUPS)}), ("plain", {})):
                save_post(PostFields(title=slug, source=body, slug=slug, meta=meta), author="b")
        client = app.test_client()
        for code in CONFIGS:
            line = []
            for slug, label in (("plain", "OpenCC + glossary"), ("grouped", "four groups")):
                parser = _Paragraphs()
                parser.feed(client.get(f"/{code}/posts/{slug}/").get_data(as_text=True))
                pairs = [
                    (expected_form(t, code), shown)
                    for t, shown in zip(listed, parser.found, strict=True)
                ]
                right = sum(e == shown.strip() for e, shown in pairs if e is not None)
                total = sum(e is not None for e, _shown in pairs)
                line.append(f"{label}: {right}/{total} = {100 * right / total:.1f}%")
            print(f"site, {code}: {', '.join(line)}")


def cold_conversion(glossary: tuple[Rule, ...], groups: dict[str, Group], repeat: int) -> None:
    body = "".join(f"<p>{line}</p>" for line in save_time_post(60_000).split("\n\n") if line)
    plain_page = f"<html><body><article>{body}</article></body></html>"
    grouped_page = plain_page.replace("<article>", '<article data-variant-groups="IT Math">')
    target_plain = Target("zh-tw", "zh-Hant-TW", {HANS: "s2twp"}, vocabulary=Vocabulary(glossary))
    vocab = Vocabulary(glossary, groups)
    vocab.prepare()  # as start-up does
    target_grouped = Target("zh-tw", "zh-Hant-TW", {HANS: "s2twp"}, vocabulary=vocab)
    convert_document(plain_page, target_plain)  # OpenCC's dictionaries, loaded once per process
    start = time.perf_counter()
    convert_document(grouped_page, target_grouped)
    first = (time.perf_counter() - start) * 1000
    plain: list[float] = []
    grouped: list[float] = []
    for _ in range(repeat):
        for target, page, samples in (
            (target_plain, plain_page, plain),
            (target_grouped, grouped_page, grouped),
        ):
            start = time.perf_counter()
            convert_document(page, target)
            samples.append((time.perf_counter() - start) * 1000)
    p, g = statistics.median(plain), statistics.median(grouped)
    print(f"page: {len(plain_page.encode()) // 1000} KB")
    print(f"cold conversion into zh-tw, today (glossary only): {p:.1f} ms")
    print(f"cold conversion into zh-tw, IT + Math active: {g:.1f} ms (ratio {g / p:.2f})")
    print(f"first page needing IT + Math (compiles their merged table): {first:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} is absent")
    glossary = tuple(load_glossary(DEFAULT_GLOSSARY))
    start = time.perf_counter()
    groups = {n.lower(): load_group(SHARED / f"{n}.json") for n in GROUPS}
    Vocabulary(glossary, groups).prepare()  # what start-up does (shields are per group)
    print(f"loading + compiling the four groups at start-up: {time.perf_counter() - start:.2f} s")
    term_accuracy(glossary, groups)
    site_accuracy()
    cold_conversion(glossary, groups, args.repeat)


if __name__ == "__main__":
    main()
