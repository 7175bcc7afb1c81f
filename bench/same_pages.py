"""Are the public pages byte-identical? ``python -m bench.same_pages --before TREE [--corpus DIR]``.

A change to the render or read path must not change what a reader gets. This imports the
demo posts (and, with ``--corpus``, a folder of real posts) into one instance and gives
this checkout and another source tree (``git archive main | tar -x -C /tmp/before``) a
copy each. In fresh processes, each tree re-renders every post of its copy (``blog
rerender --all``: stored HTML, excerpts and tables of contents come from its own
pipeline, while dates stay those of the one import) and then fetches the same requests
through Flask's test client, page cache off, no cookies kept:

- every post and page (drafts too: both must refuse them), every series, every category
  and tag with each further page of its listing and its feed, home, page 2, archive,
  feed, sitemap, robots.txt, links, three searches and a missing page;
- each unprefixed, under every variant prefix, and unprefixed with ``Accept-Language``
  zh-CN and zh-SG;
- each twice, cold and then warm (the second request finds the fragment caches filled).

Statuses and bodies are compared byte for byte. The comment form's token (signed with the
time and a random nonce) differs between any two fetches of a page; it is blanked by the
fetching process. ``--mask REGEX`` (repeatable) names a known, intended difference: a
response that differs only inside its matches is counted apart and not shown in detail.
Exit status 1 if any response differs otherwise.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from sqlalchemy import func, select

from bench.load import REPO
from bench.miss_bench import importable
from bench.site import demo_folder, new_app, write_instance
from blog.app import close_app
from blog.config import BUILTIN_PLUGINS
from blog.importer import import_paths
from blog.models import Category, Post, Tag, db, post_categories, post_tags

VARIANT_PREFIXES = ("", "/zh-hans", "/zh-hant", "/zh-tw", "/zh-hk")
ACCEPT_LANGUAGES = ("zh-CN", "zh-SG")
SEARCHES = ("注意力", "模型", "softmax")
#: Differing responses named (without their diff) after the ``--show`` ones.
LISTED = 100

#: Run in a fresh interpreter of one tree: fetch each request cold, then warm; write each
#: body (token blanked) once under its SHA-256 in the bodies folder, shared by both trees,
#: and ``{"KEY cold"|"KEY warm": [status, digest]}`` to the answer file.
FETCH = """
import hashlib, json, re, sys
from pathlib import Path
from blog.app import create_app
instance, requests_file, bodies, answer = sys.argv[1:]
token = re.compile(rb'(name="token" value=")[^"]*(")')
app = create_app(config={"PAGE_CACHE_BYTES": 0}, instance_path=instance)
client = app.test_client(use_cookies=False)
responses = {}
for key, path, language in json.loads(Path(requests_file).read_text(encoding="utf-8")):
    headers = {"Accept-Language": language} if language else {}
    for attempt in ("cold", "warm"):
        response = client.get(path, headers=headers)
        body = token.sub(rb"\\1\\2", response.get_data())
        digest = hashlib.sha256(body).hexdigest()
        stored = Path(bodies, digest)
        if not stored.exists():
            stored.write_bytes(body)
        responses[f"{key} {attempt}"] = [response.status_code, digest]
Path(answer).write_text(json.dumps(responses, ensure_ascii=False), encoding="utf-8")
"""


def site_paths(instance: Path) -> list[str]:
    """Every public page worth comparing, unprefixed."""
    app = new_app(instance)
    with app.app_context():
        posts = db.session.execute(
            select(Post.slug, Post.kind, Post.series).where(Post.deleted_at.is_(None))
        ).all()
        listings = [
            ("categories", name, count)
            for name, count in db.session.execute(
                select(Category.name, func.count(post_categories.c.post_id))
                .outerjoin(post_categories, post_categories.c.category_id == Category.id)
                .group_by(Category.name)
            )
        ]
        listings += [
            ("tags", name, count)
            for name, count in db.session.execute(
                select(Tag.name, func.count(post_tags.c.post_id))
                .outerjoin(post_tags, post_tags.c.tag_id == Tag.id)
                .group_by(Tag.name)
            )
        ]
        per_page = int(app.config["POSTS_PER_PAGE"])
    close_app(app)

    def quoted(path: str) -> str:
        return urllib.parse.quote(path, safe="/?=")

    paths = ["/", "/page/2/", "/archive/", "/feed.xml", "/sitemap.xml", "/robots.txt"]
    paths += ["/links/", "/no-such-page/"]
    paths += [quoted(f"/search?q={query}") for query in SEARCHES]
    paths += [quoted(f"/{kind}s/{slug}/") for slug, kind, _ in posts]
    paths += sorted({quoted(f"/series/{series}/") for _, _, series in posts if series})
    for listing, name, count in sorted(listings):
        paths += [quoted(f"/{listing}/{name}/"), quoted(f"/{listing}/{name}/feed.xml")]
        # Drafts count too: a page only they would fill is refused by both trees alike.
        pages = math.ceil(count / per_page)
        paths += [quoted(f"/{listing}/{name}/page/{n}/") for n in range(2, pages + 1)]
    return paths


def requests_for(paths: list[str], prefixes: list[str] | None = None) -> list[list[str]]:
    """``[key, path, Accept-Language]`` for each path in every variant and language, or
    only under ``prefixes`` (then without ``Accept-Language``)."""
    requests = []
    for path in paths:
        requests += [[prefix + path, prefix + path, ""] for prefix in prefixes or VARIANT_PREFIXES]
        if prefixes is None:
            requests += [[f"{path} [{language}]", path, language] for language in ACCEPT_LANGUAGES]
    return requests


def fetch(tree: str, instance: Path, requests_file: Path, bodies: Path) -> dict[str, list[str]]:
    """Re-render every post of ``instance`` with ``tree``, then fetch every request."""
    env = {**os.environ, "PYTHONPATH": tree}
    command = [sys.executable, "-P", "-c", "from blog.cli import main; main()"]
    command += ["--instance", str(instance), "rerender", "--all"]
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    answer = instance / "responses.json"
    command = [sys.executable, "-P", "-c", FETCH, str(instance), str(requests_file)]
    subprocess.run([*command, str(bodies), str(answer)], check=True, env=env)
    responses: dict[str, list[str]] = json.loads(answer.read_text(encoding="utf-8"))
    return responses


def masked(body: bytes, masks: list[re.Pattern[str]]) -> str:
    """``body`` as text (any byte kept, even in broken UTF-8) with every mask's matches cut."""
    text = body.decode(errors="surrogateescape")
    for mask in masks:
        text = mask.sub("", text)
    return text


