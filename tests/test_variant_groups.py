"""Conversion groups (MediaWiki's Module:CGroup format): loading, precedence, the site, the CLI.

Small groups are written by the tests; Wikipedia's own four groups come from
``../shared/external/cgroups`` (skipped when absent) and are never copied into the project.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from werkzeug.datastructures import MultiDict

from blog.models import Post
from blog_plugins.opencc import DEFAULT_GLOSSARY
from blog_plugins.opencc.groups import GroupError, load_group, load_groups, parse_group_rule
from blog_plugins.opencc.htmlconvert import Target, convert_document
from blog_plugins.opencc.rules import Rule, load_glossary, parse_rule
from blog_plugins.opencc.variants import HANS, HANT
from blog_plugins.opencc.vocabulary import Replacements, Scope, Vocabulary
from tests.conftest import shared_path

CONFIGS = {
    "zh-hans": {HANS: "t2s", HANT: "t2s"},
    "zh-hant": {HANS: "s2t", HANT: ""},
    "zh-tw": {HANS: "s2twp", HANT: "t2tw"},
    "zh-hk": {HANS: "s2hk", HANT: "t2hk"},
}
SHARED_GROUPS = ("IT", "Math", "Physics", "Electronics")


def write_group(folder: Path, name: str, *lines: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def vocabulary(tmp_path: Path, *lines: str, glossary: tuple[Rule, ...] = ()) -> Vocabulary:
    write_group(tmp_path / "groups", "T.txt", *lines)
    return Vocabulary(glossary, load_groups(tmp_path / "groups"))


def convert(html: str, code: str, vocab: Vocabulary) -> str:
    target = Target(code=code, html_lang=code, configs=CONFIGS[code], vocabulary=vocab)
    return convert_document(html, target)


def in_group(text: str, groups: str = "T", rules: list[str] | None = None) -> str:
    stored = ""
    if rules:
        data = json.dumps([parse_rule(r, HANS).to_json() for r in rules], ensure_ascii=False)
        stored = f" data-variant-rules='{data}'"
    return f'<div data-variant-groups="{groups}"{stored}><p>{text}</p></div>'


# -- the rule syntax ------------------------------------------------------------------


def test_two_way_rule_turns_any_form_into_the_shown_one(tmp_path: Path) -> None:
    vocab = vocabulary(tmp_path, "zh-cn:算法; zh-tw:演算法; zh-hk:算法;")
    assert convert(in_group("算法"), "zh-tw", vocab) == in_group("演算法")
    assert convert(in_group("演算法"), "zh-hk", vocab) == in_group("算法")
    assert convert(in_group("演算法"), "zh-hans", vocab) == in_group("算法")


def test_one_way_rule_converts_only_its_source_in_its_variant(tmp_path: Path) -> None:
    vocab = vocabulary(tmp_path, "访问=>zh-tw:存取;")
    assert convert(in_group("访问"), "zh-tw", vocab) == in_group("存取")
    # Not the other variants (OpenCC decides there) and not the other way round.
    assert convert(in_group("访问"), "zh-hk", vocab) == in_group("訪問")
    assert convert(in_group("存取"), "zh-hans", vocab) == in_group("存取")


def test_rule_mixes_one_way_parts_and_forms_with_semicolons_inside(tmp_path: Path) -> None:
    rule = parse_group_rule("存取=>zh-cn:访问; 存取=>zh-tw:存取; zh-cn:A&amp;B; zh-tw:C;")
    assert rule.one_way == (("存取", "zh-cn", "访问"), ("存取", "zh-tw", "存取"))
    assert rule.two_way == (("zh-cn", "A&amp;B"), ("zh-tw", "C"))


def test_hong_kong_falls_back_as_mediawiki_fills_missing_forms(tmp_path: Path) -> None:
    vocab = vocabulary(
        tmp_path,
        "zh-cn:基带; zh-tw:基頻;",  # no zh-hk: zh-hant (filled from zh-tw) is taken
        "zh-cn:数码; zh-hk:數碼;",  # no zh-tw: zh-hant is filled from zh-hk, zh-tw from it
        "zh-cn:硬盘; zh-tw:硬碟; zh-hant:硬碟機; zh-hk:硬盤;",
    )
    assert convert(in_group("基带"), "zh-hk", vocab) == in_group("基頻")
    assert convert(in_group("数码"), "zh-tw", vocab) == in_group("數碼")
    assert convert(in_group("硬盘"), "zh-hant", vocab) == in_group("硬碟機")
    assert convert(in_group("硬碟"), "zh-hk", vocab) == in_group("硬盤")


# -- precedence ------------------------------------------------------------------------


def test_post_rules_beat_groups_beat_glossary_beat_opencc(tmp_path: Path) -> None:
    glossary = tuple(load_glossary(DEFAULT_GLOSSARY))  # 参数 → 參數 in zh-tw
    vocab = vocabulary(tmp_path, "zh-cn:参数; zh-tw:參變數;", "zh-cn:内存; zh-tw:主記憶體;")
    vocab = Vocabulary(glossary, vocab.groups)
    assert convert("<p>参数</p>", "zh-tw", vocab) == "<p>參數</p>"  # glossary over OpenCC
    assert convert(in_group("参数"), "zh-tw", vocab) == in_group("參變數")  # group over glossary
    ruled = in_group("参数，内存", rules=["zh-cn:内存;zh-tw:記憶體"])
    assert convert(ruled, "zh-tw", vocab) == in_group(
        "參變數，記憶體", rules=["zh-cn:内存;zh-tw:記憶體"]
    )


def test_longest_match_wins_across_sources(tmp_path: Path) -> None:
    vocab = vocabulary(tmp_path, "zh-cn:访问控制表; zh-tw:存取控制串列;")
    rules = ["访问=>zh-tw:參訪"]
    html = in_group("访问控制表和访问", rules=rules)
    assert convert(html, "zh-tw", vocab) == in_group("存取控制串列和參訪", rules=rules)


def test_longer_opencc_phrase_is_not_split_by_a_group_phrase(tmp_path: Path) -> None:
    vocab = vocabulary(tmp_path, "zh-cn:内存; zh-tw:記憶體;", "zh-cn:互联网; zh-tw:網際網路;")
    assert convert(in_group("海内存知己，内存"), "zh-tw", vocab) == in_group("海內存知己，記憶體")
    assert convert(in_group("互联网络"), "zh-tw", vocab) == in_group("網際網路")


def test_table_finds_leftmost_longest() -> None:
    table = Replacements({"ab": "1", "abcd": "2", "bc": "3", "abc": "4"})
    assert table.find("xabcdabcab") == ["abcd", "abc", "ab"]
    assert table.sub("xabcdabcab", lambda form: f"[{form}]") == ("x[2][4][1]", 3)


def test_code_math_urls_and_protected_text_are_never_converted(tmp_path: Path) -> None:
    vocab = vocabulary(tmp_path, "zh-cn:地址; zh-tw:位址;")
    html = (
        '<div data-variant-groups="T"><p>地址<code>地址</code><math><mi>地址</mi></math>'
        '<a href="https://x.test/地址">地址</a><span data-noconvert="">地址</span></p></div>'
    )
    assert convert(html, "zh-tw", vocab) == (
        '<div data-variant-groups="T"><p>位址<code>地址</code><math><mi>地址</mi></math>'
        '<a href="https://x.test/地址">位址</a><span data-noconvert="">地址</span></p></div>'
    )


def test_groups_apply_only_where_named_unless_site_default(tmp_path: Path) -> None:
    vocab = vocabulary(tmp_path, "zh-cn:地址; zh-tw:位址;")
    assert convert("<p>地址</p>", "zh-tw", vocab) == "<p>地址</p>"
    site = Vocabulary((), vocab.groups, ("T",))
    assert convert("<p>地址</p>", "zh-tw", site) == "<p>位址</p>"


def test_each_combination_is_compiled_once(tmp_path: Path) -> None:
    vocab = vocabulary(tmp_path, "zh-cn:地址; zh-tw:位址;")
    first = vocab.table("zh-tw", Scope(HANS, ("T",)))
    assert vocab.table("zh-tw", Scope(HANS, ("T",))) is first


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("zh-cn:算法; zh-tw:;", r"empty text for zh-tw"),
        ("=>zh-tw:存取;", r"nothing before '=>'"),
        ("zh-xx:算法;", r"expected 'variant:text'"),
        ("算法", r"expected 'variant:text'"),
    ],
)
def test_malformed_rule_names_file_line_and_rule(tmp_path: Path, line: str, message: str) -> None:
    path = write_group(tmp_path, "Bad.txt", "# comment", "zh-cn:地址; zh-tw:位址;", line)
    with pytest.raises(GroupError, match=rf"Bad\.txt: line 3: rule '{line}'.*{message}"):
        load_group(path)


def test_malformed_json_rule_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "Bad.json"
    data = {"name": "Bad", "rules": [{"original": "a", "conv": "zh-cn:地址; zh-tw:位址;"}]}
    data["rules"].append({"original": "b", "conv": "zh-cn:; zh-tw:X;"})
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    with pytest.raises(GroupError, match=r"Bad\.json: line 10: rule 2 'zh-cn:; zh-tw:X;'"):
        load_group(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(GroupError, match=r"Bad\.json: not JSON"):
        load_group(path)


def test_conflicting_duplicates_are_refused_when_strict(tmp_path: Path) -> None:
    path = write_group(
        tmp_path, "Dup.txt", "zh-cn:等离子体; zh-tw:電漿體;", "", "zh-cn:等离子体; zh-tw:電漿;"
    )
    with pytest.raises(GroupError, match=r"Dup\.txt: line 3: rule .*line 1.*conflicting"):
        load_group(path, strict=True)
    group = load_group(path)  # installed: the later rule wins, as on Wikipedia
    assert group.tables["zh-tw"]["等离子体"] == "電漿"
    assert len(group.conflicts) == 1


def test_cycle_is_refused_at_load(tmp_path: Path) -> None:
    path = write_group(tmp_path, "Cyc.txt", "甲=>zh-tw:乙;", "乙=>zh-tw:甲;")
    with pytest.raises(GroupError, match=r"Cyc\.txt: line \d: .*cycle in zh-tw"):
        load_group(path)


def test_a_one_way_rule_may_override_a_filled_form(tmp_path: Path) -> None:
    path = write_group(
        tmp_path, "Ok.txt", "zh-cn:缓冲存储器; zh-tw:快取記憶體;", "缓冲存储器=>zh-hk:緩衝記憶體;"
    )
    assert load_group(path, strict=True).tables["zh-hk"]["缓冲存储器"] == "緩衝記憶體"


def test_group_name_must_be_a_plain_file_name(tmp_path: Path) -> None:
    path = write_group(tmp_path, "bad name.txt", "zh-cn:地址; zh-tw:位址;")
    with pytest.raises(GroupError, match="file name"):
        load_group(path)


# -- Wikipedia's groups and OpenCC's own cases ---------------------------------------------


def test_wikipedia_groups_load_with_few_conflicts() -> None:
    folder = shared_path("external", "cgroups")
    for name in SHARED_GROUPS:
        group = load_group(folder / f"{name}.json")
        assert group.rule_count > 100
        assert len(group.conflicts) <= 12


def test_opencc_cases_hold_where_no_group_intends_a_change() -> None:
    cases = json.loads(shared_path("external", "opencc", "testcases.json").read_text("utf-8"))
    folder = shared_path("external", "cgroups")
    groups = {n.lower(): load_group(folder / f"{n}.json") for n in ("IT", "Math")}
    vocab = Vocabulary((), groups, ("IT", "Math"))
    plain = Vocabulary()
    # Every configuration the plugin's default tables use, with the script it reads.
    configs = {
        "s2t": ("zh-hant", HANS),
        "s2twp": ("zh-tw", HANS),
        "s2hk": ("zh-hk", HANS),
        "t2s": ("zh-hans", HANT),
        "t2tw": ("zh-tw", HANT),
        "t2hk": ("zh-hk", HANT),
    }
    checked = held = 0
    for case in cases["cases"]:
        for config, (code, script) in configs.items():
            if config not in case["expected"]:
                continue
            checked += 1
            lang = "zh-Hant" if script == HANT else "zh-Hans"
            html = f'<p lang="{lang}">{case["input"]}</p>'
            expected = f'<p lang="{code}">{case["expected"][config]}</p>'
            target = Target(code=code, html_lang=code, configs={script: config}, vocabulary=vocab)
            grouped = convert_document(html, target)
            if grouped == expected:
                held += 1
                continue
            # A difference must come from a group phrase found in the input.
            table = vocab.table(code, Scope(script))
            assert table.find(case["input"]), case
            base = Target(code=code, html_lang=code, configs={script: config}, vocabulary=plain)
            assert convert_document(html, base) == expected
    assert checked == 313
    print(f"OpenCC cases unchanged with IT+Math active: {held}/{checked}")
    assert held >= checked - 40


# -- the site ---------------------------------------------------------------------------------


@pytest.fixture
def grouped_instance(instance: Path) -> Path:
    write_group(instance / "variant_groups", "Net.txt", "zh-cn:地址; zh-tw:位址; zh-hk:地址;")
    return instance


def test_front_matter_groups_apply_to_the_post(
    grouped_instance: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app()
    with app.app_context():
        from blog.posts import PostFields, save_post

        save_post(
            PostFields(title="t", source="网络地址", slug="g", meta={"variants_groups": ["Net"]}),
            author="t",
        )
        save_post(PostFields(title="t", source="网络地址", slug="plain"), author="t")
    client = app.test_client()
    assert "網路位址" in client.get("/zh-tw/posts/g/").get_data(as_text=True)
    assert "網路地址" in client.get("/zh-tw/posts/plain/").get_data(as_text=True)


def test_a_posts_groups_reach_its_title_and_table_of_contents(
    grouped_instance: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app()
    with app.app_context():
        from blog.posts import PostFields, save_post

        fields = PostFields(
            title="地址", source="## 网络地址\n\n正文", slug="g", meta={"variants_groups": ["Net"]}
        )
        save_post(fields, author="t")
    page = app.test_client().get("/zh-tw/posts/g/").get_data(as_text=True)
    assert "<title>位址" in page
    assert page.count("網路位址") >= 2  # the heading and its table-of-contents entry
    assert "網路地址" not in page


def test_groups_of_several_posts_stay_in_their_bodies(tmp_path: Path) -> None:
    vocab = vocabulary(tmp_path, "zh-cn:地址; zh-tw:位址;")
    write_group(tmp_path / "groups", "U.txt", "zh-cn:地址; zh-tw:住址;")
    vocab = Vocabulary((), load_groups(tmp_path / "groups"))
    html = f"<h2>地址</h2>{in_group('地址', 'T')}{in_group('地址', 'U')}"
    expected = f"<h2>地址</h2>{in_group('位址', 'T')}{in_group('住址', 'U')}"
    assert convert(html, "zh-tw", vocab) == expected


def test_site_default_groups_apply_to_every_page(
    grouped_instance: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app(plugins={"opencc": {"groups": ["Net"]}})
    with app.app_context():
        from blog.posts import PostFields, save_post

        save_post(PostFields(title="地址", source="网络地址", slug="plain"), author="t")
    page = app.test_client().get("/zh-tw/posts/plain/").get_data(as_text=True)
    assert "<title>位址" in page and "網路位址" in page


def test_unknown_default_group_stops_start_up(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(GroupError, match=r"groups: no group file for \['Nope'\]"):
        make_app(plugins={"opencc": {"groups": ["Nope"]}})


def test_broken_group_file_stops_start_up_naming_it(
    instance: Path, make_app: Callable[..., Flask]
) -> None:
    write_group(instance / "variant_groups", "Bad.txt", "zh-cn:地址; zh-tw:;")
    with pytest.raises(GroupError, match=r"Bad\.txt: line 1"):
        make_app()


def test_unknown_group_in_front_matter_warns_at_save_and_post_renders(
    grouped_instance: Path, make_app: Callable[..., Flask], make_post: Callable[..., Post]
) -> None:
    post = make_post("网络地址", slug="w", meta={"variants_groups": ["Net", "Nope"]})
    warnings = post.render_meta["variant_group_warnings"]
    assert len(warnings) == 1 and "'Nope'" in warnings[0] and "Net" in warnings[0]
    assert post.render_meta["warnings"] == warnings


def test_import_warns_of_an_unknown_group_and_the_post_still_renders(
    grouped_instance: Path,
    tmp_path: Path,
    run_cli: Callable[..., Result],
    make_app: Callable[..., Flask],
) -> None:
    source = tmp_path / "post.md"
    source.write_text(
        "---\ntitle: 地址\nslug: w\nvariants_groups: [Net, Nope]\n---\n网络地址\n",
        encoding="utf-8",
    )
    assert run_cli("upgrade").exit_code == 0
    result = run_cli("import", str(source))
    assert result.exit_code == 0, result.output
    assert "unknown conversion group 'Nope'" in result.output
    assert "post.md" in result.output
    page = make_app().test_client().get("/zh-tw/posts/w/")
    assert page.status_code == 200 and "網路位址" in page.get_data(as_text=True)


def test_groups_cli_adds_checks_and_lists(tmp_path: Path, instance: Path) -> None:
    def blog(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(Path(sys.executable).parent / "blog"), "--instance", str(instance), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    good = write_group(tmp_path, "Net.txt", "zh-cn:地址; zh-tw:位址;", "访问=>zh-tw:存取;")
    bad = write_group(tmp_path, "Dup.txt", "zh-cn:甲; zh-tw:乙;", "zh-cn:甲; zh-tw:丙;")
    added = blog("groups", "add", str(good))
    assert added.returncode == 0, added.stderr
    assert (instance / "variant_groups" / "Net.txt").is_file()
    refused = blog("groups", "add", str(bad))
    assert refused.returncode != 0
    assert "Dup.txt: line 2: rule 'zh-cn:甲; zh-tw:丙;'" in refused.stderr
    assert "--later-wins" in refused.stderr
    assert not (instance / "variant_groups" / "Dup.txt").exists()
    assert blog("groups", "add", "--later-wins", str(bad)).returncode == 0
    listed = blog("groups")
    assert listed.returncode == 0, listed.stderr
    assert "Net" in listed.stdout and "2 rules" in listed.stdout
    assert "1 conflicting" in listed.stdout


# -- the editor's field --------------------------------------------------------------------


def test_the_editor_offers_installed_groups_and_stores_the_ticked_ones(
    grouped_instance: Path, make_app: Callable[..., Flask]
) -> None:
    from admin_support import create_user, csrf_token, editor_form, find_all, login

    from blog.models import db

    write_group(grouped_instance / "variant_groups", "Alg.txt", "zh-cn:算法; zh-tw:演算法;")
    app = make_app()
    create_user(app)
    client = app.test_client()
    login(client)
    page = client.get("/admin/posts/new").data
    boxes = find_all(page, "input", type="checkbox", name="meta:variants_groups")
    assert [box.attrs["value"] for box in boxes] == ["Alg", "Net"]
    assert "Net（1 条）" in page.decode()

    def save(post_id: int | None, *groups: str, **fields: str) -> str:
        path = f"/admin/posts/{post_id}/edit" if post_id else "/admin/posts/new"
        form = [(key, value) for key, value in editor_form(**fields).items()]
        form += [("csrf_token", csrf_token(client, path))]
        form += [("meta-shown:variants_groups", "1")]
        form += [("meta:variants_groups", name) for name in groups]
        if post_id:
            form += [("version", str(stored(post_id).version))]
        response = client.post(path, data=MultiDict(form))
        assert response.status_code == 302, response.get_data(as_text=True)
        return response.headers["Location"]

    def stored(post_id: int) -> Post:
        with app.app_context():
            post = db.session.get(Post, post_id)
            assert post is not None
            db.session.expunge(post)
            return post

    location = save(None, "Net", title="地址", source="网络地址", slug="g", action="publish")
    post_id = int(location.rstrip("/").split("/")[-2])
    assert stored(post_id).meta["variants_groups"] == ["Net"]
    assert "網路位址" in client.get("/zh-tw/posts/g/").get_data(as_text=True)
    edit_page = client.get(f"/admin/posts/{post_id}/edit").data
    ticked = find_all(edit_page, "input", name="meta:variants_groups", checked="")
    assert [box.attrs["value"] for box in ticked] == ["Net"]

    # Unticking every box removes the key: the post reads with OpenCC's words again.
    save(post_id, title="地址", source="网络地址", slug="g", action="publish")
    assert "variants_groups" not in stored(post_id).meta
    assert "網路地址" in client.get("/zh-tw/posts/g/").get_data(as_text=True)


def test_the_editor_keeps_and_warns_of_a_group_that_is_not_installed(
    grouped_instance: Path, app: Flask, make_post: Callable[..., Post]
) -> None:
    from admin_support import create_user, csrf_token, editor_form, find_all, login

    post = make_post("网络地址", title="地址", slug="w", meta={"variants_groups": "Net, Nope"})
    create_user(app)
    client = app.test_client()
    login(client)
    path = f"/admin/posts/{post.id}/edit"
    page = client.get(path).data
    ticked = find_all(page, "input", name="meta:variants_groups", checked="")
    assert [box.attrs["value"] for box in ticked] == ["Net", "Nope"]
    assert "未安装" in page.decode()
    form = [*editor_form(title="地址", source="网络地址", slug="w").items()]
    form += [("csrf_token", csrf_token(client, path)), ("version", str(post.version))]
    form += [("meta-shown:variants_groups", "1")]
    form += [("meta:variants_groups", "Net"), ("meta:variants_groups", "Nope")]
    response = client.post(path, data=MultiDict(form), follow_redirects=True)
    assert "unknown conversion group &#39;Nope&#39;" in response.get_data(as_text=True)
    with app.app_context():
        from blog.models import db

        assert db.session.get(Post, post.id).meta["variants_groups"] == ["Net", "Nope"]  # type: ignore[union-attr]


def test_the_preview_renders_the_posts_front_matter_as_a_save_does(
    grouped_instance: Path, app: Flask, make_post: Callable[..., Post]
) -> None:
    from admin_support import create_user, csrf_token, editor_form, login

    from blog.models import db

    # Front matter the form does not show (post rules, from an import) and groups it does.
    rules = ["zh-cn:网络; zh-tw:網絡;"]
    post = make_post(
        "网络地址",
        title="地址",
        slug="p",
        meta={"variants_groups": ["Net"], "variants_rules": rules},
    )
    create_user(app)
    client = app.test_client()
    login(client)
    path = f"/admin/posts/{post.id}/edit"
    token = csrf_token(client, path)

    def preview(url: str, *form: tuple[str, str]) -> str:
        response = client.post(url, data=MultiDict(form), headers={"X-CSRFToken": token})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
        return str(response.get_json()["html"])

    # The live preview of the stored post, from a page that sends only the text (or the
    # whole form with the box ticked): the post's groups and rules are in the body.
    text_only = preview(
        f"/admin/posts/{post.id}/preview", ("title", "地址"), ("source", "网络地址")
    )
    form = [*editor_form(title="地址", source="网络地址", slug="p").items()]
    form += [("meta-shown:variants_groups", "1"), ("meta:variants_groups", "Net")]
    whole_form = preview(f"/admin/posts/{post.id}/preview", *form)
    assert text_only == whole_form
    assert 'data-variant-groups="Net"' in whole_form
    assert "data-variant-rules=" in whole_form
    # The preview is byte for byte what the save stores.
    saved = client.post(path, data=MultiDict([*form, ("csrf_token", token), ("version", "1")]))
    assert saved.status_code == 302
    with app.app_context():
        stored = db.session.get(Post, post.id)
        assert stored is not None
        assert stored.body_html == whole_form
    # The same form without JavaScript ("预览" button) shows the same body.
    pressed = [(k, "preview" if k == "action" else v) for k, v in form]
    button = client.post(path, data=MultiDict([*pressed, ("csrf_token", token)]))
    assert button.status_code == 200
    assert 'data-variant-groups="Net"' in button.get_data(as_text=True)
    # Unticking the box is previewed too, before any save.
    unticked = [(k, v) for k, v in form if k != "meta:variants_groups"]
    assert "data-variant-groups" not in preview(f"/admin/posts/{post.id}/preview", *unticked)
    # A new post's preview takes the ticked groups from the form.
    new = [*editor_form(title="新", source="网络地址").items()]
    new += [("meta-shown:variants_groups", "1"), ("meta:variants_groups", "Net")]
    assert 'data-variant-groups="Net"' in preview("/admin/preview", *new)
    assert (
        client.post("/admin/posts/999/preview", headers={"X-CSRFToken": token}).status_code == 404
    )


def test_the_api_accepts_variants_groups_checked_as_the_editor_checks_them(
    grouped_instance: Path, app: Flask
) -> None:
    from admin_support import create_user
    from sqlalchemy import select

    from blog.admin.tokens import create_token
    from blog.models import User, db

    create_user(app)
    with app.app_context():
        token = create_token(db.session.scalars(select(User)).one(), "laptop")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, body: object) -> tuple[int, dict[str, object]]:
        response = client.open(f"/api{path}", method=method, json=body, headers=headers)
        return response.status_code, response.get_json()

    body = {"title": "地址", "source": "网络地址", "slug": "g", "status": "published"}
    status, post = call("POST", "/posts", {**body, "variants_groups": ["Net", " Net "]})
    assert status == 201, post
    assert post["variants_groups"] == ["Net"]
    assert post["warnings"] == []
    assert "網路位址" in client.get("/zh-tw/posts/g/").get_data(as_text=True)
    # A string names several, as in front matter; a group not installed is kept, with the
    # editor's warning; null removes the key and the post reads with OpenCC's words again.
    status, post = call(
        "PATCH", f"/posts/{post['id']}", {"version": 1, "variants_groups": "Net, Nope"}
    )
    assert status == 200, post
    assert post["variants_groups"] == ["Net", "Nope"]
    assert any("unknown conversion group 'Nope'" in str(w) for w in post["warnings"])  # type: ignore[union-attr]
    status, post = call("PATCH", f"/posts/{post['id']}", {"version": 2, "variants_groups": None})
    assert status == 200, post
    assert post["variants_groups"] == []
    assert "網路地址" in client.get("/zh-tw/posts/g/").get_data(as_text=True)
    for bad, message in [
        (7, "must be a list of strings"),
        (["Net", 3], "must be a list of strings"),
        (["a\x00b"], "variants_groups"),
    ]:
        status, error = call(
            "PATCH", f"/posts/{post['id']}", {"version": 3, "variants_groups": bad}
        )
        assert status == 400, error
        assert error["key"] == "variants_groups"
        assert message in str(error["error"])
    # Other unknown keys are still refused by name.
    status, error = call("PATCH", f"/posts/{post['id']}", {"version": 3, "variant_groups": []})
    assert (status, error["key"]) == (400, "variant_groups")
