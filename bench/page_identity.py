"""Same bytes before and after: ``python -m bench.page_identity --before TREE [--corpus DIR]``.

A change to the read path (templates, response filters) must leave what readers get as
it was. One site (the demo posts, and the posts of ``--corpus`` when given) is served by
this checkout and by another source tree (e.g. ``git archive main | tar -x -C /tmp/b``),
each in a fresh process with the page cache off; every post, the home page and page 2, a
category, a tag, the archive, the feed and a search are fetched unprefixed, in every
served variant and with ``Accept-Language`` zh-CN and zh-SG, each twice (the second
request finds the fragment caches warm), and the bodies are compared byte for byte.
The comment form's token (signed with the time) is the one part masked.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from bench.load import REPO
from bench.miss_bench import importable
from bench.site import build_site
from blog.importer import import_paths
from blog.models import Category, Post, Tag, db

VARIANT_PREFIXES = ("", "/zh-hans", "/zh-hant", "/zh-tw", "/zh-hk")
ACCEPT_LANGUAGES = ("zh-CN", "zh-SG")
SEARCHES = ("注意力", "模型", "softmax")
_TOKEN = re.compile(r'(name="token" value=")[^"]*(")')

#: Run in a fresh interpreter of the tree under test: fetch every request, write the bodies.
DUMP_PROBE = """
import json, sys
from blog.app import create_app
app = create_app(config={"PAGE_CACHE_BYTES": 0}, instance_path=sys.argv[1])
client = app.test_client()
requests = json.loads(open(sys.argv[2], encoding="utf-8").read())
pages = {}
for key, path, language in requests:
    headers = {"Accept-Language": language} if language else {}
    for attempt in ("cold", "warm"):
        response = client.get(path, headers=headers)
        pages[f"{key} {attempt}"] = [response.status_code, response.get_data(as_text=True)]
open(sys.argv[3], "w", encoding="utf-8").write(json.dumps(pages, ensure_ascii=False))
"""


def requests_for(slugs: list[str], categories: list[str], tags: list[str]) -> list[list[str]]:
    def quoted(path: str) -> str:
        return urllib.parse.quote(path, safe="/?=&")

    paths = [quoted(f"/posts/{slug}/") for slug in slugs]
    paths += ["/", "/page/2/", "/archive/", "/feed.xml"]
    paths += [quoted(f"/categories/{name}/") for name in categories[:2]]
    paths += [quoted(f"/tags/{name}/") for name in tags[:2]]
    paths += [quoted(f"/search?q={query}") for query in SEARCHES]
    paths += ["/no-such-page/"]
    requests = []
    for path in paths:
        for prefix in VARIANT_PREFIXES:
            requests.append([prefix + path, prefix + path, ""])
        for language in ACCEPT_LANGUAGES:
            requests.append([f"{path} [{language}]", path, language])
    return requests


def dump(pythonpath: str, instance: Path, requests: Path, out: Path) -> dict[str, list]:
    subprocess.run(
        [sys.executable, "-P", "-c", DUMP_PROBE, str(instance), str(requests), str(out)],
        check=True,
        env={**os.environ, "PYTHONPATH": pythonpath},
    )
    pages: dict[str, list] = json.loads(out.read_text(encoding="utf-8"))
    for page in pages.values():
        page[1] = _TOKEN.sub(r"\1…\2", page[1])
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the other source tree")
    parser.add_argument("--corpus", type=Path, help="a folder of Markdown posts to add")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="page-identity-") as name:
        folder = Path(name)
        site = build_site(folder / "site", 0)
        with site.app.app_context():
            if options.corpus:
                import_paths([options.corpus], author="bench")
            published = db.select(Post.slug).where(Post.kind == "post", Post.status == "published")
            slugs = list(db.session.scalars(published))
            categories = list(db.session.scalars(db.select(Category.name)))
            tags = list(db.session.scalars(db.select(Tag.name)))
        requests = folder / "requests.json"
        listed = requests_for(slugs, categories, tags)
        requests.write_text(json.dumps(listed, ensure_ascii=False), encoding="utf-8")
        before_path = f"{importable(options.before, folder)}{os.pathsep}{REPO}"
        before = dump(before_path, site.instance, requests, folder / "before.json")
        after = dump(str(REPO), site.instance, requests, folder / "after.json")
    different = [key for key in before if before[key] != after.get(key)]
    statuses = sorted({status for status, _ in after.values()})
    print(
        f"{len(slugs)} posts, {len(listed)} requests × cold/warm = {len(before)} responses "
        f"(statuses {statuses}); identical: {len(before) - len(different)}, "
        f"different: {len(different)}"
    )
    for key in different[:5]:
        print(f"--- {key}")
        diff = difflib.unified_diff(
            before[key][1].splitlines(), after[key][1].splitlines(), lineterm="", n=1
        )
        print("\n".join(list(diff)[:30]))
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