def tag_lines(body: bytes) -> list[str]:
    """``body`` cut after every tag and line end: a page of long lines (MathML) diffs by tag."""
    return re.split(r"(?<=>)|\n", body.decode(errors="replace"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the source tree to compare")
    parser.add_argument("--corpus", type=Path, help="a folder of Markdown posts to add")
    parser.add_argument(
        "--prefix",
        action="append",
        help="fetch only under this variant prefix ('' for unprefixed; repeatable): a change "
        "that touches no variant's own path checked in a fraction of the time",
    )
    parser.add_argument(
        "--mask", action="append", default=[], help="a regex of an intended difference"
    )
    parser.add_argument("--show", type=int, default=5, help="differing responses shown in detail")
    options = parser.parse_args()
    masks = [re.compile(pattern) for pattern in options.mask]
    with tempfile.TemporaryDirectory(prefix="same-pages-") as folder_name:
        folder = Path(folder_name)
        instance = write_instance(folder / "site", PLUGINS=list(BUILTIN_PLUGINS))
        app = new_app(instance)
        with app.app_context():
            import_paths([demo_folder()], author="bench")
            if options.corpus:
                import_paths([options.corpus], author="bench")
        close_app(app)
        requests = requests_for(site_paths(instance), options.prefix)
        requests_file = folder / "requests.json"
        requests_file.write_text(json.dumps(requests, ensure_ascii=False), encoding="utf-8")
        bodies = folder / "bodies"
        bodies.mkdir()
        trees = {
            "before": f"{importable(options.before, folder)}{os.pathsep}{REPO}",
            "after": str(REPO),
        }
        sides = {}
        for side, tree in trees.items():
            copy = shutil.copytree(instance, folder / f"site-{side}")
            sides[side] = fetch(tree, copy, requests_file, bodies)
        before, after = sides["before"], sides["after"]
        same, same_but_masked, different = 0, 0, []
        for key in before:
            (old_status, old_digest), (new_status, new_digest) = before[key], after[key]
            if old_status == new_status and old_digest == new_digest:
                same += 1
                continue
            old, new = (bodies / old_digest).read_bytes(), (bodies / new_digest).read_bytes()
            if masks and old_status == new_status and masked(old, masks) == masked(new, masks):
                same_but_masked += 1
            else:
                different.append((key, old_status, new_status, old, new))
        statuses = sorted({str(status) for status, _ in after.values()})
        print(
            f"{len(requests)} requests × cold/warm = {len(before)} responses "
            f"(statuses {', '.join(statuses)}): {same} byte-identical, "
            + (f"{same_but_masked} identical once {options.mask} are blanked, " if masks else "")
            + f"{len(different)} different"
        )
        for key, old_status, new_status, old, new in different[: options.show]:
            print(f"--- {urllib.parse.unquote(key)}: status {old_status} -> {new_status}")
            diff = difflib.unified_diff(tag_lines(old), tag_lines(new), lineterm="", n=0)
            for line in list(diff)[2:12]:
                print("   ", line[:300])
        listed = different[options.show : options.show + LISTED]
        for key, *_ in listed:
            print(f"--- {urllib.parse.unquote(key)}")
        if len(different) > options.show + len(listed):
            print(f"(+{len(different) - options.show - len(listed)} more different responses)")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
