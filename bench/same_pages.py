"""Are the public pages byte-identical? ``python -m bench.same_pages --before TREE [--corpus DIR]``.

A change to the read path (queries, templates, the request wrapper) must not change what a
reader gets. This imports the demo posts (and, with ``--corpus``, a folder of real posts)
into one instance, then lets this checkout and another source tree (``git archive main |
tar -x -C /tmp/before``) each fetch the same pages from it through Flask's test client,
page cache off: every post and page, home, page 2, every category and tag, archive, series,
feeds and sitemap, each unprefixed and under ``/zh-tw/``. It prints how many are identical
and the first differing lines of the others.

The comment form's token (signed with the time and a random nonce) is the one part that
differs between two fetches of the same page; it is blanked on both sides.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from sqlalchemy import select

from bench.load import REPO
from bench.miss_bench import importable
from bench.site import demo_folder, new_app, write_instance
from blog.app import close_app
from blog.config import BUILTIN_PLUGINS
from blog.importer import import_paths
from blog.models import Category, Post, Tag, db

VARIANT_PREFIXES = ("", "/zh-tw")
TOKEN = re.compile(rb'(name="token" value=")[^"]*(")')

#: Run in a fresh interpreter of one tree: fetch each path, write {path: [status, body]}.
FETCH = """
import base64, json, sys
from blog.app import create_app
app = create_app(config={"PAGE_CACHE_BYTES": 0}, instance_path=sys.argv[1])
client = app.test_client()
pages = {}
for path in json.loads(open(sys.argv[2], encoding="utf-8").read()):
    response = client.get(path)
    pages[path] = [response.status_code, base64.b64encode(response.get_data()).decode()]
open(sys.argv[3], "w", encoding="utf-8").write(json.dumps(pages))
"""


def site_paths(instance: Path) -> list[str]:
    """Every public page worth comparing, unprefixed and in each variant prefix."""
    app = new_app(instance)
    with app.app_context():
        posts = db.session.execute(
            select(Post.slug, Post.kind, Post.series).where(Post.deleted_at.is_(None))
        ).all()
        categories = list(db.session.scalars(select(Category.name)))
        tags = list(db.session.scalars(select(Tag.name)))
    close_app(app)

    def quoted(path: str) -> str:
        return urllib.parse.quote(path, safe="/")

    paths = ["/", "/page/2/", "/archive/", "/feed.xml", "/sitemap.xml", "/links/"]
    paths += [quoted(f"/{kind}s/{slug}/") for slug, kind, _ in posts]
    paths += sorted({quoted(f"/series/{series}/") for _, _, series in posts if series})
    paths += [quoted(f"/categories/{name}/") for name in categories]
    paths += [quoted(f"/tags/{name}/") for name in tags]
    return [prefix + path for prefix in VARIANT_PREFIXES for path in paths]


def fetch(tree: str, instance: Path, paths_file: Path, out: Path) -> dict[str, list[object]]:
    subprocess.run(
        [sys.executable, "-P", "-c", FETCH, str(instance), str(paths_file), str(out)],
        check=True,
        env={**os.environ, "PYTHONPATH": tree},
    )
    pages: dict[str, list[object]] = json.loads(out.read_text(encoding="utf-8"))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the source tree to compare")
    parser.add_argument("--corpus", type=Path, help="a folder of Markdown posts to add")
    parser.add_argument("--show", type=int, default=5, help="differing pages shown in detail")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same-pages-") as folder_name:
        folder = Path(folder_name)
        instance = write_instance(folder / "site", PLUGINS=list(BUILTIN_PLUGINS))
        app = new_app(instance)
        with app.app_context():
            import_paths([demo_folder()], author="bench")
            if options.corpus:
                import_paths([options.corpus], author="bench")
        close_app(app)
        paths = site_paths(instance)
        paths_file = folder / "paths.json"
        paths_file.write_text(json.dumps(paths), encoding="utf-8")
        before_tree = f"{importable(options.before, folder)}{os.pathsep}{REPO}"
        sides = {
            "before": fetch(before_tree, instance, paths_file, folder / "before.json"),
            "after": fetch(str(REPO), instance, paths_file, folder / "after.json"),
        }
    same, different = 0, []
    for path in paths:
        (old_status, old_body), (new_status, new_body) = sides["before"][path], sides["after"][path]
        old = TOKEN.sub(rb"\1\2", base64.b64decode(str(old_body)))
        new = TOKEN.sub(rb"\1\2", base64.b64decode(str(new_body)))
        if old_status == new_status and old == new:
            same += 1
        else:
            different.append((path, old_status, new_status, old, new))
    statuses = sorted({str(sides["after"][p][0]) for p in paths})
    print(
        f"{len(paths)} pages ({', '.join(statuses)} statuses): {same} byte-identical, "
        f"{len(different)} different"
    )
    for path, old_status, new_status, old, new in different[: options.show]:
        print(f"--- {urllib.parse.unquote(path)}: status {old_status} -> {new_status}")
        diff = difflib.unified_diff(
            old.decode(errors="replace").splitlines(),
            new.decode(errors="replace").splitlines(),
            lineterm="",
            n=0,
        )
        for line in list(diff)[2:12]:
            print("   ", line[:300])


if __name__ == "__main__":
    main()
